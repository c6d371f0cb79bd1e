"""Design-bench-style gradient ascent: fit an MLP to task.x/task.y, climb it from the top designs."""
import torch


def solve(task, budget, seed):
    torch.manual_seed(seed)
    if task.is_discrete:
        task.map_to_logits()                      # tokens -> Design-Bench logits
    task.map_normalize_x()
    task.map_normalize_y()
    x, y = torch.tensor(task.x).flatten(1), torch.tensor(task.y)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(5):
        for xb, yb in task.iterate_batches(128):
            loss = (model(torch.tensor(xb).flatten(1)) - torch.tensor(yb)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    xs = x[y[:, 0].topk(budget).indices].clone().requires_grad_(True)
    for step in range(50):                        # plain gradient ascent on the surrogate
        grad, = torch.autograd.grad(model(xs).sum(), xs)
        xs = (xs + 0.01 * grad).detach().requires_grad_(True)
    return xs.detach().reshape((budget,) + task.input_shape)   # as task.predict would take it
