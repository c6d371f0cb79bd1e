"""Training a score model: weighted denoising score matching and condition dropout.

The loss is the ε-matching form of denoising score matching with λ(t) = σ(t)²,
``ℓ_i = w_i · ½ Σ_d (σ(t_i) s(x_t, t_i) + ε)²`` with ``t_i ~ U(0, T)`` and
``x_t = α(t_i) x_0 + σ(t_i) ε`` (DDOM's ``dsm_weighted``). Classifier-free guidance trains one
network for the conditional and the unconditional score by replacing the condition with a null
value for a random fraction of the batch.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from mbo.diffusion.sde import VPSDE, expand_time
from mbo.errors import ConfigError

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dsm_loss(score_fn: ScoreFn, x0: torch.Tensor, sde: VPSDE, *, weights: torch.Tensor | None = None,
             t: torch.Tensor | None = None, noise: torch.Tensor | None = None,
             generator: torch.Generator | None = None, reduction: str = "mean") -> torch.Tensor:
    """Weighted denoising score matching loss.

    Args:
        score_fn: the model's score, ``(x_t [n, d], t [n]) → [n, d]``.
        x0: clean training points ``[n, d]``.
        sde: the forward process.
        weights: per-sample weights ``[n]`` (all ones if omitted).
        t: diffusion times ``[n]``; drawn from U(0, T) with ``generator`` if omitted.
        noise: the ε ``[n, d]``; drawn from N(0, I) with ``generator`` if omitted.
        generator: random generator on ``x0``'s device.
        reduction: ``"mean"`` (a scalar, the batch mean) or ``"none"`` (``[n]``).

    Returns:
        The loss: a scalar, or ``[n]`` per-sample values ``w_i · ½ ‖σ s + ε‖²``.
    """
    n = x0.shape[0]
    if t is None:
        t = torch.rand(n, generator=generator, device=x0.device, dtype=x0.dtype) * sde.T
    x_t, noise = sde.perturb(x0, t, noise=noise, generator=generator)
    _, sigma = sde.marginal(expand_time(t, x0))
    residual = sigma * score_fn(x_t, t) + noise
    per_sample = 0.5 * residual.pow(2).reshape(n, -1).sum(dim=1)
    if weights is not None:
        per_sample = per_sample * weights.reshape(n)
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise ConfigError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def drop_condition(y: torch.Tensor, p: float, *, null_value: float = 0.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Classifier-free guidance training: replace each row's condition by ``null_value`` w.p. ``p``.

    DDOM uses ``p = 0.15`` and ``null_value = 0`` (the mean of standardized y; no separate token).

    Args:
        y: conditions ``[n]`` or ``[n, k]``.
        p: drop probability in ``[0, 1]``.
        null_value: the unconditional token.
        generator: random generator on ``y``'s device.

    Returns:
        A new tensor of ``y``'s shape.
    """
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"condition drop probability must be in [0, 1], got {p}")
    drop = torch.rand(y.shape[0], generator=generator, device=y.device) < p
    drop = drop.reshape((y.shape[0],) + (1,) * (y.ndim - 1))
    return torch.where(drop, torch.full_like(y, null_value), y)
