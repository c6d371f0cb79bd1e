"""Device resolution and seeding."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from mbo.errors import ConfigError

PRECISIONS = ("fp32", "bf16")


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


def check_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """``precision`` if it is one of :data:`PRECISIONS` and ``device`` can run it, else a :class:`ConfigError`."""
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision!r} is not known; use one of {', '.join(PRECISIONS)}")
    dev = resolve_device(device)
    if precision == "bf16" and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"--precision bf16: {torch.cuda.get_device_name(dev)} has no bf16 support; "
                          "use --precision fp32")
    return precision


def autocast(device: torch.device, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """The context a run's ``fit`` and ``propose`` execute in: nothing for fp32; for bf16,
    ``torch.autocast`` on ``device``'s type (matmuls and convolutions in bfloat16, the rest fp32).

    The weight-cast cache is off: it lives until the context exits, so over a whole fit every
    forward would reuse the bf16 copies of the *initial* weights and the model would never learn.
    """
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, cache_enabled=False)
