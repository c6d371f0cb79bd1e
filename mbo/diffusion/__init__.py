"""Diffusion toolkit shared by DDOM, DEMO and later generative methods.

* :class:`VPSDE`: the variance-preserving SDE, closed-form marginals, forward noising ``q(x_t | x_0)``.
* :func:`dsm_loss`, :func:`drop_condition`: weighted denoising score matching and
  classifier-free-guidance condition dropout for training.
* :func:`combine_guidance`, :func:`guided_score`: ``(1 + γ) s(x, y) − γ s(x, ∅)``.
* :func:`reverse_sde`, :func:`sdedit`: reverse-time samplers (from T, or from any t for editing).
"""
from mbo.diffusion.sampling import combine_guidance, guided_score, reverse_sde, sdedit
from mbo.diffusion.sde import VPSDE, expand_time
from mbo.diffusion.training import drop_condition, dsm_loss

__all__ = ["VPSDE", "expand_time", "dsm_loss", "drop_condition", "combine_guidance", "guided_score",
           "reverse_sde", "sdedit"]
