"""The optimizer's process flushes subnormal floats to zero (mbo.isolation.flush_subnormals): a dead ReLU
unit's Adam moments otherwise stay subnormal for good, and every step on them takes the CPU's slow path."""
import platform

import pytest

import mbo

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@pytest.mark.skipif(not X86, reason="FTZ/DAZ: x86 with SSE3")
def test_the_optimizers_process_flushes_subnormals_in_every_thread(tmp_path):
    rec = mbo.run("tests/conftest.py:TinyContinuous", "tests/faulty.py:SubnormalProbe", budget=4, device="cpu",
                  results_dir=tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    probe = rec["diagnostics"]["optimizer"]
    assert probe == {"subnormals_kept": 0, "adam_moment": 0.0}
    assert rec["subnormals"] == "flushed"


@pytest.mark.skipif(not X86, reason="FTZ/DAZ: x86 with SSE3")
def test_without_flushing_a_dead_units_adam_moment_stays_subnormal(tmp_path):
    """What the flush is for: in a process that keeps torch's default (here, an ``in_process`` run in the
    test process), the moment decays to a few units in the last place and stops there, never 0."""
    rec = mbo.run("tests/conftest.py:TinyContinuous", "tests/faulty.py:SubnormalProbe", budget=4, device="cpu",
                  results_dir=tmp_path, in_process=True)
    assert rec["status"] == "ok", rec.get("error")
    probe = rec["diagnostics"]["optimizer"]
    assert 0 < probe["adam_moment"] < 1.2e-38
    assert probe["subnormals_kept"] > 0
    assert rec["subnormals"] == "kept"
