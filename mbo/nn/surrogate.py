"""Training regression surrogates f(x) ≈ y on the offline set."""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mbo import checkpoint
from mbo.cost import metered
from mbo.nn.optim import adam


def minibatch_loop(n: int, step: Callable[[torch.Tensor, int, int], float], *, epochs: int,
                   batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True,
                   device: torch.device | str = "cpu", desc: str = "train",
                   state: Mapping[str, Any] | None = None, period: int = 1) -> list[float]:
    """The one minibatch loop every trainer shares: per epoch, (re)shuffle the ``n`` rows and call
    ``step(idx, epoch, batch_index)`` on each batch (the last partial batch kept). The steps are one
    :func:`mbo.cost.metered` loop, so ``--estimate`` times a few of them.

    Inside a :func:`mbo.checkpoint.session` the loop is a checkpointed stage: ``state`` and
    ``generator`` are written after any batch once the interval has passed, and a resumed loop
    continues from the batch after the last one written.

    Args:
        n: number of rows.
        step: does one update on the rows ``idx`` (a long tensor on ``device``) and returns the
            batch's mean loss.
        epochs: passes over the rows.
        batch_size: rows per batch.
        generator: generator for the shuffling (seeded by the caller; CPU, or the device's own).
        shuffle: reshuffle every epoch; ``False`` keeps one fixed order for the whole run (drawn
            once from ``generator``), as design-baselines' MINs pipeline (shuffle buffer 1).
        device: where ``idx`` lives.
        desc: progress-bar label (and the checkpoint stage's name).
        state: everything else ``step`` mutates, by name (model, optimizer, other generators it
            draws from, accumulators), as :func:`mbo.checkpoint.stage` takes it.
        period: ``step`` does extra work every ``period`` batches (see :func:`mbo.cost.metered`).

    Returns:
        The mean loss of each epoch (batch means weighted by batch size).
    """
    gen_device = generator.device if generator is not None else "cpu"
    fixed = torch.randperm(n, generator=generator, device=gen_device) if not shuffle else None
    registered = {**(state or {}), **({"shuffle_generator": generator} if generator is not None else {})}
    starts = range(0, n, batch_size)
    num_batches = len(starts)
    if num_batches == 0:
        return [0.0] * epochs
    with checkpoint.stage(desc, registered, total=epochs) as ck:
        epoch0, batch0 = ck.position or (0, 0)
        history = ck.extra.get("history", [])
        steps = ((epoch, b) for epoch in range(epoch0, epochs)
                 for b in range(batch0 if epoch == epoch0 else 0, num_batches))
        total, seen, first = 0.0, 0, True
        # one metered loop over the steps: cut short under mbo.cost.estimating (--estimate)
        for epoch, b in metered(steps, desc, total=(epochs - epoch0) * num_batches - batch0,
                                period=period):
            if first and b:  # resumed part-way through this epoch
                perm, total, seen = ck.extra["perm"].to(device), ck.extra["total"], starts[b]
            elif b == 0:
                perm = (torch.randperm(n, generator=generator, device=gen_device) if shuffle else fixed).to(device)
                total, seen = 0.0, 0
            first = False
            idx = perm[starts[b]:starts[b] + batch_size]
            total += float(step(idx, epoch, b)) * len(idx)
            seen += len(idx)
            if b + 1 < num_batches:
                ck.reached((epoch, b + 1), {"history": history, "perm": perm, "total": total})
            else:
                history.append(total / n)
                ck.reached((epoch + 1, 0), {"history": history})
        if len(history) < epochs and seen and seen < n:  # an estimate stopped mid-epoch: the partial epoch's mean
            history.append(total / seen)
    return history


