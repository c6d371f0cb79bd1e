"""Move every record of results/*/records, and of the side studies, into the one store results/records (idempotent).

Per run id the newest ok record is kept (a failed one only if no copy is ok); labels that carried a
work-tracking number are renamed by what differs (mbo.migrate.relabel). Side studies (SIDE_STUDIES: a
label re-run with changed code or config) are folded under labels that name the variant
(mbo.migrate.fold): a run the store holds is not duplicated, each moved record carries a `relabelled` or
`migrated` note. Safe to run again, and on a tree that has both layouts.
Usage: python benchmarks/migrate_one_store.py [RESULTS_DIR] [--dry-run]
"""
import sys
from pathlib import Path

from mbo.migrate import fold, migrate

_NEM_EMA = ("re-run of the MBO quick profile with the EMA decay scaled to the run length (ema_reference_epochs=250, "
            "the quick profile's value since); nem[quick] and bnem[quick] hold the runs made before that rule "
            "(unscaled per-epoch EMA, fixed 10,000-row buffer)")
_NEM_BOTH = ("the MBO quick profile with both run-length rules on (EMA decay scaled, ema_reference_epochs=250; buffer "
             "capacity scaled, buffer_turnover=5.0); the quick profile later kept its buffer (buffer_turnover=None)")
_NEM_ABLATION = ("ablation of the run-length rules: buffer scaled (buffer_turnover=5.0), EMA unscaled "
                 "(ema_reference_epochs=None); its EMA-scaled, buffer-kept runs equal the "
                 "nem[quick,ema_reference_epochs=250] records and are not duplicated")
_DEMO_STEP = ("re-run after the discrete ascent step's default became 1e-2 (ascent_lr_discrete=0.01, the quick "
              "profile's value since); demo[quick] holds the runs at 1e-1")
_DEMO_SIGN = ("Levy re-run that records diagnostics.surrogate_gradient (sign agreement with the exact gradient); "
              "DEMO's candidates equal demo[quick]'s (the discrete step does not act on Levy); grad-ascent-mse's "
              "come from a later commit of the pre-port code than the grad-ascent-mse[quick] records")
_EARLY = ("the first timed quick runs on TF-Bind-8 (seed 0), made before later changes to these optimizers; the "
          "store's records of the plain labels are the later code's (mins: hidden_size 256, since narrowed to 128)")
_SCALE_OUT = ("the null baselines of the executor timing study (benchmarks/sweep_executors.sh, "
              "results/scale-out/NOTES.md); its Branin seed-3 runs are not kept (no other Branin Q = 128 run has "
              "seed 3)")
_BOTH = "buffer_turnover=5.0,ema_reference_epochs=250"

# folder (under RESULTS_DIR) -> (labels of its runs -> the variant's label, why, keep null runs the store lacks)
SIDE_STUDIES = {
    "nem/scaled": ({"nem[quick]": "nem[quick,ema_reference_epochs=250]",
                    "bnem[quick]": "bnem[quick,ema_reference_epochs=250]"}, _NEM_EMA, True),
    "nem/mbo_full_scaling": ({"nem[quick]": f"nem[quick,{_BOTH}]", "bnem[quick]": f"bnem[quick,{_BOTH}]"},
                             _NEM_BOTH, True),
    "nem/scaled_ablation": ({"nem[quick,ema_reference_epochs=none]":
                             "nem[quick,buffer_turnover=5.0,ema_reference_epochs=none]",
                             "nem[quick,buffer_turnover=none]": "nem[quick,ema_reference_epochs=250]"},
                            _NEM_ABLATION, True),
    "demo/step1e-2": ({"demo[quick]": "demo[quick,ascent_lr_discrete=0.01]"}, _DEMO_STEP, True),
    "demo/sign_agreement": ({"demo[quick]": "demo[quick,ascent_lr_discrete=0.01]",
                             "grad-ascent-mse[quick]": "grad-ascent-mse[quick,code={commit}]"}, _DEMO_SIGN, True),
    "baselines/timing_early": ({"autofocused-cbas[quick]": "autofocused-cbas[quick,code={commit}]",
                                "cbas[quick]": "cbas[quick,code={commit}]",
                                "grad-ascent-min[quick]": "grad-ascent-min[quick,code={commit}]",
                                "mins[quick]": "mins[quick,hidden_size=256]"}, _EARLY, True),
    **{f"scale-out/{name}": ({}, _SCALE_OUT, False) for name in ("local-j1", "local-j2", "ray", "slurm-local")},
}

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dry-run"]
    dry = "--dry-run" in sys.argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "results"
    counts = migrate(root, dry_run=dry)
    print(f"{root}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for folder, (labels, why, new_nulls) in SIDE_STUDIES.items():
        if (root / folder / "records").is_dir():
            counts = fold(root, root / folder, labels, why, new_nulls=new_nulls, dry_run=dry)
            print(f"{root / folder}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
