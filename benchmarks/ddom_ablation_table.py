"""Prints the TF-Bind-8 ablation table of REPORT.md from the records (seeds 0-2, Q = 256)."""
import collections
import glob
import json

import numpy as np

d = collections.defaultdict(dict)
for f in glob.glob('results/records/tfbind8/ddom*/*.json'):
    r = json.load(open(f))
    if r['budget'] == 256 and r['seed'] in (0, 1, 2) and r['status'] == 'ok':
        norm = r['summary']['normalized']
        d[r['label']][r['seed']] = (norm['p100'], norm['p50'])
rows = [('ddom[quick]', 'yes', 2.0), ('ddom[quick,use_reweighting=false]', 'no', 2.0),
        ('ddom[quick,gamma=0]', 'yes', 0.0)]
print('| configuration | re-weighting | γ | 100th: seed 0 / 1 / 2 | 100th mean ± std | 50th mean ± std |')
print('|---|---|---|---|---|---|')
for label, rw, g in rows:
    v = np.array([d[label][s] for s in (0, 1, 2)])
    print(f"| `{label}` | {rw} | {g:g} | {' / '.join(f'{x:.3f}' for x in v[:,0])} | "
          f"{v[:,0].mean():.3f} ± {v[:,0].std(ddof=1):.3f} | {v[:,1].mean():.3f} ± {v[:,1].std(ddof=1):.3f} |")
