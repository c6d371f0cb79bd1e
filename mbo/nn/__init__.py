"""Shared neural building blocks: devices, MLPs, design encodings, surrogate training."""
from mbo.nn.blocks import IndexEmbedding, ResidualBlock, orthogonal_penalty, sinusoidal_table
from mbo.nn.device import resolve_device, same_device, seed_everything
from mbo.nn.encoding import DesignEncoder, Standardizer, from_logits, to_logits
from mbo.nn.mlp import mlp
from mbo.nn.optim import adam
from mbo.nn.surrogate import fit_regressor

__all__ = ["resolve_device", "same_device", "seed_everything", "DesignEncoder", "Standardizer", "from_logits",
           "to_logits", "mlp", "adam", "fit_regressor", "IndexEmbedding", "ResidualBlock", "orthogonal_penalty",
           "sinusoidal_table"]
