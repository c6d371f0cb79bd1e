"""Page faults and time of one training step of a DDOM/DEMO-sized score network (3 hidden layers of 2048, batch
128), torch.optim.Adam's default against the fused kernel, each with glibc's default allocator settings and with
mbo.isolation.keep_freed_memory (what the optimizer's process runs with). Each cell in a fresh process.

    OMP_NUM_THREADS=1 python benchmarks/allocator.py > results/engine/allocator.txt
"""
import os
import subprocess
import sys
import textwrap

CELL = textwrap.dedent("""
    import resource, sys, time
    import torch
    from torch import nn
    from mbo.isolation import keep_freed_memory
    torch.set_num_threads(1)
    torch.manual_seed(0)
    adam, tuned = sys.argv[1], sys.argv[2] == "tuned"
    if tuned:
        assert keep_freed_memory()
    m = nn.Sequential(nn.Linear(34, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 2048),
                      nn.ReLU(), nn.Linear(2048, 32))
    opt = torch.optim.Adam(m.parameters(), lr=1e-4, **({"fused": True} if adam == "fused" else {}))
    x, t = torch.randn(128, 34), torch.randn(128, 32)
    def step():
        loss = (m(x) - t).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for _ in range(5):
        step()
    f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(40):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 40
    print(f"{adam:8s} {'keep_freed_memory' if tuned else 'glibc default':18s} {faults:8.0f} faults/step "
          f"{(time.perf_counter() - t0) / 40 * 1e3:6.1f} ms/step")
""")


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    print("# one training step, 8.5 M parameters, batch 128, 1 thread; minor page faults and wall time per step")
    for adam in ("default", "fused"):
        for tuned in ("default", "tuned"):
            out = subprocess.run([sys.executable, "-c", CELL, adam, tuned], env=env, capture_output=True, text=True,
                                 check=True)
            print(out.stdout.strip())


if __name__ == "__main__":
    main()
