"""Design-Bench tasks, read natively from design-bench's data files (no TensorFlow needed).

TF-Bind-8: all 4^8 8-mers (SIX6_REF_R1); the oracle is an exact lookup over the full file,
vectorized as a base-4 index into an array. Training set: rows with y ≤ the 50th percentile
(32,898 rows). Normalization over the full file.
"""
from __future__ import annotations

from functools import cached_property
from typing import ClassVar

import numpy as np

from mbo.core import DesignSpace, Task
from mbo.errors import MissingDataError
from tasks import data as _data


def _base_index(x: np.ndarray, vocab: int) -> np.ndarray:
    """Token rows ``[n, L]`` → integers ``sum_i x_i vocab^(L-1-i)``."""
    powers = vocab ** np.arange(x.shape[1] - 1, -1, -1, dtype=np.int64)
    return np.asarray(x, np.int64) @ powers


class DesignBenchTask(Task):
    """A task backed by design-bench shard files ``<folder>/<prefix>-{x,y}-<i>.npy``."""

    folder: ClassVar[str] = ""
    prefix: ClassVar[str] = ""
    num_shards: ClassVar[int] = 1
    max_percentile: ClassVar[float] = 100.0

    def _files(self) -> list[tuple[str, str]]:
        return [(f"{self.folder}/{self.prefix}-x-{i}.npy", f"{self.folder}/{self.prefix}-y-{i}.npy")
                for i in range(self.num_shards)]

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        xs, ys, missing = [], [], []
        for fx, fy in self._files():
            px, py = _data.find_file(fx, self.data_dir), _data.find_file(fy, self.data_dir)
            if px is None or py is None:
                missing += [f for f, p in ((fx, px), (fy, py)) if p is None]
                continue
            xs.append(np.load(px))
            ys.append(np.load(py))
        if missing:
            searched = ", ".join(str(d) for d in _data.search_dirs(self.data_dir))
            raise MissingDataError(
                f"task {self.name!r} needs {len(missing)} missing data file(s), e.g. {missing[0]}; "
                f"searched: {searched}. Fetch them with: mbo data download {self.name} "
                f"(or point --data-dir / MBO_DATA_DIR at a design_bench_data folder)")
        return np.concatenate(xs), np.concatenate(ys).reshape(-1)

    def availability(self) -> tuple[bool, str]:
        missing = [f for pair in self._files() for f in pair if _data.find_file(f, self.data_dir) is None]
        if missing:
            return False, f"data missing ({len(missing)} files); run: mbo data download {self.name}"
        return True, "data found"


class TFBind8(DesignBenchTask):
    """Design-Bench TF-Bind-8 (SIX6_REF_R1): 8-mers of DNA, exact lookup oracle."""

    name = "tfbind8"
    description = "Design-Bench TF-Bind-8 (SIX6_REF_R1), exact lookup oracle, 32,898 training rows"
    space = DesignSpace.discrete(length=8, vocab_size=4)
    folder = "tf_bind_8-SIX6_REF_R1"
    prefix = "tf_bind_8"
    max_percentile = 50.0
    y_min = 0.0
    y_max = 1.0
    data_version = "tfbind8-p50"

    @cached_property
    def _full(self) -> tuple[np.ndarray, np.ndarray]:
        return self._read()

    @cached_property
    def _table(self) -> np.ndarray:
        x, y = self._full
        table = np.full(4**8, np.nan, np.float32)
        table[_base_index(x, 4)] = y  # later rows win, as in design-bench's dict
        return table

    def _load_offline(self):
        x, y = self._full
        keep = y <= np.percentile(y, self.max_percentile)
        return x[keep].astype(np.int64), y[keep]

    def _score(self, x: np.ndarray) -> np.ndarray:
        return self._table[_base_index(x, 4)]
