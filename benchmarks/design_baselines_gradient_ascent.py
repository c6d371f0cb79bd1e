"""design-baselines' gradient ascent, as a design-bench-style ``solve(task, budget, seed)``.

Source: brandontrabucco/design-baselines, ``design_baselines/gradient_ascent/__init__.py``
(``gradient_ascent(config)``, the ``use_vae=False`` branch), ``nets.py`` (``ForwardModel``),
``trainers.py`` (``MaximumLikelihood``), ``data.py`` (``build_pipeline``), with the published
TF-Bind-8 configuration of ``gradient_ascent/experiments.py``. The original is TensorFlow 2 and
cannot run here, so it is translated line by line to PyTorch; the design-bench task calls are the
original's, in its order (``map_normalize_y``, ``map_to_logits``, ``map_normalize_x``, ``task.x``,
``task.y``, ``input_shape``). Dropped: logging, and the final ``task.predict`` (the harness
scores the returned designs; inside ``solve`` the oracle is closed).

``solve`` uses the published configuration; ``solve_quick`` the same with ``hidden_size=256`` and
``epochs=10`` (the CPU budget of mbo's ``grad-ascent[quick]``), so its label says ``solve_quick``.

    mbo run --task tfbind8 --optimizer benchmarks/design_baselines_gradient_ascent.py:solve_quick
"""
import numpy as np
import torch

PUBLISHED_TFBIND8 = {"normalize_ys": True, "normalize_xs": True, "val_size": 200, "batch_size": 128,
                     "epochs": 100, "hidden_size": 2048, "initial_max_std": 0.2, "initial_min_std": 0.1,
                     "forward_model_lr": 0.0003, "solver_lr": 0.01, "solver_steps": 200}
CPU = {"hidden_size": 256, "epochs": 10}


class ForwardModel(torch.nn.Module):
    """nets.ForwardModel: Flatten, [Dense(hidden), LeakyReLU] x 2, Dense(2) -> mean, bounded log-std."""

    def __init__(self, input_size, hidden_size, initial_max_std, initial_min_std):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(input_size, hidden_size), torch.nn.LeakyReLU(0.3),
                                       torch.nn.Linear(hidden_size, hidden_size), torch.nn.LeakyReLU(0.3),
                                       torch.nn.Linear(hidden_size, 2))
        for layer in self.net:
            if isinstance(layer, torch.nn.Linear):   # Keras Dense: Glorot uniform, zero bias
                torch.nn.init.xavier_uniform_(layer.weight)
                torch.nn.init.zeros_(layer.bias)
        self.max_logstd = torch.nn.Parameter(torch.full((1, 1), float(np.log(initial_max_std))))
        self.min_logstd = torch.nn.Parameter(torch.full((1, 1), float(np.log(initial_min_std))))

    def get_distribution(self, x):
        mean, logstd = self.net(x.flatten(1)).chunk(2, dim=-1)
        logstd = self.max_logstd - torch.nn.functional.softplus(self.max_logstd - logstd)
        logstd = self.min_logstd + torch.nn.functional.softplus(logstd - self.min_logstd)
        return torch.distributions.Normal(mean, logstd.exp())


def gradient_ascent(task, config, solver_samples):
    if config["normalize_ys"]:
        task.map_normalize_y()
    if task.is_discrete:
        task.map_to_logits()
    if config["normalize_xs"]:
        task.map_normalize_x()
    x = torch.as_tensor(task.x)
    y = torch.as_tensor(task.y)

    fm = ForwardModel(int(np.prod(x.shape[1:])), config["hidden_size"], config["initial_max_std"],
                      config["initial_min_std"])
    solver_lr = config["solver_lr"] * np.sqrt(np.prod(x.shape[1:]))

    # build_pipeline(x, y, batch_size, val_size, bootstraps=1): shuffle, hold out val_size rows,
    # bootstrap counts as per-row weights of the training loss
    indices = np.random.permutation(len(x))
    train = indices[config["val_size"]:]
    size = len(train)
    b = torch.as_tensor(np.bincount(np.random.randint(0, size, size), minlength=size), dtype=torch.float32)
    optim = torch.optim.Adam(fm.parameters(), lr=config["forward_model_lr"])
    for epoch in range(config["epochs"]):           # MaximumLikelihood.train_step over shuffled batches
        for batch in torch.randperm(size).split(config["batch_size"]):
            rows = train[batch.numpy()]
            nll = -fm.get_distribution(x[rows]).log_prob(y[rows])[:, 0]
            loss = (b[batch] * nll).sum() / b[batch].sum().clamp_min(1e-12)
            optim.zero_grad()
            loss.backward()
            optim.step()

    # select the top k initial designs from the dataset, then solver_steps of gradient ascent
    solution = x[torch.topk(y[:, 0], k=solver_samples).indices].clone()
    for _ in range(config["solver_steps"]):
        solution.requires_grad_(True)
        score = fm.get_distribution(solution).mean
        grads, = torch.autograd.grad(score.sum(), solution)
        solution = (solution + solver_lr * grads).detach()
    return solution.numpy()                           # in the task's format: normalized logits


def solve(task, budget, seed):
    """design-baselines' gradient ascent, published TF-Bind-8 configuration (PyTorch port)."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    return gradient_ascent(task, PUBLISHED_TFBIND8, budget)


def solve_quick(task, budget, seed):
    """design-baselines' gradient ascent (PyTorch port), hidden 256 and 10 epochs for a CPU."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    return gradient_ascent(task, {**PUBLISHED_TFBIND8, **CPU}, budget)
