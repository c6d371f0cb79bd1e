"""Particle samplers and optimizers over continuous vectors: gradient ascent, Langevin, SVGD."""
from mbo.samplers.ascent import gradient_ascent
from mbo.samplers.langevin import langevin
from mbo.samplers.svgd import rbf_kernel, svgd

__all__ = ["gradient_ascent", "langevin", "svgd", "rbf_kernel"]
