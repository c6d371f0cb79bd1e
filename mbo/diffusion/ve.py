"""Variance-exploding (VE) noise schedules and the Euler–Maruyama reverse sampler.

Forward SDE ``dx = g(t) dw`` on ``t ∈ [0, 1]``: ``x_t | x_0 ~ N(x_0, σ_t² I)`` with
``σ_t² = ∫_0^t g(r)² dr`` and ``σ_0 = 0`` (NEM/BNEM, iDEM). Every schedule is parameterised by
``(sigma_min, sigma_max)`` with ``σ²(1) = σ_max²`` (geometric: ``σ_max² − σ_min²``, as in the
reference code) and gives ``g²(t) = dσ²/dt`` analytically:

* ``geometric``: ``σ² = σ_min² [(σ_max/σ_min)^{2t} − 1]``;
* ``linear``: ``σ² = σ_max² t``;
* ``quadratic``: ``σ² = σ_max² t²``;
* ``cosine``: ``σ² = σ_max² cos⁴(u_t)/cos⁴(u_1)``, ``u_t = π/2 (1 − t + s)/(1 + s)``, s = 0.008 (the
  reference's ``σ_max cos⁴(u_t)`` rescaled so that ``σ²(1) = σ_max²``; ``σ_0 = 0`` since ``u_0 = π/2``).

The reverse sampler integrates ``x ← x + g²(t_k) s(x, t_k) Δt + g(t_k) √Δt ε`` on the uniform grid
``t_k = 1 − k/N`` (k = 0..N−1); no final denoising step, as in the NEM reference.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mbo.cost import metered
from mbo.errors import ConfigError

SCHEDULES = ("geometric", "linear", "quadratic", "cosine")
_COSINE_S = 0.008


@dataclass(frozen=True)
class VESchedule:
    """σ_t² and g(t)² of a VE forward process.

    Example:
        >>> sched = VESchedule("geometric", sigma_min=1e-3, sigma_max=3.0)
        >>> sched.sigma(torch.tensor([0.0, 1.0]))          # ≈ [0, 3]
        >>> sched.g2(torch.tensor([0.5]))                    # dσ²/dt at t = 0.5
    """

    kind: str = "geometric"
    sigma_min: float = 1e-3
    sigma_max: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ConfigError(f"VE schedule must be one of {SCHEDULES}, got {self.kind!r}")
        if not 0 < self.sigma_min < self.sigma_max:
            raise ConfigError(f"VE schedule needs 0 < sigma_min < sigma_max; got sigma_min={self.sigma_min}, "
                              f"sigma_max={self.sigma_max}")

    def sigma2(self, t: torch.Tensor | float) -> torch.Tensor:
        """σ_t², elementwise (a float gives a 0-d tensor)."""
        t = torch.as_tensor(t, dtype=torch.get_default_dtype()) if not isinstance(t, torch.Tensor) else t
        smax2 = self.sigma_max**2
        if self.kind == "geometric":
            ratio = math.log(self.sigma_max / self.sigma_min)
            return self.sigma_min**2 * torch.expm1(2.0 * ratio * t)
        if self.kind == "linear":
            return smax2 * t
        if self.kind == "quadratic":
            return smax2 * t**2
        u = 0.5 * math.pi * (1.0 - t + _COSINE_S) / (1.0 + _COSINE_S)
        u1 = 0.5 * math.pi * _COSINE_S / (1.0 + _COSINE_S)
        return smax2 * torch.cos(u) ** 4 / math.cos(u1) ** 4

    def sigma(self, t: torch.Tensor | float) -> torch.Tensor:
        """σ_t, elementwise."""
        return self.sigma2(t).clamp_min(0.0).sqrt()

    def g2(self, t: torch.Tensor | float) -> torch.Tensor:
        """g(t)² = dσ_t²/dt, elementwise (analytic)."""
        t = torch.as_tensor(t, dtype=torch.get_default_dtype()) if not isinstance(t, torch.Tensor) else t
        smax2 = self.sigma_max**2
        if self.kind == "geometric":
            ratio = math.log(self.sigma_max / self.sigma_min)
            return 2.0 * ratio * self.sigma_min**2 * torch.exp(2.0 * ratio * t)
        if self.kind == "linear":
            return torch.full_like(t, smax2)
        if self.kind == "quadratic":
            return 2.0 * smax2 * t
        c = 0.5 * math.pi / (1.0 + _COSINE_S)
        u = c * (1.0 - t + _COSINE_S)
        u1 = c * _COSINE_S
        return smax2 * 4.0 * c * torch.sin(u) * torch.cos(u) ** 3 / math.cos(u1) ** 4


ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def clip_norm(v: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    """Scale each row of ``v`` ``[n, d]`` down to Euclidean norm ≤ ``max_norm`` (None: unchanged)."""
    if max_norm is None:
        return v
    norm = v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return v * (max_norm / norm).clamp(max=1.0)


def ve_reverse_sde(score_fn: ScoreFn, x: torch.Tensor, schedule: VESchedule, *, num_steps: int,
                   score_clip: float | None = None, project: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Euler–Maruyama integration of the VE reverse SDE from t = 1 to t = 1/N (see the module docstring).

    Args:
        score_fn: ``(x [n, d], t [n]) → [n, d]``, the score ∇log p_t; it may use autograd inside.
        x: the state at t = 1 ``[n, d]`` (draws from N(0, σ_1² I) when sampling from scratch).
        schedule: the forward process.
        num_steps: N, uniform steps.
        score_clip: clip each score row to this Euclidean norm (None: no clipping).
        project: applied after every step (e.g. removing the particle mean of a mean-free system).
        generator: random generator on ``x``'s device.

    Returns:
        Samples ``[n, d]`` (no gradient).
    """
    if num_steps < 1:
        raise ConfigError(f"num_steps must be ≥ 1, got {num_steps}")
    dt = 1.0 / num_steps
    x = x.detach().clone()
    n = x.shape[0]
    for k in metered(range(num_steps), "ve reverse sde"):
        tk = 1.0 - k * dt
        t = torch.full((n,), tk, dtype=x.dtype, device=x.device)
        g2 = float(schedule.g2(torch.tensor(tk, dtype=torch.float64)))
        score = clip_norm(score_fn(x, t).detach(), score_clip)
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = x + g2 * score * dt + math.sqrt(g2 * dt) * z
        if project is not None:
            x = project(x)
    return x.detach()


__all__ = ["SCHEDULES", "VESchedule", "clip_norm", "ve_reverse_sde"]
