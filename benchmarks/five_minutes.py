"""A learner's five minutes: `genedu train --model M --preset laptop --seconds 300`, then 2,000 samples scored.

    python benchmarks/five_minutes.py --models diffusion gan --out benchmarks/results/five_minutes.json

Runs the CLI itself for each family (so the preset's recipe and a VAE's learned prior apply as a learner
gets them), samples the checkpoint with the family's default sampler (`genedu sample`, as the references
record it for diffusion and flow) and scores the samples. The targets: FID <= 40 on 2,000 samples and
every digit at least 5 % of them. Run it on an otherwise idle machine: the budget is wall-clock seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

SAMPLERS = {"diffusion": ["--sampler", "dpm", "--steps", "20"], "flow": ["--method", "euler", "--steps", "10"],
            "vae": [], "gan": []}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(SAMPLERS), choices=list(SAMPLERS))
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--out", default="benchmarks/results/five_minutes.json")
    args = p.parse_args(argv)
    import numpy as np
    import torch

    from genedu.cli import main as genedu
    from genedu.evaluate import evaluate_samples
    from genedu.utils import describe_machine

    rows = {}
    with tempfile.TemporaryDirectory() as work:
        for m in args.models:
            ckpt, npz = Path(work) / f"{m}.pt", Path(work) / f"{m}.npz"
            if genedu(["train", "--model", m, "--preset", "laptop", "--seconds", str(args.seconds), "--out", str(ckpt)]):
                raise SystemExit(f"genedu train failed for {m}")
            state = torch.load(ckpt, weights_only=True)["state"]
            if genedu(["sample", "--model", m, "--checkpoint", str(ckpt), "--n", str(args.n), "--out", str(npz),
                       *SAMPLERS[m]]):
                raise SystemExit(f"genedu sample failed for {m}")
            data = np.load(npz)
            r = evaluate_samples(torch.from_numpy(data["samples"]), with_calibration=False)
            hist = r["class_histogram"]
            rows[m] = {"command": f"genedu train --model {m} --preset laptop --seconds {args.seconds:g} --out {m}.pt",
                       "sampler": " ".join(SAMPLERS[m]) or "default", "steps": state["step"],
                       "images": state["images"], "seconds": round(state["seconds"], 1), "n": r["n"],
                       "fid": r["fid"], "class_histogram": hist, "min_share": min(hist),
                       "target_met": r["fid"] <= 40 and min(hist) >= 0.05}
            print(m, json.dumps(rows[m]), flush=True)
    # families run another time (one family per run, on an idle machine) keep their rows
    old = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    if old.get("budget") == f"seconds={args.seconds:g}":
        rows = {**old.get("rows", {}), **rows}
    out = {"machine": describe_machine("cpu"), "seed": 0, "budget": f"seconds={args.seconds:g}", "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
