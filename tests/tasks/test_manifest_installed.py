"""The checksum manifest is read from the installed package (mbo.tasks), not a top-level ``tasks``
folder that only happens to be importable when the working directory is the repository root."""
from __future__ import annotations

import subprocess
import sys


def test_manifest_loads_outside_the_repository(tmp_path):
    code = ("from mbo.tasks import data; m = data.manifest(); "
            "assert any(k.startswith('tf_bind_10-pho4') for k in m), list(m)[:3]; print(len(m))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.strip()) > 100
