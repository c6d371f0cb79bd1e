"""Reverse-time sampling: classifier-free guidance, reverse-SDE integrators, SDEdit-style editing.

The reverse SDE of the forward process, integrated from time ``t_start`` down to ``t_end`` on a
uniform grid of ``num_steps`` steps (Δ = (t_start − t_end) / num_steps, times
τ_k = t_start − kΔ, so the score is never queried at ``t_end``), is stepped as

    x ← x + Δ [β(τ) s(x, τ) + ½ β(τ) x] + √(β(τ) Δ) z,        z ~ N(0, I).

``method`` picks the integrator:

* ``"euler_maruyama"``: the step above.
* ``"ddom"``: DDOM's reference "Heun" sampler as it actually runs: the step above plus, except on
  the last step, an extra ``½ (√β(τ−Δ) − √β(τ)) √Δ z'`` with fresh noise (its second-stage drift
  is computed but unused there). With 1000 steps on [0, 1] this is the reference's grid.
* ``"heun"``: a stochastic Heun predictor–corrector (the Euler–Maruyama predictor, then the
  trapezoidal drift and the averaged diffusion with the same z); the last step is Euler–Maruyama.

Starting at ``t_start < T`` from a noised design is SDEdit: see :func:`sdedit`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from mbo.cost import metered
from mbo.diffusion.sde import VPSDE
from mbo.errors import ConfigError

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CondScoreFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = ("ddom", "euler_maruyama", "heun")


def combine_guidance(cond: torch.Tensor, uncond: torch.Tensor, gamma: float) -> torch.Tensor:
    """Classifier-free guidance: ``(1 + γ) s(x, y) − γ s(x, ∅)``.

    Args:
        cond: conditional scores ``[n, d]``.
        uncond: unconditional scores ``[n, d]``.
        gamma: guidance strength γ (0 gives the conditional score).

    Returns:
        Guided scores ``[n, d]``.
    """
    return (1.0 + gamma) * cond - gamma * uncond


def guided_score(cond_score_fn: CondScoreFn, y: float | torch.Tensor, gamma: float,
                 null_value: float = 0.0) -> ScoreFn:
    """Turn a conditional score model into a guided score function of ``(x, t)``.

    Both terms are computed in one batched call of ``cond_score_fn``; with ``γ = 0`` only the
    conditional term is computed.

    Args:
        cond_score_fn: ``(x [n, d], t [n], y [n]) → [n, d]``.
        y: the condition (a float for every row, or ``[n]``).
        gamma: guidance strength γ.
        null_value: the condition meaning "unconditional" (DDOM: 0).

    Returns:
        ``score_fn(x [n, d], t [n]) → [n, d]``.
    """

    def score_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        cond_y = torch.as_tensor(y, dtype=x.dtype, device=x.device).expand(n)
        if gamma == 0:
            return cond_score_fn(x, t, cond_y)
        both = cond_score_fn(torch.cat([x, x]), torch.cat([t, t]),
                             torch.cat([cond_y, torch.full_like(cond_y, null_value)]))
        return combine_guidance(both[:n], both[n:], gamma)

    return score_fn


def reverse_sde(score_fn: ScoreFn, x: torch.Tensor, sde: VPSDE, *, num_steps: int,
                t_start: float | None = None, t_end: float = 0.0, method: str = "ddom",
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Integrate the reverse-time SDE from ``t_start`` down to ``t_end`` (see the module docstring).

    Args:
        score_fn: ``(x [n, d], t [n]) → [n, d]``, e.g. from :func:`guided_score`.
        x: the state at ``t_start`` ``[n, d]`` (N(0, I) draws for sampling from scratch).
        sde: the forward process.
        num_steps: number of steps between ``t_start`` and ``t_end``.
        t_start: start time (default ``sde.T``).
        t_end: end time (default 0; the output is not denoised further).
        method: ``"ddom"``, ``"euler_maruyama"`` or ``"heun"``.
        generator: random generator on ``x``'s device.

    Returns:
        The state at ``t_end`` ``[n, d]`` (no gradient).
    """
    t_start = sde.T if t_start is None else float(t_start)
    if method not in METHODS:
        raise ConfigError(f"reverse sampler method must be one of {METHODS}, got {method!r}")
    if num_steps < 1 or not 0.0 <= t_end < t_start <= sde.T:
        raise ConfigError(f"need num_steps ≥ 1 and 0 ≤ t_end < t_start ≤ T={sde.T}; got "
                          f"num_steps={num_steps}, t_start={t_start}, t_end={t_end}")
    dt = (t_start - t_end) / num_steps
    n = x.shape[0]
    x = x.detach().clone()

    def noise() -> torch.Tensor:
        return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)

    def reverse_drift(state: torch.Tensor, tau: float) -> torch.Tensor:
        beta = sde.beta(tau)
        return beta * score_fn(state, torch.full((n,), tau, dtype=x.dtype, device=x.device)) + 0.5 * beta * state

    with torch.no_grad():
        for k in metered(range(num_steps), "reverse sde"):
            tau = t_start - k * dt
            tau_next = tau - dt
            last = k == num_steps - 1
            g, g_next = sde.diffusion(tau), sde.diffusion(max(tau_next, 0.0))
            z = noise()
            drift = reverse_drift(x, tau)
            x_em = x + dt * drift + g * dt**0.5 * z
            if method == "euler_maruyama" or last:
                x = x_em
            elif method == "ddom":
                x = x_em + 0.5 * (g_next - g) * dt**0.5 * noise()
            else:  # heun
                drift_next = reverse_drift(x_em, tau_next)
                x = x + 0.5 * dt * (drift + drift_next) + 0.5 * (g + g_next) * dt**0.5 * z
    return x


def sdedit(score_fn: ScoreFn, x0: torch.Tensor, sde: VPSDE, *, t_edit: float, num_steps: int,
           method: str = "ddom", generator: torch.Generator | None = None) -> torch.Tensor:
    """SDEdit-style editing: noise ``x0`` to ``t_edit`` with ``q(x_t | x_0)``, then denoise to 0.

    To reproduce a reference grid of ``N`` steps on [0, T], pass ``num_steps = round(N · t_edit / T)``.

    Args:
        score_fn: ``(x [n, d], t [n]) → [n, d]``.
        x0: designs to edit ``[n, d]`` (in the score model's space).
        sde: the forward process.
        t_edit: the noise time in ``(0, T]``.
        num_steps: reverse steps from ``t_edit`` to 0.
        method: reverse integrator, see :func:`reverse_sde`.
        generator: random generator on ``x0``'s device.

    Returns:
        Edited designs ``[n, d]``.
    """
    x_t, _ = sde.perturb(x0, t_edit, generator=generator)
    return reverse_sde(score_fn, x_t, sde, num_steps=num_steps, t_start=t_edit, method=method,
                       generator=generator)
