"""Design encodings shared by every method.

Discrete designs use Design-Bench's relaxed logit space: a one-hot vector mixed 0.6 / 0.4 with
the uniform distribution, its log, minus the class-0 column, which is then dropped (``V - 1``
values per position). Decoding pads a zero column and takes the argmax. Continuous designs and
scores are z-scored with the offline set's statistics.
"""
from __future__ import annotations

import numpy as np
import torch

from mbo.core import DesignSpace

SOFT = 0.6


def to_logits(x, vocab_size: int, soft: float = SOFT):
    """Tokens ``[n, L]`` → Design-Bench logits ``[n, L, V-1]`` (numpy in, numpy out; torch in, torch out)."""
    if isinstance(x, torch.Tensor):
        one_hot = torch.nn.functional.one_hot(x.long(), vocab_size).float()
        probs = soft * one_hot + (1.0 - soft) / vocab_size
        logp = probs.log()
        return logp[..., 1:] - logp[..., :1]
    x = np.asarray(x)
    one_hot = np.eye(vocab_size, dtype=np.float32)[x]
    logp = np.log(soft * one_hot + (1.0 - soft) / vocab_size)
    return (logp[..., 1:] - logp[..., :1]).astype(np.float32)


def from_logits(logits):
    """Design-Bench logits ``[n, L, V-1]`` → tokens ``[n, L]`` int64 (argmax after a zero column)."""
    if isinstance(logits, torch.Tensor):
        padded = torch.nn.functional.pad(logits, (1, 0))
        return padded.argmax(-1).long()
    logits = np.asarray(logits)
    padded = np.concatenate([np.zeros(logits.shape[:-1] + (1,), logits.dtype), logits], axis=-1)
    return padded.argmax(-1).astype(np.int64)


class Standardizer:
    """Column-wise z-scoring fitted on a reference array ``[n, d]`` (or ``[n]``).

    The std is the population std (ddof = 0), floored at ``eps``; with ``zero_std`` set, an
    exactly-zero std becomes that value instead (Design-Bench's ``normalize_x`` uses 1.0).
    """

    def __init__(self, data: np.ndarray, eps: float = 1e-8, zero_std: float | None = None) -> None:
        data = np.asarray(data, np.float64)
        self.mean = data.mean(axis=0).astype(np.float32)
        std = data.std(axis=0)
        std = np.where(std == 0.0, zero_std, std) if zero_std is not None else np.maximum(std, eps)
        self.std = std.astype(np.float32)

    def transform(self, x):
        if isinstance(x, torch.Tensor):
            return (x - _t(self.mean, x)) / _t(self.std, x)
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)

    def inverse(self, z):
        if isinstance(z, torch.Tensor):
            return z * _t(self.std, z) + _t(self.mean, z)
        return (np.asarray(z, np.float32) * self.std + self.mean).astype(np.float32)


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(a, dtype=like.dtype, device=like.device)


class DesignEncoder:
    """Maps designs of a space to flat float vectors ``[n, d]`` and back.

    Discrete: Design-Bench logits, flattened (``d = L * (V - 1)``), optionally z-scored
    (``standardize_discrete``: design-baselines' Grad., CMA-ES and BO-qEI call ``map_to_logits``
    then ``map_normalize_x``, so they z-score them; this package's COMs keeps them raw). Continuous:
    z-scored with the offline set's mean and std. ``standardize`` (True/False) overrides both
    rules. Decoding does not clip: the harness clips out-of-box designs and counts them in the record.

    Example:
        >>> enc = DesignEncoder(data.space, data.x)
        >>> u = enc.encode(data.x)          # torch [n, d]
        >>> x = enc.decode(u)               # numpy designs
    """

    def __init__(self, space: DesignSpace, x: np.ndarray, standardize_discrete: bool = False,
                 standardize: bool | None = None) -> None:
        self.space = space
        self.standardize = ((not space.is_discrete) or standardize_discrete) if standardize is None else standardize
        flat = self._raw(np.asarray(x))
        self.scaler = Standardizer(flat) if self.standardize else None
        self.dim = flat.shape[1]

    def _raw(self, x: np.ndarray) -> np.ndarray:
        if self.space.is_discrete:
            return to_logits(x, self.space.vocab_size).reshape(len(x), -1)
        return np.asarray(x, np.float32)

    def encode(self, x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """Designs → float32 tensor ``[n, d]`` on ``device``."""
        flat = self._raw(np.asarray(x))
        if self.scaler is not None:
            flat = self.scaler.transform(flat)
        return torch.as_tensor(flat, dtype=torch.float32, device=device)

    def input_gradient(self, fn, x: np.ndarray, device: torch.device | str = "cpu") -> np.ndarray:
        """``∇_x fn(encode(x))`` ``[n, d]`` at continuous designs ``x``, through the z-scoring (float64).

        ``fn`` maps encoded designs ``[n, d]`` to per-row values ``[n]`` (e.g. a surrogate's prediction)."""
        if self.space.is_discrete:
            raise ValueError("input_gradient needs continuous designs (discrete designs have no raw-x gradient)")
        with torch.enable_grad():
            xt = torch.as_tensor(np.asarray(x, np.float32), device=device).requires_grad_(True)
            u = self.scaler.transform(xt) if self.scaler is not None else xt
            (grad,) = torch.autograd.grad(fn(u).reshape(-1).sum(), xt)
        return grad.detach().cpu().numpy().astype(np.float64)

    def decode(self, u: torch.Tensor | np.ndarray) -> np.ndarray:
        """Vectors ``[n, d]`` → designs (int64 tokens, or float32)."""
        u = u.detach().float().cpu().numpy() if isinstance(u, torch.Tensor) else np.asarray(u, np.float32)
        if self.scaler is not None:
            u = self.scaler.inverse(u)
        if self.space.is_discrete:
            return from_logits(u.reshape(len(u), self.space.length, self.space.vocab_size - 1))
        return u.astype(np.float32)
