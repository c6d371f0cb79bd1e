"""One Adam training step of a DDOM/DEMO-sized score network (3 hidden layers of 2048, batch 128) with
torch.optim.Adam's default, foreach and fused implementations: the step, its forward + backward, and the
difference (the optimizer's update). ``OMP_NUM_THREADS=1 python benchmarks/fused_adam.py``
(results/engine/fused_adam.txt)."""
import time

import torch
from torch import nn


def net() -> nn.Module:
    return nn.Sequential(nn.Linear(34, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                         nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 32))


def main(n: int = 40) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, target = torch.randn(128, 34), torch.randn(128, 32)
    for kind in ("default", "foreach", "fused", "default", "fused"):
        m = net()
        opt = torch.optim.Adam(m.parameters(), lr=1e-4, **({} if kind == "default" else {kind: True}))

        def forward_backward():
            loss = (m(x) - target).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()

        for _ in range(5):
            forward_backward()
            opt.step()
        t = time.perf_counter()
        for _ in range(n):
            forward_backward()
            opt.step()
        step = (time.perf_counter() - t) / n
        t = time.perf_counter()
        for _ in range(n):
            forward_backward()
        fb = (time.perf_counter() - t) / n
        print(f"{kind:8s} step {step * 1e3:.1f} ms   fwd+bwd {fb * 1e3:.1f} ms   "
              f"optimizer ≈ {(step - fb) * 1e3:.1f} ms  params {sum(p.numel() for p in m.parameters()) / 1e6:.1f}M")


if __name__ == "__main__":
    main()
