"""Stein variational gradient descent (Liu & Wang, 2016)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mbo.cost import metered


def rbf_kernel(x: torch.Tensor, bandwidth: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """RBF kernel ``k(x_i, x_j) = exp(-‖x_i - x_j‖² / h)`` and ``Σ_j ∇_{x_j} k(x_j, x_i)``.

    With ``bandwidth=None`` the median heuristic ``h = med(‖x_i - x_j‖²) / log(n + 1)`` is used.

    Returns:
        ``(K [n, n], repulsion [n, d])``.
    """
    sq = torch.cdist(x, x).pow(2)
    if bandwidth is None:
        n = x.shape[0]
        h = sq.detach().median() / torch.log(torch.tensor(n + 1.0, device=x.device))
        h = torch.clamp(h, min=1e-8)
    else:
        h = torch.tensor(bandwidth, device=x.device, dtype=x.dtype)
    k = torch.exp(-sq / h)
    # Σ_j ∇_{x_j} k(x_j, x_i) = Σ_j (2/h) (x_i - x_j) k_ij
    repulsion = (2.0 / h) * (x * k.sum(1, keepdim=True) - k @ x)
    return k, repulsion


def svgd(log_prob: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, *, num_steps: int,
         step_size: float = 1e-2, method: str = "adam", bandwidth: float | None = None) -> torch.Tensor:
    """Transport particles ``x0`` ``[n, d]`` toward ``p ∝ exp(log_prob)``.

    Update direction ``φ(x_i) = (1/n) Σ_j [k(x_j, x_i) ∇log p(x_j) + ∇_{x_j} k(x_j, x_i)]``,
    applied with Adam (``method="adam"``, as in N²CE) or plain steps (``"sgd"``).

    Returns:
        The final particles ``[n, d]``, detached.
    """
    x = x0.detach().clone()
    opt = torch.optim.Adam([x.requires_grad_(True)], lr=step_size) if method == "adam" else None
    n = x.shape[0]
    for _ in metered(range(num_steps), "svgd"):
        xg = x.detach().requires_grad_(True)
        (score,) = torch.autograd.grad(log_prob(xg).sum(), xg)
        with torch.no_grad():
            k, repulsion = rbf_kernel(x.detach(), bandwidth)
            phi = (k @ score + repulsion) / n
        if opt is not None:
            opt.zero_grad(set_to_none=True)
            x.grad = -phi
            opt.step()
        else:
            with torch.no_grad():
                x += step_size * phi
    return x.detach()
