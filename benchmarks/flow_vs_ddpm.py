"""Flow matching against DDPM on the same network and training budget: FID against sampler steps.

    python benchmarks/flow_vs_ddpm.py --diffusion runs/refs/diffusion_laptop.pt --flow runs/refs/flow_laptop.pt \
        --n 10000 --out benchmarks/results/flow_vs_ddpm.json

Both checkpoints are `genedu reference` (or `genedu train`) training checkpoints of the `laptop` presets,
which share the 126 k-parameter UNet; their EMA weights are scored. Each sampler setting draws `--n`
class-balanced samples from a generator seeded `--seed` and is scored with the evaluation suite. The target:
flow matching at 10 steps scores at least as well as DDIM at 50 steps.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


DIFFUSION = [{"sampler": "ddim", "steps": 50}, {"sampler": "ddim", "steps": 10}, {"sampler": "dpm", "steps": 10},
             {"sampler": "dpm", "steps": 20}]
FLOW = [{"method": "euler", "steps": 10}, {"method": "heun", "steps": 5}, {"method": "heun", "steps": 10},
        {"method": "euler", "steps": 20}]
CALLS = {"ddim": 1, "dpm": 1, "euler": 1, "midpoint": 2, "heun": 2}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--diffusion", required=True, help="training checkpoint of the diffusion laptop preset")
    p.add_argument("--flow", required=True, help="training checkpoint of the flow laptop preset")
    p.add_argument("--n", type=int, default=10_000, help="samples per setting (10,000 for the protocol)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/flow_vs_ddpm.json")
    p.add_argument("--target-only", action="store_true",
                   help="score only the target's two settings (DDIM 50 steps, flow Euler 10 steps): a quarter of the time")
    args = p.parse_args(argv)
    diffusion_settings, flow_settings = ((DIFFUSION[:1], FLOW[:1]) if args.target_only else (DIFFUSION, FLOW))
    if args.n < 100:
        p.error("--n must be at least 100")
    from genedu.checkpoint import load_model, read_checkpoint
    from genedu.showdown import sample_and_score

    rows = []
    for path, settings in ((args.diffusion, diffusion_settings), (args.flow, flow_settings)):
        model = load_model(path)  # the EMA weights when the checkpoint has them
        state = read_checkpoint(path)["state"]
        trained = {k: state.get(k) for k in ("step", "images", "seconds", "seed")}
        for o in settings:
            r = sample_and_score(model, o, args.n, seed=args.seed)
            key = o.get("sampler", o.get("method"))
            rows.append({"family": model.family, "sample_options": o, "network_calls": o["steps"] * CALLS[key],
                         "trained": trained, **{k: r[k] for k in ("n", "fid", "inception_score", "precision",
                                                                  "recall", "class_kl", "conditional_accuracy",
                                                                  "seconds_per_1000") if k in r}})
            print(json.dumps(rows[-1]), flush=True)
    fid = {(r["family"], json.dumps(r["sample_options"], sort_keys=True)): r["fid"] for r in rows}
    flow10 = min(fid[("flow", json.dumps(o, sort_keys=True))] for o in flow_settings if o["steps"] == 10)  # Euler or Heun
    flow10_calls = min(fid[("flow", json.dumps(o, sort_keys=True))] for o in flow_settings
                       if o["steps"] * CALLS[o["method"]] <= 10)  # at most 10 network calls
    ddim50 = fid[("diffusion", json.dumps({"sampler": "ddim", "steps": 50}, sort_keys=True))]
    from genedu.utils import describe_machine

    out = {"machine": describe_machine("cpu"),
           "seed": args.seed, "n_samples": args.n, "command": "python benchmarks/flow_vs_ddpm.py "
           + " ".join(a if not Path(a).is_absolute() else Path(a).name for a in (argv if argv is not None else sys.argv[1:])),
           "checkpoints": {"diffusion": Path(args.diffusion).name, "flow": Path(args.flow).name},
           "rows": rows,
           "target": {"flow_best_at_10_steps": flow10, "flow_best_at_10_network_calls": flow10_calls,
                      "ddim_50": ddim50, "met": flow10 <= ddim50, "met_at_10_network_calls": flow10_calls <= ddim50}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["target"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
