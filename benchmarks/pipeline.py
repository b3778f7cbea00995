"""Training images per second of the seed MLP VAE through the original notebook's data pipeline
(torchvision MNIST + ToTensor/Normalize + DataLoader, batch 128, shuffle) and through genedu's
in-memory batches, side by side in one run. Writes JSON with the machine, torch version and seed.

    python benchmarks/pipeline.py [--epochs 1] [--repeats 3] [--out benchmarks/results/pipeline.json]

genedu's figure includes its one-off load from disk (decode + sha256 check), so the comparison is of
a whole epoch as a learner would run it. Repeats alternate the two pipelines; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import genedu
from genedu import speed


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": sys.version.split()[0],
            "torch": torch.__version__, "genedu": genedu.__version__,
            "cuda": torch.cuda.is_available(), "load_average_1min_at_start": os.getloadavg()[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=float, default=1.0, help="epochs per measurement (1 = 469 batches)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "pipeline.json"))
    args = p.parse_args(argv)
    max_batches = round(args.epochs * 469)
    runs = {"original": [], "genedu": []}
    for r in range(args.repeats):
        o = speed.original_pipeline_speed(max_batches=max_batches, seed=args.seed + r)
        g = speed.genedu_pipeline_speed(max_batches=max_batches, seed=args.seed + r)
        runs["original"].append(o["images_per_second"])
        runs["genedu"].append(g["images_per_second"])
        print(f"repeat {r}: original {o['images_per_second']:,.0f} img/s, genedu {g['images_per_second']:,.0f} img/s")
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {
        "benchmark": "pipeline",
        "what": "training images/s of the seed MLP VAE (784-400-20, Adam 1e-3, batch 128) per data pipeline",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "budget": {"batches_per_measurement": max_batches, "batch_size": 128, "repeats": args.repeats},
        "seed": args.seed,
        "images_per_second": {"original_dataloader": med["original"], "genedu_in_memory": med["genedu"]},
        "all_runs": runs,
        "data_only_images_per_second": speed.data_only_speed(max_batches=max_batches),
        "ratio_genedu_over_original": med["genedu"] / med["original"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"genedu / original = {result['ratio_genedu_over_original']:.2f}x  ->  {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
