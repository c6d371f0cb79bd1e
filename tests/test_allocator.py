"""The optimizer's process keeps freed memory (mbo.isolation.keep_freed_memory): a training step's large
temporaries no longer fault in fresh pages from the kernel."""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

import mbo
from mbo.isolation import keep_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's defaults
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _faults(tuned: bool) -> float:
    script = textwrap.dedent(f"""
        import sys
        import torch
        torch.set_num_threads(1)
        sys.path.insert(0, "tests")
        from faulty import training_step_faults
        from mbo.isolation import keep_freed_memory
        if {tuned}:
            assert keep_freed_memory()
        print(training_step_faults())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return float(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_keep_freed_memory_stops_a_training_step_from_faulting_in_fresh_pages():
    default, tuned = _faults(False), _faults(True)
    assert default > 2000  # glibc returns the step's big temporaries to the kernel and faults them back in
    assert tuned < 500


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_the_optimizers_process_keeps_freed_memory(tmp_path):
    rec = mbo.run("tests/conftest.py:TinyContinuous", "tests/faulty.py:AllocProbe", budget=4, device="cpu",
                  results_dir=tmp_path)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["diagnostics"]["optimizer"]["faults_per_step"] < 500


def test_keep_freed_memory_says_whether_it_applied():
    assert keep_freed_memory() is GLIBC
