"""Small reusable layers: sinusoidal index embeddings, pre-activation residual blocks, and the
orthogonal regulariser of Brock et al. (2016)."""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(num: int, dim: int) -> torch.Tensor:
    """Transformer-style table ``[num, dim]``: row ``k`` holds ``sin/cos(k · 10000^(-2i/dim))``.

    ``pe[k, 2i] = sin(k ω_i)``, ``pe[k, 2i+1] = cos(k ω_i)``, ``ω_i = 10000^(-2i/dim)``
    (``dim`` must be even).

    Example:
        >>> sinusoidal_table(3, 4)[0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """
    if dim % 2:
        raise ValueError(f"sinusoidal_table needs an even dim, got {dim}")
    k = torch.arange(num, dtype=torch.float32)[:, None]
    omega = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    pe = torch.zeros(num, dim)
    pe[:, 0::2] = torch.sin(k * omega)
    pe[:, 1::2] = torch.cos(k * omega)
    return pe


class IndexEmbedding(nn.Module):
    """Integer index → fixed sinusoidal row → Linear → LeakyReLU → Linear (only the Linears learn).

    Args:
        num: number of indices (rows of the table).
        dim: embedding width.
        slope: LeakyReLU negative slope.
    """

    def __init__(self, num: int, dim: int, slope: float = 0.2) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_table(num, dim), persistent=False)
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(slope), nn.Linear(dim, dim))

    def forward(self, k: torch.Tensor) -> torch.Tensor:
        """``k`` int64 ``[n]`` → ``[n, dim]``."""
        return self.net(self.table[k])


class ResidualBlock(nn.Module):
    """Pre-activation residual block ``h ← h + Linear(LeakyReLU(h))`` (width preserved)."""

    def __init__(self, dim: int, slope: float = 0.2) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(slope)
        self.linear = nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.linear(self.act(h))


def orthogonal_penalty(module: nn.Module) -> torch.Tensor:
    """``Σ_W ‖G − I‖²_F`` over the module's Linear weights, ``G`` the Gram matrix over the smaller
    dimension (``WᵀW`` if ``in ≤ out`` else ``WWᵀ``); biases excluded (Brock et al., 2016)."""
    total = None
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            w = layer.weight
            gram = w.t() @ w if w.shape[1] <= w.shape[0] else w @ w.t()
            eye = torch.eye(gram.shape[0], device=w.device, dtype=w.dtype)
            term = (gram - eye).pow(2).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: the module has no Linear layers")
    return total


__all__ = ["sinusoidal_table", "IndexEmbedding", "ResidualBlock", "orthogonal_penalty"]
