"""Quality per budget for each family: the showdown at a chosen budget, condensed to one JSON.

    python benchmarks/showdown.py --images 275000 --seeds 1 --samples 2000 --work runs/showdown \
        --out benchmarks/results/showdown.json

Runs `genedu.showdown.showdown` (resumable: rerun with the same --work after an interruption), then
writes the settings, the machine, the calibration rows, the mean and spread of every figure per
contender, the quality-against-budget curves, the DDIM curve, the FID ratio of each family's seed preset
to its proper preset, and the issue's targets each marked met or not, measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genedu import showdown as S


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=275_000, help="images seen per model and seed")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 25, 50])
    ap.add_argument("--ddim-samples", type=int, default=1000)
    ap.add_argument("--work", required=True, help="the showdown's folder (checkpoints, report, figures)")
    ap.add_argument("--out", default="benchmarks/results/showdown.json")
    args = ap.parse_args()

    res = S.showdown(images=args.images, seeds=args.seeds, n_samples=args.samples, stages=args.stages,
                     ddim_steps=tuple(args.ddim_steps), ddim_samples=args.ddim_samples, out=args.work)
    summary = res["summary"]
    ratios = S.seed_ratios(summary)
    targets = {f"{fam}: proper preset's FID at least 20x better than the seed preset's": {
        "measured_ratio": round(r, 2), "met": r >= 20} for fam, r in ratios.items()}
    for key, v in summary.items():
        if v["preset"] != "seed":
            kl = v["class_kl"]["mean"]
            targets[f"{key}: class KL under 0.01"] = {"measured": round(kl, 4), "met": kl < 0.01}
    keep = ("family", "preset", "label", "seed", "parameters", "images_seen", "train_seconds", "curve", "steps_curve",
            "fid", "kid", "inception_score", "class_kl", "class_histogram", "precision", "recall", "density",
            "coverage", "conditional_accuracy", "seconds_per_1000", "nll_nats", "nll_setting", "near_copy_share")
    out = {
        "what": "genedu showdown: every family's seed and proper preset under the same images-seen budget",
        "command": f"python benchmarks/showdown.py --images {args.images} --seeds {args.seeds} --samples {args.samples} "
                   f"--stages {args.stages} --ddim-steps {' '.join(map(str, args.ddim_steps))} "
                   f"--ddim-samples {args.ddim_samples} --work {args.work}",
        "settings": res["settings"],
        "machine": res["machine"],
        "calibration": [{k: c[k] for k in ("name", "n", "fid", "kid", "inception_score", "class_kl", "precision",
                                         "recall")} for c in res["calibration"]],
        "summary": summary,
        "seed_over_proper_fid": ratios,
        "targets": targets,
        "verdicts": res["verdicts"],
        "runs": [{k: r[k] for k in keep if k in r} for r in res["runs"]],
    }
    Path(args.out).write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(S.table_markdown(summary, res["calibration"]))
    print(json.dumps(targets, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
