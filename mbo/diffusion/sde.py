"""The variance-preserving SDE and its closed-form forward marginals.

Forward process (Song et al., 2021): ``dx = -½ β(t) x dt + √β(t) dw`` on ``t ∈ [0, T]`` with a
linear schedule ``β(t) = β_min + (β_max − β_min) t``. Its marginal given ``x_0`` is Gaussian:
``x_t = α(t) x_0 + σ(t) ε`` with ``log α(t) = −¼ t² (β_max − β_min) − ½ t β_min`` and
``σ(t)² = 1 − α(t)²``. The defaults (0.01, 2.0, T = 1) are DDOM's and DEMO's; with them
``x_1`` is not pure noise (α(1) ≈ 0.605, σ(1) ≈ 0.796).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from mbo.errors import ConfigError


def expand_time(t: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Broadcast a time (scalar, ``[]`` or ``[n]``) against ``x`` ``[n, ...]`` → ``[n, 1, ...]``.

    Args:
        t: a float, a 0-d tensor or one time per row ``[n]``.
        x: the batch the time applies to, ``[n, ...]``.

    Returns:
        A tensor of ``x``'s dtype and device with shape ``[n, 1, ..., 1]``.
    """
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    return t.reshape((x.shape[0],) + (1,) * (x.ndim - 1))


@dataclass(frozen=True)
class VPSDE:
    """Variance-preserving SDE with a linear β schedule (DDOM's reference values by default).

    Example:
        >>> sde = VPSDE()
        >>> alpha, sigma = sde.marginal(torch.tensor([0.4]))      # ≈ 0.9216, 0.3880
        >>> x_t, eps = sde.perturb(torch.zeros(8, 3), 0.4)         # q(x_t | x_0)
    """

    beta_min: float = 0.01
    beta_max: float = 2.0
    T: float = 1.0

    def __post_init__(self) -> None:
        if not (0 <= self.beta_min <= self.beta_max) or self.beta_max <= 0 or self.T <= 0:
            raise ConfigError(f"VPSDE needs 0 ≤ beta_min ≤ beta_max, beta_max > 0 and T > 0; got "
                              f"beta_min={self.beta_min}, beta_max={self.beta_max}, T={self.T}")

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        """β(t), elementwise on ``t`` (any shape; a float gives a float)."""
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """g(t) = √β(t), elementwise on ``t`` (a float gives a float)."""
        return self.beta(t) ** 0.5

    def drift(self, x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        """Forward drift ``f(x, t) = −½ β(t) x`` for ``x`` ``[n, d]`` and ``t`` scalar or ``[n]``."""
        return -0.5 * self.beta(expand_time(t, x)) * x

    def log_alpha(self, t: torch.Tensor) -> torch.Tensor:
        """log α(t) = −¼ t² (β_max − β_min) − ½ t β_min, elementwise."""
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def marginal(self, t: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean coefficient α(t) and standard deviation σ(t) of ``q(x_t | x_0)``.

        Args:
            t: times, any shape (a float gives 0-d tensors).

        Returns:
            ``(alpha, sigma)``, each of ``t``'s shape, with ``σ² = 1 − α²``.
        """
        t = torch.as_tensor(t, dtype=torch.get_default_dtype()) if not isinstance(t, torch.Tensor) else t
        log_a = self.log_alpha(t)
        return log_a.exp(), (-torch.expm1(2.0 * log_a)).clamp_min(0.0).sqrt()

    def perturb(self, x0: torch.Tensor, t: float | torch.Tensor, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward noising: draw ``x_t ~ q(x_t | x_0) = N(α(t) x_0, σ(t)² I)``.

        Args:
            x0: clean points ``[n, d]``.
            t: one time for all rows, or one per row ``[n]``.
            noise: the ε to use ``[n, d]``; drawn from N(0, I) with ``generator`` if omitted.
            generator: random generator on ``x0``'s device.

        Returns:
            ``(x_t, noise)``, both ``[n, d]``.
        """
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        alpha, sigma = self.marginal(expand_time(t, x0))
        return alpha * x0 + sigma * noise, noise
