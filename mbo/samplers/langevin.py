"""Unadjusted Langevin dynamics."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mbo.cost import metered


def langevin(log_prob: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, *,
             step_size: float | Sequence[float], num_steps: int, noise_scale: float = 1.0,
             generator: torch.Generator | None = None, grad_clip: float | None = None,
             return_chain: bool = False):
    """Run ``x ← x + η ∇log p(x) + noise_scale · √(2η) · ε``, ``ε ~ N(0, I)``.

    With ``noise_scale = 1`` the chain targets ``p``; with 0 it is gradient ascent with step
    ``η``. Gradients do not flow back through the chain (each step is detached).

    Args:
        log_prob: unnormalized log-density, ``[n, d] → [n]``.
        x0: start particles ``[n, d]``.
        step_size: η, or a schedule ``η_t`` of ``num_steps`` values (step ``t`` uses ``η_t`` in the
            drift and ``noise_scale·√(2η_t)`` in the noise).
        num_steps: number of updates.
        noise_scale: multiplies the injected noise.
        generator: generator for the noise (on ``x0``'s device).
        grad_clip: clamp each gradient entry to ``[-grad_clip, grad_clip]`` if set.
        return_chain: also return the list of states.

    Returns:
        Final particles ``[n, d]`` (and the chain if asked).
    """
    etas = [float(e) for e in step_size] if hasattr(step_size, "__len__") else [float(step_size)] * num_steps
    if len(etas) != num_steps:
        raise ValueError(f"a step_size schedule needs num_steps = {num_steps} values, got {len(etas)}")
    x = x0.detach().clone()
    chain = [x] if return_chain else None
    for eta in metered(etas, "langevin"):
        scale = noise_scale * (2.0 * eta) ** 0.5
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(log_prob(x).sum(), x)
        if grad_clip is not None:
            grad = grad.clamp(-grad_clip, grad_clip)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (x.detach() + eta * grad + scale * noise).detach()
        if return_chain:
            chain.append(x)
    return (x, chain) if return_chain else x
