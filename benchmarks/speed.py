"""Training and sampling speed of every family's presets, on this machine, written as JSON.

    python benchmarks/speed.py --out benchmarks/results/speed.json [--train-steps 30] [--n 500]

Training: images per second of `fit` (batch 128, the preset's own step: a GAN's holds a D and a G
update) over `--train-steps` steps after 3 warm-up steps. Sampling: images per second of
`model.sample` for `--n` images in batches of 500, for each family's presets and, for the DDPM, for
each DDIM step count and for ancestral DDPM sampling (all 1,000 steps, on fewer images). Speed does not
depend on the weights, so freshly initialised models (seeded) are timed. The machine, torch version,
threads and load average are recorded beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import genedu
from genedu.models.base import MODEL_REGISTRY
from genedu.utils import count_parameters

PRESETS = [("vae", "seed"), ("vae", "conv"), ("gan", "seed"), ("gan", "dcgan"), ("diffusion", "seed"),
           ("diffusion", "ddpm")]


def train_speed(family, preset, data, steps):
    torch.manual_seed(0)
    model = MODEL_REGISTRY[family].from_preset(preset)
    genedu.fit(model, data, steps=3, progress=False, device="cpu")  # warm-up (allocations, first-call costs)
    started = time.perf_counter()
    history = genedu.fit(model, data, steps=steps, progress=False, device="cpu")
    seconds = time.perf_counter() - started
    return {"family": family, "preset": preset, "parameters": count_parameters(model), "steps": steps,
            "images": history.last("images"), "seconds": round(seconds, 2),
            "images_per_second": round(history.last("images") / seconds, 1)}


def sample_speed(model, n, **opts):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 10 if model.conditional else None
    model.sample(min(n, 20), labels=None if labels is None else labels[:20], generator=g, **opts)  # warm-up
    started = time.perf_counter()
    with torch.no_grad():
        for i in range(0, n, 500):
            model.sample(min(500, n - i), labels=None if labels is None else labels[i:i + 500], generator=g, **opts)
    seconds = time.perf_counter() - started
    return {"n": n, "seconds": round(seconds, 2), "images_per_second": round(n / seconds, 2), **opts}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/results/speed.json")
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--n", type=int, default=500, help="images per sampling measurement")
    ap.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 25, 50, 100])
    ap.add_argument("--ddpm-n", type=int, default=50, help="images for ancestral (1,000-step) sampling")
    args = ap.parse_args()
    load_before = list(os.getloadavg())

    data = genedu.load_mnist("train")
    training = [train_speed(f, p, data, args.train_steps) for f, p in PRESETS]
    for r in training:
        print(f"train  {r['family']:9s} {r['preset']:6s} {r['images_per_second']:8.1f} images/s")
    sampling = []
    for family, preset in PRESETS:
        torch.manual_seed(0)
        model = MODEL_REGISTRY[family].from_preset(preset).eval()
        runs = [{}]
        if family == "diffusion" and preset != "seed":
            runs = [{"sampler": "ddim", "steps": k} for k in args.ddim_steps] + [{"sampler": "ddpm"}]
        for opts in runs:
            n = args.ddpm_n if opts.get("sampler") == "ddpm" else args.n
            r = {"family": family, "preset": preset, **sample_speed(model, n, **opts)}
            sampling.append(r)
            print(f"sample {family:9s} {preset:6s} {json.dumps(opts):36s} {r['images_per_second']:8.2f} images/s")
    out = {
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "device": "cpu",
                    "load_average_before_after": [load_before, list(os.getloadavg())]},
        "settings": {"batch_size": "the preset's (128)", "train_steps": args.train_steps, "sample_n": args.n,
                     "ddpm_n": args.ddpm_n, "seed": 0},
        "training": training,
        "sampling": sampling,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
