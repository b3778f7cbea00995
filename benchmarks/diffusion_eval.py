"""Evaluate a trained DDPM checkpoint with genedu's protocol: DDIM at several step counts, DDPM ancestral,
and classifier-free guidance scales. Writes one JSON of measured figures (and prints them).

    python benchmarks/diffusion_eval.py --checkpoint /path/ddpm.pt --out benchmarks/results/diffusion_eval.json \
        --n 2000 --steps 10 20 50 100 --guidance 0 1 2 3 5 --guidance-n 1000 --ddpm-n 200

Samples are class-balanced (labels i % 10), drawn from the EMA weights the checkpoint holds, from a
seeded generator; timing is wall clock for sampling only (the machine and its load average are recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def sample_timed(model, n, *, batch, seed, **opts):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    out, started = [], time.perf_counter()
    for i in range(0, n, batch):
        out.append(model.sample(len(labels[i:i + batch]), labels=labels[i:i + batch], generator=g, **opts))
    return torch.cat(out), labels, time.perf_counter() - started


def pixel_measures(x, labels, reference) -> dict:
    """Lesson 03's measures: mean distance to the nearest of 10,000 training digits, the 1-NN label's
    accuracy on the requested class, and the mean distance between two samples of the same class."""
    d = torch.cdist(x.flatten(1).float(), reference.float().flatten(1))
    dist, idx = d.min(1)
    spread = []
    for c in labels.unique():
        xc = x[labels == c].flatten(1).float()
        spread.append(torch.cdist(xc, xc).sum() / (len(xc) * (len(xc) - 1)))
    return {"nn_distance": dist.mean().item(), "nn_accuracy": (reference.labels[idx] == labels).float().mean().item(),
            "diversity": torch.stack(spread).mean().item()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=2000, help="samples per DDIM step count")
    p.add_argument("--steps", type=int, nargs="*", default=[10, 20, 50, 100])
    p.add_argument("--guidance", type=float, nargs="*", default=[0.0, 1.0, 2.0, 3.0, 5.0])
    p.add_argument("--guidance-n", type=int, default=1000)
    p.add_argument("--guidance-steps", type=int, default=20)
    p.add_argument("--ddpm-n", type=int, default=200, help="samples for DDPM ancestral (0: skip)")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--real-n", type=int, default=2000, help="test digits and noise images for the calibration rows")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples-dir", help="keep the samples (and their timing) here; reuse them when present")
    p.add_argument("--sample-only", action="store_true", help="draw and keep the samples, evaluate nothing")
    args = p.parse_args(argv)

    from genedu.checkpoint import load_model, read_checkpoint

    evaluate_samples = None
    if not args.sample_only:
        try:
            from genedu.evaluate import evaluate_samples
        except ImportError as e:  # the pixel-space measures below are computed in any case
            print(f"genedu.evaluate unavailable ({e}); recording the pixel-space measures only", flush=True)
    from genedu.data import load_mnist

    reference = load_mnist("train").subset(torch.arange(10_000))  # as lesson 03's nearest_train

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    model = load_model(args.checkpoint)  # EMA weights
    state = read_checkpoint(args.checkpoint)["state"]
    result = {"checkpoint": str(args.checkpoint), "train_step": state.get("step"), "train_images": state.get("images"),
              "train_seconds": state.get("seconds"), "seed": args.seed, "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "runs": []}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def draw(tag, n, **opts):
        path = Path(args.samples_dir) / f"{tag}.pt" if args.samples_dir else None
        if path is not None and path.is_file():
            d = torch.load(path, weights_only=True)
            return d["x"].float(), d["labels"], d["seconds"]
        x, lab, s = sample_timed(model, n, batch=args.batch, seed=args.seed, **opts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"x": x.half(), "labels": lab, "seconds": s}, path)  # [-1, 1] in half precision
            print(f"{tag}: {n} samples in {s:.1f} s", flush=True)
        return x, lab, s

    def record(name, x, labels, seconds, **extra):
        if args.sample_only:
            return
        rep = pixel_measures(x, labels, reference)
        if evaluate_samples is not None:
            rep |= evaluate_samples(x, labels=labels, sample_seconds=seconds).as_dict()
        row = {"sampler": name, "n": len(x), "seconds": seconds,
               "s_per_1000": None if seconds is None else seconds / len(x) * 1000,
               "load_avg": os.getloadavg()[0], **extra, **{k: v for k, v in rep.items() if isinstance(v, (int, float))}}
        result["runs"].append(row)
        print(json.dumps(row), flush=True)
        out.write_text(json.dumps(result, indent=1))

    if args.real_n:  # calibration rows: real test digits, and noise
        from genedu.data import load_mnist as _lm

        test = _lm("test")
        lab = test.labels[:args.real_n]
        record("real test digits", test.float(torch.arange(args.real_n)), lab, None)
        noise = torch.randn(args.real_n, 1, 28, 28, generator=torch.Generator().manual_seed(args.seed)).clamp(-1, 1)
        record("noise", noise, lab, None)
    for k in args.steps:
        x, lab, s = draw(f"ddim{k}", args.n, sampler="ddim", steps=k, eta=0.0)
        record("ddim", x, lab, s, steps=k, eta=0.0, guidance=None)
    for w in args.guidance:
        x, lab, s = draw(f"ddim{args.guidance_steps}_w{w:g}", args.guidance_n, sampler="ddim",
                         steps=args.guidance_steps, guidance=w)
        record("ddim", x, lab, s, steps=args.guidance_steps, eta=0.0, guidance=w)
    if args.ddpm_n:
        x, lab, s = draw("ddpm", args.ddpm_n, sampler="ddpm")
        record("ddpm", x, lab, s, steps=model.config.T, guidance=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
