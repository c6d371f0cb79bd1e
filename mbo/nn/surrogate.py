"""Training regression surrogates f(x) ≈ y on the offline set."""
from __future__ import annotations

from collections.abc import Callable
import math

import torch
from torch import nn

from mbo.progress import progress


def fit_regressor(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                  batch_size: int = 128, learning_rate: float = 1e-3, weight_decay: float = 0.0,
                  generator: torch.Generator | None = None, desc: str = "surrogate",
                  lr_schedule: str = "constant") -> list[float]:
    """Minimize the mean squared error of ``model(x)`` against ``y`` with Adam minibatches.

    Args:
        model: maps ``[b, d]`` to ``[b, 1]`` or ``[b]``; already on the data's device.
        x: inputs ``[n, d]``.
        y: targets ``[n]``.
        epochs: passes over the data.
        batch_size: minibatch size.
        learning_rate: Adam learning rate.
        weight_decay: Adam weight decay.
        generator: CPU generator for the shuffling (seeded by the caller).
        desc: progress-bar label.
        lr_schedule: ``"constant"``, or ``"cosine"``: epoch ``e`` of ``E`` uses
            ``learning_rate · (1 + cos(π e / E)) / 2`` (DEMO's reference surrogate).

    Returns:
        The mean training loss of each epoch.
    """
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    n = x.shape[0]
    history = []
    model.train()
    for epoch in progress(range(epochs), desc=desc):
        if lr_schedule == "cosine":
            for group in opt.param_groups:
                group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        perm = torch.randperm(n, generator=generator).to(x.device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            pred = model(x[idx]).reshape(-1)
            loss = ((pred - y[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append(total / n)
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


def training_spearman(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y,
                      batch_size: int = 8192) -> float:
    """Spearman rank correlation (``scipy.stats.spearmanr``) of ``predict(x)`` with ``y`` on the training rows.

    A cheap fit diagnostic: it says whether the surrogate ranks the data it was trained on, not
    whether it generalizes.
    """
    from scipy.stats import spearmanr

    with torch.no_grad():
        pred = torch.cat([predict(x[i:i + batch_size]).reshape(-1).cpu()
                          for i in range(0, x.shape[0], batch_size)]).numpy()
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y
    rho = spearmanr(pred, y).statistic
    return float(rho)
