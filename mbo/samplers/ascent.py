"""Gradient ascent on a differentiable objective."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mbo.cost import metered


def gradient_ascent(objective: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, *,
                    step_size: float, num_steps: int, method: str = "sgd") -> torch.Tensor:
    """Maximize ``objective`` (per-row values ``[n]``) from ``x0`` ``[n, d]``.

    ``method="sgd"`` is the plain update ``x ← x + step_size · ∇f(x)`` (Design-Bench, COMs);
    ``"adam"`` runs Adam on ``-Σ f(x)`` (elementwise state, so rows stay independent).

    Returns:
        The final particles ``[n, d]``, detached.
    """
    x = x0.detach().clone().requires_grad_(True)
    if method == "adam":
        opt = torch.optim.Adam([x], lr=step_size)
        for _ in metered(range(num_steps), "gradient ascent"):
            opt.zero_grad(set_to_none=True)
            (-objective(x).sum()).backward()
            opt.step()
        return x.detach()
    if method != "sgd":
        raise ValueError(f"method must be 'sgd' or 'adam', got {method!r}")
    for _ in metered(range(num_steps), "gradient ascent"):
        (grad,) = torch.autograd.grad(objective(x).sum(), x)
        x = (x + step_size * grad).detach().requires_grad_(True)
    return x.detach()
