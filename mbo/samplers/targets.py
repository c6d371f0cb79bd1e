"""Boltzmann target densities for testing samplers: GMM-40 (d = 2) and DW-4 (d = 8).

Energies are ``E = −log μ`` (lower is more probable) and are evaluated in **raw** units.

* :class:`GMM40`: the 40-component mixture of FAB / iDEM / NEM (means ``(U[0,1)² − ½)·80`` from
  ``torch`` CPU seed 0, covariance ``softplus(1)² I``, equal weights, normalized). Exact samples and
  the closed-form noised energy ``E_t = −log Σ_k N(x; μ_k, (s² + σ²) I)/40`` are available, so
  samplers can be tested without learning.
* :class:`DW4`: four particles in 2-D with the double-well pair potential
  ``Σ_{i<j} a (d_ij − d0)⁴ + b (d_ij − d0)² + c`` (a = 0.9, b = −4, c = 0, d0 = 4), invariant to
  translation, rotation and permutation; mean-free coordinates. Reference samples come from
  vectorized parallel-tempering Metropolis chains (:meth:`DW4.reference_samples`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn.functional import softplus


class GMM40:
    """The GMM-40 target (raw units; samplers usually work in ``x / scale``).

    Example:
        >>> gmm = GMM40()
        >>> x = gmm.sample(1000, torch.Generator().manual_seed(0))     # exact samples [1000, 2]
        >>> gmm.energy(x).mean()                                        # ≈ 6.86
        >>> gmm.modes_covered(x)                                        # 40
    """

    dim = 2
    num_modes = 40
    loc_scaling = 40.0
    scale = 50.0          # data_normalization_factor of the reference code
    coverage_chi2 = 9.21  # χ²_0.99(2): a mode is covered by a sample within this squared Mahalanobis distance

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.means = (torch.rand(self.num_modes, self.dim, generator=gen) - 0.5) * 2 * self.loc_scaling
        self.std = float(softplus(torch.tensor(1.0)))
        self.var = self.std**2

    def noised_energy(self, x: torch.Tensor, sigma: float | torch.Tensor = 0.0) -> torch.Tensor:
        """``E_t(x) = −log p_t(x)``, ``p_t = μ ∗ N(0, σ² I)``; ``x`` ``[n, 2]`` and ``σ`` (float or ``[n]``) raw."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        var = (self.var + sigma**2).reshape(-1, 1) if sigma.ndim else self.var + sigma**2
        means = self.means.to(x)
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)                     # [n, 40]
        log_comp = -0.5 * sq / var - 0.5 * self.dim * torch.log(2 * math.pi * torch.as_tensor(var, dtype=x.dtype))
        return -(torch.logsumexp(log_comp, dim=1) - math.log(self.num_modes))

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """``E(x) = −log μ(x)``, ``x`` ``[n, 2]`` raw → ``[n]``."""
        return self.noised_energy(x, 0.0)

    def score(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """``∇ log p_t(x) = −∇E_t(x)`` in raw units, ``[n, 2]``."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.noised_energy(x, sigma).sum(), x)
        return -grad

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` exact samples ``[n, 2]`` (raw units)."""
        k = torch.randint(self.num_modes, (n,), generator=generator)
        return self.means[k] + self.std * torch.randn(n, self.dim, generator=generator)

    def modes_covered(self, x: torch.Tensor) -> int:
        """Number of means with at least one sample within squared Mahalanobis distance χ²_0.99(2) = 9.21."""
        sq = ((x[:, None, :].double() - self.means[None].double()) ** 2).sum(-1) / self.var
        return int((sq <= self.coverage_chi2).any(dim=0).sum())


class DW4:
    """The DW-4 double-well system (standard total energy, mean-free coordinates ``[n, 8]``).

    Example:
        >>> dw = DW4()
        >>> ref = dw.reference_samples(1000, torch.Generator().manual_seed(0))
        >>> dw.energy(ref).mean()                                      # ≈ −22.45
    """

    dim = 8
    num_particles = 4
    a, b, c, d0, tau = 0.9, -4.0, 0.0, 4.0, 1.0
    pairs = torch.triu_indices(4, 4, offset=1)

    def distances(self, x: torch.Tensor) -> torch.Tensor:
        """Pair distances ``[n, 6]`` of configurations ``x`` ``[n, 8]``."""
        p = x.reshape(-1, self.num_particles, 2)
        diff = p[:, self.pairs[0]] - p[:, self.pairs[1]]
        return diff.pow(2).sum(-1).clamp_min(1e-12).sqrt()

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """``E(x) = (1/τ) Σ_{i<j} a (d − d0)⁴ + b (d − d0)² + c``, ``[n, 8]`` → ``[n]``."""
        r = self.distances(x) - self.d0
        return (self.a * r**4 + self.b * r**2 + self.c).sum(-1) / self.tau

    @staticmethod
    def center(x: torch.Tensor) -> torch.Tensor:
        """Remove the particle mean of each configuration (mean-free projection), ``[n, 8]``."""
        p = x.reshape(x.shape[0], -1, 2)
        return (p - p.mean(dim=1, keepdim=True)).reshape(x.shape[0], -1)

    def reference_samples(self, n: int, generator: torch.Generator | None = None, *, num_steps: int = 6000,
                          temperatures: tuple[float, ...] = (1.0, 1.5, 2.2, 3.3, 5.0, 7.5),
                          step_size: float = 0.35, thin: int = 200) -> torch.Tensor:
        """Reference configurations by parallel tempering with random-walk Metropolis moves.

        ``ceil(n · thin / (num_steps / 2))`` independent replica ladders run in one batch; each
        step proposes a Gaussian move per replica (scaled by √T) and then a swap between one random
        pair of adjacent temperatures. The second half of each T = 1 chain is kept every ``thin``
        steps; the result is shuffled, centered, and cut to ``n``.

        Returns:
            ``[n, 8]`` mean-free configurations (float32).
        """
        keep_per_chain = max(1, (num_steps // 2) // thin)
        chains = math.ceil(n / keep_per_chain)
        temps = torch.tensor(temperatures, dtype=torch.float64)
        m = len(temperatures)
        x = 2.0 * torch.randn(chains, m, self.dim, generator=generator, dtype=torch.float64)
        e = self.energy(x.reshape(-1, self.dim)).reshape(chains, m)
        out = []
        rows = torch.arange(chains)
        for step in range(num_steps):
            prop = x + step_size * temps.sqrt()[None, :, None] * torch.randn(x.shape, generator=generator,
                                                                               dtype=x.dtype)
            e_prop = self.energy(prop.reshape(-1, self.dim)).reshape(chains, m)
            accept = torch.rand(chains, m, generator=generator, dtype=x.dtype).log() < -(e_prop - e) / temps
            x = torch.where(accept[..., None], prop, x)
            e = torch.where(accept, e_prop, e)
            j = torch.randint(m - 1, (chains,), generator=generator)
            log_a = (e[rows, j] - e[rows, j + 1]) * (1.0 / temps[j] - 1.0 / temps[j + 1])
            swap = torch.rand(chains, generator=generator, dtype=x.dtype).log() < log_a
            lo, hi = x[rows, j].clone(), x[rows, j + 1].clone()
            x[rows, j] = torch.where(swap[:, None], hi, lo)
            x[rows, j + 1] = torch.where(swap[:, None], lo, hi)
            e_lo, e_hi = e[rows, j].clone(), e[rows, j + 1].clone()
            e[rows, j] = torch.where(swap, e_hi, e_lo)
            e[rows, j + 1] = torch.where(swap, e_lo, e_hi)
            if step >= num_steps // 2 and (step - num_steps // 2) % thin == thin - 1:
                out.append(x[:, 0].clone())
        samples = torch.cat(out)[torch.randperm(chains * len(out), generator=generator)[:n]]
        return self.center(samples).float()

    @staticmethod
    def short_pair_counts(d: torch.Tensor, threshold: float = 4.0) -> np.ndarray:
        """Share of configurations with 0..6 pair distances below ``threshold``; ``d`` ``[n, 6]`` → ``[7]``."""
        counts = (d < threshold).sum(-1).cpu().numpy()
        return np.bincount(counts, minlength=7) / len(counts)


__all__ = ["GMM40", "DW4"]
