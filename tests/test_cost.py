"""``mbo.cost``: metered loops project the time of the items they skip."""
from __future__ import annotations

import pytest

from mbo import cost
from mbo.cost import estimating, metered


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: ``clock.work(s)`` advances it by ``s`` seconds."""

    class Clock:
        t = 0.0

        def work(self, s: float) -> None:
            self.t += s

    c = Clock()
    monkeypatch.setattr(cost, "_now", lambda: c.t)
    return c


def _fit(clock, epochs=20, steps=100):
    for _ in metered(range(1000), "a"):
        clock.work(0.001)
    for _ in metered(range(epochs), "epochs"):
        clock.work(0.002)
        for _ in metered(range(steps), "inner"):
            clock.work(0.0005)


def test_projection_equals_the_full_run(clock):
    _fit(clock)
    full = clock.t
    clock.t = 0.0
    with estimating(steps=3, min_seconds=0.01) as est:
        _fit(clock)
    assert clock.t < full / 5  # it ran a fraction of the items
    assert clock.t + est.extra_seconds == pytest.approx(full, rel=1e-9)
    assert est.loops["inner"].total == 100 and est.loops["inner"].seconds_per_item == pytest.approx(0.0005)
    assert not est.loops["epochs"].leaf


def test_the_flop_counted_item_is_booked_at_the_measured_rate(clock, monkeypatch):
    """The FLOP counter sends every op through Python: that item ran slower than the others, and
    the projection must not carry its slowness (a loop of few long items, like BO rounds, did)."""
    import contextlib

    @contextlib.contextmanager
    def slow_counter():
        clock.slow = 10.0
        try:
            yield type("Counter", (), {"total": 0})()
        finally:
            clock.slow = 1.0

    clock.slow = 1.0
    monkeypatch.setattr(cost, "_flop_counter", slow_counter)

    def rounds():
        for _ in metered(range(10), "rounds"):
            clock.work(2.0 * clock.slow)

    with estimating(steps=3, min_seconds=0.0) as est:
        rounds()
    assert clock.t + est.extra_seconds == pytest.approx(20.0)


def test_a_periodic_update_is_timed_in_its_share(clock):
    """MINs updates its generator every 10th critic step: timing items 2-4 missed it."""
    from mbo.nn.surrogate import minibatch_loop

    def fit():
        def step(idx, epoch, batch):
            clock.work(0.2 + (0.1 if batch % 10 == 0 else 0.0))
            return 0.0
        minibatch_loop(128 * 100, step, epochs=20, batch_size=128, desc="gan", period=10)

    fit()
    full, clock.t = clock.t, 0.0
    with estimating(steps=3, min_seconds=0.5) as est:
        fit()
    assert est.loops["gan"].seconds_per_item == pytest.approx(0.21)
    assert clock.t + est.extra_seconds == pytest.approx(full, rel=1e-3)  # (the first period had its update too)


def test_outside_estimating_every_item_runs(clock):
    assert len(list(metered(range(50), "x"))) == 50


def test_caller_leaving_early_books_nothing_skipped(clock):
    with estimating(steps=2, min_seconds=0.0) as est:
        for i in metered(range(100), "conv"):
            clock.work(1.0)
            if i == 1:
                break
    assert est.extra_seconds == 0.0


def test_flops_are_counted_on_an_innermost_loop():
    import torch

    a = torch.randn(8, 16)
    b = torch.randn(16, 4)
    with estimating(steps=1, min_seconds=0.0) as est:
        for _ in metered(range(10), "mm"):
            a @ b
    assert est.loops["mm"].flops_per_item == 2 * 8 * 16 * 4
    assert est.flops == pytest.approx(10 * 2 * 8 * 16 * 4)


def test_estimating_does_not_nest():
    with estimating(), pytest.raises(RuntimeError), estimating():
        pass


OPTIMIZERS = sorted(__import__("mbo.registry", fromlist=["names"]).names("optimizer"))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_supports_estimate(name):
    from mbo.cost import estimate_run
    from mbo.harness import optimizer_class, plan

    from .conftest import TINY_TASKS

    cls = optimizer_class(name)
    task = next((t() for t in TINY_TASKS if cls.supports(t.space)[0]), None)
    profile = "smoke" if "smoke" in cls.profiles else "quick"
    est = estimate_run(plan(task, name, seed=0, budget=8, profile=profile, device="cpu"))
    assert est["fit_s"] >= 0 and est["propose_s"] >= 0 and est["matmul_flops_per_s"] > 0


def test_cli_estimate_writes_no_record(tmp_path):
    from click.testing import CliRunner

    from mbo.cli import main

    res = CliRunner().invoke(main, ["run", "-t", "tests/conftest.py:TinyDiscrete", "-o", "grad-ascent", "--profile",
                                    "quick", "--set", "epochs=2", "--estimate", "--results-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "fit      ≈" in res.output and "no record written" in res.output
    assert not list(tmp_path.rglob("*.json"))
