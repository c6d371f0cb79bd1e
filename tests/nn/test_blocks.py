"""Reusable layers: sinusoidal table values, residual identity, orthogonal penalty, MLP initialisation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mbo.nn import mlp
from mbo.nn.blocks import IndexEmbedding, ResidualBlock, ResidualStack, orthogonal_penalty, sinusoidal_table


def test_sinusoidal_table_values():
    pe = sinusoidal_table(6, 128)
    assert pe.shape == (6, 128)
    k, i = 3, 5
    omega = 10000 ** (-2 * i / 128)
    assert abs(pe[k, 2 * i].item() - math.sin(k * omega)) < 1e-6
    assert abs(pe[k, 2 * i + 1].item() - math.cos(k * omega)) < 1e-6
    emb = IndexEmbedding(6, 128)
    assert emb(torch.tensor([0, 5, 5])).shape == (3, 128)
    assert sum(p.numel() for p in emb.parameters()) == 2 * (128 * 128 + 128)  # the table is fixed


def test_residual_block_is_identity_with_zero_weights():
    block = ResidualBlock(8)
    nn.init.zeros_(block.linear.weight)
    nn.init.zeros_(block.linear.bias)
    h = torch.randn(4, 8)
    torch.testing.assert_close(block(h), h)


def test_orthogonal_penalty():
    net = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    with torch.no_grad():
        q, _ = torch.linalg.qr(torch.randn(5, 3))
        net[0].weight.copy_(q)                      # orthonormal columns: W^T W = I
        net[1].weight.copy_(2 * torch.eye(2, 5))    # W W^T = 4 I → ‖3 I‖² = 18
    assert abs(orthogonal_penalty(net).item() - 18.0) < 1e-4


def test_mlp_keras_init_is_glorot_uniform_with_zero_bias():
    torch.manual_seed(0)
    net = mlp(24, 1, hidden=512, num_layers=2, init="keras")
    for layer in (m for m in net if isinstance(m, nn.Linear)):
        fan_out, fan_in = layer.weight.shape
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert torch.all(layer.bias == 0)
        assert layer.weight.abs().max() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / np.sqrt(3), rel=0.1)  # uniform(±b): std b/√3
    torch_default = mlp(24, 1, hidden=512, num_layers=2)
    assert torch.any(torch_default[0].bias != 0)  # nn.Linear's default keeps random biases
    with pytest.raises(ValueError, match="init"):
        mlp(2, 1, init="lecun")


@pytest.mark.parametrize("chunk_rows", [7, 1024])
def test_residual_stack_matches_the_blocks_in_value_and_gradient(chunk_rows):
    torch.manual_seed(0)
    stack = ResidualStack(6, 3, slope=0.2, chunk_rows=chunk_rows).double()
    h = torch.randn(20, 6, dtype=torch.float64, requires_grad=True)
    reference = torch.nn.Sequential(*stack.blocks)
    torch.testing.assert_close(stack(h), reference(h))
    w = torch.randn(20, 6, dtype=torch.float64)
    params = [h, *stack.parameters()]
    fused = torch.autograd.grad((stack(h) * w).sum(), params)
    plain = torch.autograd.grad((reference(h) * w).sum(), params)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b)


def test_residual_stack_input_gradient_only():
    stack = ResidualStack(4, 2)
    h = torch.randn(5, 4, requires_grad=True)
    g, = torch.autograd.grad(stack(h).sum(), h)
    g_ref, = torch.autograd.grad(torch.nn.Sequential(*stack.blocks)(h).sum(), h)
    torch.testing.assert_close(g, g_ref)


def test_residual_stack_reuses_its_buffer_and_refuses_a_second_backward():
    stack = ResidualStack(4, 2, chunk_rows=3)
    h = torch.randn(5, 4, requires_grad=True)
    first, = torch.autograd.grad(stack(h).sum(), h)
    assert len(stack._free) == 1
    second, = torch.autograd.grad(stack(h).sum(), h)  # same buffer, same answer
    torch.testing.assert_close(first, second)
    assert len(stack._free) == 1
    out = stack(h).sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward pass"):
        out.backward()
    with torch.no_grad():
        torch.testing.assert_close(stack(h), torch.nn.Sequential(*stack.blocks)(h))
