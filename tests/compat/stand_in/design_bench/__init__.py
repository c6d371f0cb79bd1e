"""A stand-in for the design_bench package: the interface mbo.compat.design_bench.ExternalTask uses.

Mimics design-bench 2.0's shapes and semantics on two small tasks: ``make(name, dataset_kwargs,
oracle_kwargs, relabel)`` returns a task with ``x``, ``y`` ([n, 1] float32), ``is_discrete``,
``input_shape``, ``input_size``, ``input_dtype``, ``num_classes``, ``predict(x) -> [n, 1]`` and a
``dataset`` with ``x_shards``, ``y_shards``, ``dataset_visible_mask``, ``rebuild_dataset`` and
``subsample``. Only for tests; the real package is not installed here.
"""
import numpy as np

WEIGHTS = np.linspace(-1.0, 2.0, 5).astype(np.float32)


def _superconductor():
    x = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
    return x, (x @ WEIGHTS)[:, None].astype(np.float32), None, 80.0


def _toy_discrete():
    x = np.random.default_rng(1).integers(0, 3, size=(200, 4)).astype(np.int32)
    return x, (x == 2).sum(axis=1, keepdims=True).astype(np.float32), 3, 50.0


TASKS = {"Superconductor-RandomForest-v0": _superconductor, "ToyDiscrete-Exact-v0": _toy_discrete}


class Dataset:
    def __init__(self, x_shards, y_shards, num_classes, visible_mask):
        self.x_shards, self.y_shards, self.num_classes = x_shards, y_shards, num_classes
        self.dataset_visible_mask = visible_mask

    def rebuild_dataset(self, x_shards, y_shards, visible_mask):
        return Dataset(x_shards, y_shards, self.num_classes, visible_mask.copy())

    def subsample(self, max_samples=None, distribution=None, max_percentile=100.0, min_percentile=0.0):
        y = np.concatenate(self.y_shards)[:, 0]
        hi = np.percentile(y, max_percentile) if max_percentile < 100 else np.inf
        lo = np.percentile(y, min_percentile) if min_percentile > 0 else -np.inf
        self.dataset_visible_mask = (y <= hi) & (y >= lo)

    @property
    def x(self):
        return np.concatenate(self.x_shards)[self.dataset_visible_mask]

    @property
    def y(self):
        return np.concatenate(self.y_shards)[self.dataset_visible_mask]


class Task:
    def __init__(self, name):
        x, y, num_classes, pct = TASKS[name]()
        self.dataset = Dataset([x[:100], x[100:]], [y[:100], y[100:]], num_classes, np.ones(len(y), bool))
        self.dataset.subsample(max_percentile=pct)
        self.is_discrete = num_classes is not None
        self.input_shape = x.shape[1:]
        self.input_size = int(np.prod(self.input_shape))
        self.input_dtype = x.dtype
        self.num_evaluations = 0

    @property
    def num_classes(self):
        if not self.is_discrete:
            raise ValueError("only supported on discrete datasets")
        return self.dataset.num_classes

    @property
    def x(self):
        return self.dataset.x

    @property
    def y(self):
        return self.dataset.y

    def predict(self, x_batch):
        self.num_evaluations += len(x_batch)
        if self.is_discrete:
            assert np.issubdtype(x_batch.dtype, np.integer)
            return (x_batch == 2).sum(axis=1, keepdims=True).astype(np.float32)
        return (x_batch @ WEIGHTS)[:, None].astype(np.float32)


def make(task_name, dataset_kwargs=None, oracle_kwargs=None, relabel=False):
    if task_name not in TASKS:
        raise ValueError(f"No registered task with name: {task_name}")
    return Task(task_name)
