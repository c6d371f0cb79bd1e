"""Small reusable layers: sinusoidal index embeddings, pre-activation residual blocks, and the
orthogonal regulariser of Brock et al. (2016)."""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(num: int, dim: int) -> torch.Tensor:
    """Transformer-style table ``[num, dim]``: row ``k`` holds ``sin/cos(k · 10000^(-2i/dim))``.

    ``pe[k, 2i] = sin(k ω_i)``, ``pe[k, 2i+1] = cos(k ω_i)``, ``ω_i = 10000^(-2i/dim)``
    (``dim`` must be even).

    Example:
        >>> sinusoidal_table(3, 4)[0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """
    if dim % 2:
        raise ValueError(f"sinusoidal_table needs an even dim, got {dim}")
    k = torch.arange(num, dtype=torch.float32)[:, None]
    omega = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    pe = torch.zeros(num, dim)
    pe[:, 0::2] = torch.sin(k * omega)
    pe[:, 1::2] = torch.cos(k * omega)
    return pe


class IndexEmbedding(nn.Module):
    """Integer index → fixed sinusoidal row → Linear → LeakyReLU → Linear (only the Linears learn).

    Args:
        num: number of indices (rows of the table).
        dim: embedding width.
        slope: LeakyReLU negative slope.
    """

    def __init__(self, num: int, dim: int, slope: float = 0.2) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_table(num, dim), persistent=False)
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(slope), nn.Linear(dim, dim))

    def forward(self, k: torch.Tensor) -> torch.Tensor:
        """``k`` int64 ``[n]`` → ``[n, dim]``."""
        return self.net(self.table[k])


class ResidualBlock(nn.Module):
    """Pre-activation residual block ``h ← h + Linear(LeakyReLU(h))`` (width preserved)."""

    def __init__(self, dim: int, slope: float = 0.2) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(slope)
        self.linear = nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.linear(self.act(h))


class ResidualStack(nn.Module):
    """``num_blocks`` :class:`ResidualBlock` s in sequence, computed in row chunks by a hand-written
    forward/backward (same parameters, same function, same gradients).

    On a CPU the stack's element-wise passes (LeakyReLU, bias, residual add) cost as much as its
    matrix products when a batch of ~10⁴ rows streams through memory once per op. Working on
    ``chunk_rows`` rows at a time keeps each chunk in cache across the ops of a block, and the
    residual add and bias are applied in place, and the saved activations live in a buffer the
    module reuses once a backward pass has consumed it (a fresh 100 MB allocation per step costs
    page faults). Used by N²CE's 16-block ratio network (``benchmarks/n2ce_speed.py``). Only first
    derivatives, and one backward pass per forward, are supported (no ``create_graph``; a second
    ``retain_graph`` backward raises).

    Args:
        dim: width.
        num_blocks: number of blocks.
        slope: LeakyReLU negative slope (> 0).
        chunk_rows: rows per chunk.
    """

    def __init__(self, dim: int, num_blocks: int, slope: float = 0.2, chunk_rows: int = 1024) -> None:
        super().__init__()
        if slope <= 0:
            raise ValueError(f"ResidualStack needs a positive slope, got {slope}")
        self.blocks = nn.ModuleList(ResidualBlock(dim, slope) for _ in range(num_blocks))
        self.slope, self.chunk_rows = slope, chunk_rows
        self._free: list[torch.Tensor] = []  # activation buffers whose backward has run

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        weights = [b.linear.weight for b in self.blocks]
        biases = [b.linear.bias for b in self.blocks]
        h = h.to(weights[0].dtype)  # under bf16 autocast the hand-written stack still computes in fp32
        if torch.is_grad_enabled() and (h.requires_grad or any(w.requires_grad for w in weights + biases)):
            return _ResidualStackFn.apply(h, self, *weights, *biases)
        return _stack_forward(h, weights, biases, self.slope, self.chunk_rows)

    def _buffer(self, shape: tuple, like: torch.Tensor) -> torch.Tensor:
        for i, b in enumerate(self._free):
            if b.shape == shape and b.dtype == like.dtype and b.device == like.device:
                return self._free.pop(i)
        return torch.empty(shape, dtype=like.dtype, device=like.device)


def _stack_forward(h, weights, biases, slope, chunk_rows, acts=None) -> torch.Tensor:
    """The stack's value, chunk by chunk; the activations go to ``acts`` ``[n, rows, dim]`` if given."""
    out = h.detach().clone()
    for s in range(0, h.shape[0], chunk_rows):
        x = out[s:s + chunk_rows]
        for i, (w, b) in enumerate(zip(weights, biases)):
            a = acts[i, s:s + chunk_rows] if acts is not None else torch.empty_like(x)
            torch.ops.aten.leaky_relu.out(x, slope, out=a)
            x.addmm_(a, w.t()).add_(b)
    return out


class _ResidualStackFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, stack, *params):
        n = len(params) // 2
        weights, biases = params[:n], params[n:]
        acts = stack._buffer((n,) + tuple(h.shape), h)
        out = _stack_forward(h, weights, biases, stack.slope, stack.chunk_rows, acts)
        ctx.save_for_backward(*weights)
        ctx.acts, ctx.stack, ctx.used = acts, stack, False
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        if ctx.used:
            raise RuntimeError("ResidualStack supports one backward pass per forward (its activation "
                               "buffer is reused); run the forward again instead of retain_graph")
        weights, acts = ctx.saved_tensors, ctx.acts
        n, slope, chunk_rows = len(weights), ctx.stack.slope, ctx.stack.chunk_rows
        grad_h = grad.contiguous().clone()
        need_params = any(ctx.needs_input_grad[3:])
        gw = [torch.zeros_like(w) for w in weights] if need_params else None
        gb = [torch.zeros_like(w[:, 0]) for w in weights] if need_params else None
        for s in range(0, grad_h.shape[0], chunk_rows):
            g = grad_h[s:s + chunk_rows]
            for i in reversed(range(n)):
                a = acts[i, s:s + chunk_rows]
                if need_params:
                    gw[i].addmm_(g.t(), a)
                    gb[i].add_(g.sum(0))
                t = g @ weights[i]
                g.add_(torch.ops.aten.leaky_relu_backward(t, a, slope, True))
        ctx.used = True
        ctx.stack._free.append(acts)
        ctx.acts = None
        params = (gw + gb) if need_params else [None] * (2 * n)
        return (grad_h, None, *params)


def orthogonal_penalty(module: nn.Module) -> torch.Tensor:
    """``Σ_W ‖G − I‖²_F`` over the module's Linear weights, ``G`` the Gram matrix over the smaller
    dimension (``WᵀW`` if ``in ≤ out`` else ``WWᵀ``); biases excluded (Brock et al., 2016)."""
    total = None
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            w = layer.weight
            gram = w.t() @ w if w.shape[1] <= w.shape[0] else w @ w.t()
            eye = torch.eye(gram.shape[0], device=w.device, dtype=w.dtype)
            term = (gram - eye).pow(2).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: the module has no Linear layers")
    return total


__all__ = ["sinusoidal_table", "IndexEmbedding", "ResidualBlock", "ResidualStack", "orthogonal_penalty"]
