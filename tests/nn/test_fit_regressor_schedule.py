"""fit_regressor's learning-rate schedules (DEMO's surrogate uses the per-epoch cosine decay)."""
from __future__ import annotations

import math

import pytest
import torch

from mbo.nn import fit_regressor


def _record_lrs(monkeypatch) -> list[float]:
    seen: list[float] = []

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "Adam", Recording)
    return seen


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_lr_per_epoch(monkeypatch, schedule):
    seen = _record_lrs(monkeypatch)
    x = torch.randn(8, 3)
    y = x.sum(1)
    model = torch.nn.Linear(3, 1)
    history = fit_regressor(model, x, y, epochs=4, batch_size=4, learning_rate=0.1, lr_schedule=schedule,
                            generator=torch.Generator().manual_seed(0))
    assert len(history) == 4 and len(seen) == 8  # two minibatches per epoch
    if schedule == "constant":
        expected = [0.1] * 4
    else:
        expected = [0.1 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]  # 0.1, .085, .05, .015
    assert seen[::2] == pytest.approx(expected) and seen[1::2] == pytest.approx(expected)


def test_cosine_still_fits_and_bad_schedule_is_refused():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=gen)
    y = 2 * x[:, 0] - x[:, 1]
    torch.manual_seed(0)
    history = fit_regressor(torch.nn.Linear(2, 1), x, y, epochs=30, batch_size=32, learning_rate=0.05,
                            lr_schedule="cosine", generator=gen)
    assert history[-1] < 0.01 * history[0]
    with pytest.raises(ValueError, match="lr_schedule"):
        fit_regressor(torch.nn.Linear(2, 1), x, y, epochs=1, lr_schedule="step")
