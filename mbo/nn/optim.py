"""Optimizers shared by every training loop."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def adam(params: Iterable[Any], lr: float, **kwargs: Any) -> torch.optim.Adam:
    """``torch.optim.Adam`` with its fused kernel wherever this torch has one for the parameters' device.

    The update is Adam's (the same arithmetic, in one pass over the parameters instead of several):
    on one CPU core the update of a 2048-wide MLP's 8.5 M parameters takes 6–7 ms instead of 35–43
    (``results/engine/fused_adam.txt``). ``params`` and ``kwargs`` are ``torch.optim.Adam``'s.
    """
    params = list(params)
    tensors = [p for g in params for p in (g["params"] if isinstance(g, dict) else [g])]
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        devices = set(_get_fused_kernels_supported_devices())
    except ImportError:  # older torch: fused on CUDA only
        devices = {"cuda"}
    fused = bool(tensors) and all(p.device.type in devices and p.is_floating_point() for p in tensors)
    return torch.optim.Adam(params, lr=lr, fused=True if fused else None, **kwargs)
