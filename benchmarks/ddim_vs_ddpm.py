"""DDIM at a few step counts against 1,000-step ancestral DDPM sampling, on the shipped reference DDPM.

    python benchmarks/ddim_vs_ddpm.py --n 200 --out benchmarks/results/ddim_vs_ddpm.json

Every sampler draws the same number of class-balanced samples from the same seed, so their FIDs are
comparable with each other (at a small n they are all biased upwards against the 10,000-sample protocol).
Records FID, conditional accuracy and seconds per 1,000 samples, the machine and its load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from genedu.reference import load_reference, reference_info
from genedu.showdown import sample_and_score


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/ddim_vs_ddpm.json")
    args = ap.parse_args()
    load_before = list(os.getloadavg())
    model = load_reference("diffusion")
    rows = []
    for opts in [{"sampler": "ddim", "steps": k} for k in args.ddim_steps] + [{"sampler": "ddpm"}]:
        r = sample_and_score(model, opts, args.n, seed=args.seed)
        rows.append({**opts, "n": args.n, "fid": r["fid"], "conditional_accuracy": r["conditional_accuracy"],
                     "recall": r["recall"], "seconds_per_1000": r["seconds_per_1000"]})
        print(rows[-1])
    ddpm = rows[-1]
    for row in rows[:-1]:
        row["fid_over_ddpm"] = row["fid"] / ddpm["fid"]
        row["speedup_over_ddpm"] = ddpm["seconds_per_1000"] / row["seconds_per_1000"]
    out = {"what": "reference DDPM: DDIM steps against 1,000-step ancestral sampling",
           "reference": {k: reference_info("diffusion")[k] for k in ("command", "trained")},
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                       "torch_threads": torch.get_num_threads(),
                       "load_average_before_after": [load_before, list(os.getloadavg())]},
           "seed": args.seed, "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