def mse_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of ``pred`` (``[b, 1]`` or ``[b]``) against ``y`` ``[b]``."""
    return ((pred.reshape(-1) - y) ** 2).mean()


def fit_regressor(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                  batch_size: int = 128, learning_rate: float = 1e-3, weight_decay: float = 0.0,
                  generator: torch.Generator | None = None, desc: str = "surrogate",
                  loss: Callable[..., torch.Tensor] = mse_loss, extras: Sequence[torch.Tensor] = (),
                  optimizer: torch.optim.Optimizer | None = None, adam_eps: float = 1e-8,
                  lr_schedule: str = "constant", on_epoch_end: Callable[[int], None] | None = None,
                  state: Mapping[str, Any] | None = None) -> list[float]:
    """Minimize ``loss(model(x), y, *extras)`` with Adam minibatches (default: mean squared error).

    Args:
        model: maps a batch of ``x`` to predictions; already on the data's device.
        x: inputs ``[n, ...]`` (float features or integer tokens).
        y: targets ``[n, ...]``.
        epochs: passes over the data.
        batch_size: minibatch size.
        learning_rate: Adam learning rate (ignored when ``optimizer`` is given).
        weight_decay: Adam weight decay (ignored when ``optimizer`` is given).
        generator: CPU generator for the shuffling (seeded by the caller).
        desc: progress-bar label.
        loss: ``loss(output, y_batch, *extras_batch) -> scalar``, e.g. a weighted Gaussian NLL.
        extras: per-row tensors ``[n, ...]`` (bootstrap counts, importance weights), sliced with
            each minibatch and handed to ``loss``.
        optimizer: an optimizer to continue with (its state carries over); default a fresh Adam.
        adam_eps: Adam's ε (Keras uses 1e-7, PyTorch 1e-8).
        lr_schedule: ``"constant"``, or ``"cosine"``: epoch ``e`` of ``E`` uses
            ``learning_rate · (1 + cos(π e / E)) / 2`` (DEMO's reference surrogate).
        on_epoch_end: called with the epoch index after each epoch's last update (e.g. checkpoint selection).
        state: what ``loss`` mutates besides the model and optimizer (e.g. a generator it draws
            noise from), for checkpoints (see :func:`minibatch_loop`).

    Returns:
        The mean training loss of each epoch.
    """
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    opt = optimizer or adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay, eps=adam_eps)

    def step(idx: torch.Tensor, epoch: int, batch: int) -> float:
        if lr_schedule == "cosine" and batch == 0:
            for group in opt.param_groups:
                group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        value = loss(model(x[idx]), y[idx], *(e[idx] for e in extras))
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        if on_epoch_end is not None and (batch + 1) * batch_size >= x.shape[0]:
            on_epoch_end(epoch)
        return value.item()

    model.train()
    history = minibatch_loop(x.shape[0], step, epochs=epochs, batch_size=batch_size, generator=generator,
                             device=x.device, desc=desc, state={"model": model, "optimizer": opt, **(state or {})})
    model.eval()
    return history


class Surrogate:
    """An MLP regressor on encoded designs with standardized targets, the model most methods share.

    ``encoder`` maps designs to vectors (Design-Bench logits or z-scored x), ``y_scaler`` z-scores
    y, and ``model`` predicts standardized y from encoded x.

    Example:
        >>> s = Surrogate.fit(data, hidden=2048, num_layers=2, epochs=50, device="cpu", seed=0)
        >>> s.model(s.encoder.encode(data.x[:4])).shape
        torch.Size([4, 1])
    """

    def __init__(self, encoder, y_scaler, model: nn.Module, history: list[float]) -> None:
        self.encoder = encoder
        self.y_scaler = y_scaler
        self.model = model
        self.history = history

    @classmethod
    def fit(cls, data, *, hidden: int = 2048, num_layers: int = 2, activation: str = "relu",
            epochs: int = 50, batch_size: int = 128, learning_rate: float = 1e-3,
            weight_decay: float = 0.0, device: torch.device | str = "cpu", seed: int = 0,
            standardize_discrete: bool = False) -> Surrogate:
        """Fit on :class:`mbo.OfflineData` (see :func:`fit_regressor` for the training loop)."""
        from mbo.nn.encoding import DesignEncoder, Standardizer
        from mbo.nn.mlp import mlp

        encoder = DesignEncoder(data.space, data.x, standardize_discrete=standardize_discrete)
        y_scaler = Standardizer(data.y)
        x = encoder.encode(data.x, device)
        y = torch.as_tensor(y_scaler.transform(data.y), device=device)
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = mlp(encoder.dim, 1, hidden, num_layers, activation).to(device)
        history = fit_regressor(model, x, y, epochs=epochs, batch_size=batch_size,
                                learning_rate=learning_rate, weight_decay=weight_decay, generator=gen)
        return cls(encoder, y_scaler, model, history)

    def predict(self, u: torch.Tensor) -> torch.Tensor:
        """Standardized prediction ``[n]`` of encoded designs ``[n, d]`` (differentiable)."""
        return self.model(u).reshape(-1)

    def spearman(self, data) -> float:
        """Spearman correlation of the predictions with ``data.y`` (:func:`training_spearman`)."""
        device = next(self.model.parameters()).device
        return training_spearman(self.predict, self.encoder.encode(data.x, device), data.y)


def training_spearman(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y,
                      batch_size: int = 8192) -> float:
    """Spearman rank correlation (``scipy.stats.spearmanr``) of ``predict(x)`` with ``y`` on the training rows.

    A cheap fit diagnostic: it says whether the surrogate ranks the data it was trained on, not
    whether it generalizes.
    """
    from scipy.stats import spearmanr

    with torch.no_grad():
        pred = torch.cat([predict(x[i:i + batch_size]).reshape(-1).float().cpu()
                          for i in range(0, x.shape[0], batch_size)]).numpy()
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y
    rho = spearmanr(pred, y).statistic
    return float(rho)
