"""A training step of a DDOM/DEMO-sized score network (3 hidden layers of 2048, batch 128, fused Adam) whose
second hidden layer is two thirds dead, with Adam's first moments of the dead units' weights in the
subnormal range (where 800 steps without gradient leave them: m · 0.9^800), with subnormals kept (torch's
default) and flushed (mbo.isolation.flush_subnormals), on 1 and 2 threads. Each case runs in a fresh
process, so that the flag is set before OpenMP starts its threads.
``python benchmarks/subnormals.py`` (results/engine/subnormals.txt)."""
import subprocess
import sys

CASE = r"""
import sys, time, torch
threads, flush = int(sys.argv[1]), sys.argv[2] == "1"
if flush:
    from mbo.isolation import flush_subnormals
    flush_subnormals()
torch.set_num_threads(threads)
torch.manual_seed(0)
from torch import nn
from mbo.nn.optim import adam
m = nn.Sequential(nn.Linear(34, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                  nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 32))
opt = adam(m.parameters(), lr=1e-4)
x, target = torch.randn(128, 34), torch.randn(128, 32)

def step():
    loss = (m(x) - target).pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()

for _ in range(5):
    step()
dead = torch.rand(2048) < 2 / 3  # units of the second hidden layer that stop firing
with torch.no_grad():
    m[2].bias[dead] = -1e3
    for p in (m[2].weight, m[2].bias):
        opt.state[p]["exp_avg"][dead] *= 0.9 ** 800  # what 800 steps without gradient leave (subnormal)
    opt.state[m[4].weight]["exp_avg"][:, dead] *= 0.9 ** 800
tiny = torch.finfo(torch.float32).tiny
sub = sum(int(((s["exp_avg"].abs() < tiny) & (s["exp_avg"] != 0)).sum()) for s in opt.state.values())
n = sum(p.numel() for p in m.parameters())
times = []
for _ in range(30):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
times.sort()
print(f"threads {threads}  subnormals {'flushed' if flush else 'kept   '}  step {1e3 * times[len(times) // 2]:6.1f} ms "
      f"(median of 30)  subnormal first moments before timing: {sub / n:.0%} of {n / 1e6:.1f} M")
"""


def main() -> None:
    print(f"# {sys.version.split()[0]}, torch {__import__('torch').__version__}")
    for threads in (1, 2):
        for flush in ("0", "1"):
            out = subprocess.run([sys.executable, "-c", CASE, str(threads), flush], capture_output=True, text=True)
            print(out.stdout.strip() or out.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
