"""Multi-layer perceptrons."""
from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "swish": nn.SiLU, "silu": nn.SiLU,
               "tanh": nn.Tanh, "gelu": nn.GELU, "elu": nn.ELU}


INITS = ("torch", "keras")


def mlp(in_dim: int, out_dim: int, hidden: int = 2048, num_layers: int = 2,
        activation: str = "relu", init: str = "torch") -> nn.Sequential:
    """``num_layers`` hidden layers of width ``hidden`` with ``activation``, then a linear head.

    Args:
        in_dim: input features.
        out_dim: output features.
        hidden: hidden width.
        num_layers: number of hidden layers (0 gives a linear model).
        activation: one of ``relu, leaky_relu, swish, silu, tanh, gelu, elu``.
        init: ``"torch"`` (``nn.Linear``'s default, uniform ±1/√fan_in for weights and biases) or
            ``"keras"`` (Keras ``Dense``'s default: Glorot-uniform weights, ±√(6/(fan_in+fan_out)),
            and zero biases), for ports of Keras/TensorFlow reference code.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(num_layers):
        layers += [nn.Linear(width, hidden), act()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    if init == "keras":
        for layer in layers:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)
