"""Multi-layer perceptrons."""
from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "swish": nn.SiLU, "silu": nn.SiLU,
               "tanh": nn.Tanh, "gelu": nn.GELU, "elu": nn.ELU}


def mlp(in_dim: int, out_dim: int, hidden: int = 2048, num_layers: int = 2,
        activation: str = "relu") -> nn.Sequential:
    """``num_layers`` hidden layers of width ``hidden`` with ``activation``, then a linear head.

    Args:
        in_dim: input features.
        out_dim: output features.
        hidden: hidden width.
        num_layers: number of hidden layers (0 gives a linear model).
        activation: one of ``relu, leaky_relu, swish, silu, tanh, gelu, elu``.
    """
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(num_layers):
        layers += [nn.Linear(width, hidden), act()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)
