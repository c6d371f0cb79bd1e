"""Design-Bench's logit encoding: hand-computed values, round trips (numpy, torch, batched)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mbo.core import DesignSpace
from mbo.nn.encoding import DesignEncoder, Standardizer, from_logits, to_logits


@pytest.mark.parametrize("vocab", [2, 4, 20])
def test_logit_values_match_hand_computation(vocab):
    # one-hot mixed 0.6 / 0.4 with uniform: p_hot = 0.6 + 0.4/V, p_cold = 0.4/V;
    # logits are log p_k - log p_0 for k = 1..V-1.
    big = np.log((0.6 + 0.4 / vocab) / (0.4 / vocab))
    x = np.arange(vocab)[None, :]  # one design holding every token once
    z = to_logits(x, vocab)
    assert z.shape == (1, vocab, vocab - 1) and z.dtype == np.float32
    np.testing.assert_allclose(z[0, 0], np.full(vocab - 1, -big), rtol=1e-6)  # token 0
    for k in range(1, vocab):
        want = np.zeros(vocab - 1)
        want[k - 1] = big
        np.testing.assert_allclose(z[0, k], want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("vocab", [2, 4, 20])
def test_round_trip_numpy_and_torch(vocab):
    rng = np.random.default_rng(vocab)
    x = rng.integers(0, vocab, size=(64, 9))
    z = to_logits(x, vocab)
    np.testing.assert_array_equal(from_logits(z), x)
    assert from_logits(z).dtype == np.int64
    zt = to_logits(torch.as_tensor(x), vocab)
    assert isinstance(zt, torch.Tensor) and zt.shape == (64, 9, vocab - 1)
    np.testing.assert_allclose(zt.numpy(), z, rtol=1e-6, atol=1e-6)
    back = from_logits(zt)
    assert back.dtype == torch.int64
    np.testing.assert_array_equal(back.numpy(), x)


def test_batched_leading_dims():
    x = np.random.default_rng(0).integers(0, 4, size=(3, 5, 8))
    z = to_logits(x, 4)
    assert z.shape == (3, 5, 8, 3)
    np.testing.assert_array_equal(from_logits(z), x)
    np.testing.assert_array_equal(from_logits(to_logits(torch.as_tensor(x), 4)).numpy(), x)


def test_decode_of_perturbed_logits_picks_largest_class():
    # the zero column stands for class 0: all-negative logits decode to 0
    z = np.array([[[-1.0, -2.0, -0.5], [0.1, 2.0, -3.0]]], np.float32)
    np.testing.assert_array_equal(from_logits(z), [[0, 2]])
    np.testing.assert_array_equal(from_logits(torch.as_tensor(z)).numpy(), [[0, 2]])


def test_design_encoder_round_trip_discrete():
    space = DesignSpace.discrete(length=8, vocab_size=4)
    x = np.random.default_rng(1).integers(0, 4, size=(32, 8))
    enc = DesignEncoder(space, x)
    u = enc.encode(x)
    assert u.shape == (32, 8 * 3) and u.dtype == torch.float32
    np.testing.assert_array_equal(enc.decode(u), x)


def test_design_encoder_standardize_overrides_the_space_rule():
    rng = np.random.default_rng(2)
    cont = DesignSpace.continuous(np.zeros(3), np.full(3, 10.0))
    xc = rng.uniform(0, 10, size=(64, 3)).astype(np.float32)
    raw = DesignEncoder(cont, xc, standardize=False)
    assert raw.scaler is None
    np.testing.assert_allclose(raw.encode(xc).numpy(), xc)
    np.testing.assert_allclose(raw.decode(raw.encode(xc)), xc)
    disc = DesignSpace.discrete(length=8, vocab_size=4)
    xd = rng.integers(0, 4, size=(64, 8))
    z = DesignEncoder(disc, xd, standardize=True)
    np.testing.assert_allclose(z.encode(xd).numpy().mean(0), 0.0, atol=1e-5)
    np.testing.assert_array_equal(z.decode(z.encode(xd)), xd)


def test_standardizer_zero_std_option():
    # population std; a constant column is floored at eps, or set to zero_std (Design-Bench: 1.0)
    data = np.array([[1.0, 2.0], [1.0, 4.0]])
    np.testing.assert_array_equal(Standardizer(data).std, np.float32([1e-8, 1.0]))
    np.testing.assert_array_equal(Standardizer(data, zero_std=1.0).std, [1.0, 1.0])
