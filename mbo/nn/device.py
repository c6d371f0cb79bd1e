"""Device resolution and seeding."""
from __future__ import annotations

import random

import numpy as np
import torch

from mbo.errors import ConfigError


def same_device(a: torch.device, b: torch.device) -> bool:
    """Whether two devices are the same, with an unnumbered ``cuda`` equal to any ``cuda:N``
    (``torch.Generator(device="cuda").device`` is ``cuda`` while its tensors are on ``cuda:0``)."""
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; ``"cuda"`` without a GPU is an error. A CUDA device
    comes back numbered (``cuda`` → ``cuda:<current>``), as its tensors report it."""
    if isinstance(device, torch.device):
        return _numbered(device)
    name = str(device).lower()
    if name == "auto":
        return _numbered(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device} was asked for but CUDA is not available here; "
                          "use --device cpu or --device auto")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                          f"numbered from 0; use --device cuda:0 or --device auto")
    return _numbered(dev)


def _numbered(dev: torch.device) -> torch.device:
    if dev.type == "cuda" and dev.index is None and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) from one run seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
