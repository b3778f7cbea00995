"""Latent flow matching: a flow trained on a VAE's codes, sampled and decoded (the idea behind latent
diffusion), against the same VAE's N(0, I) prior and its Gaussian-mixture prior, on FID and on time.

    python benchmarks/latent_flow.py --n 10000 --out benchmarks/results/latent_flow.json

The VAE is the shipped reference (`genedu.reference.load_reference("vae")`). Its encoder means of the
training images are standardised per dimension, a `genedu.toy.ToyFlow` of the latent size (an MLP
velocity field) is trained on them with the flow-matching loss, and sampling solves its ODE with Heun
steps, then decodes. The target: at least 3x better FID than the N(0, I) prior samples.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="samples per prior (10,000 for the protocol)")
    p.add_argument("--steps", type=int, default=6000, help="training steps of the latent flow")
    p.add_argument("--ode-steps", type=int, default=10, help="Heun steps when sampling")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/latent_flow.json")
    args = p.parse_args(argv)
    if min(args.n, args.steps, args.ode_steps) < 1:
        p.error("--n, --steps and --ode-steps must be positive")
    from genedu.data import load_mnist
    from genedu.evaluate import evaluate_samples
    from genedu.reference import load_reference, reference_info
    from genedu.toy import ToyFlow

    vae = load_reference("vae")
    train = load_mnist("train")
    mu, _ = vae.encode_dataset(train, seed=args.seed)  # (N, latent_dim)
    mean, std = mu.mean(0), mu.std(0).clamp(min=1e-3)
    codes = (mu - mean) / std  # the flow learns standardised codes; decoding undoes it
    torch.manual_seed(args.seed)
    flow = ToyFlow(hidden=512, layers=3, dim=codes.shape[1])
    t0 = time.perf_counter()
    losses = flow.fit(codes, steps=args.steps, batch_size=512, lr=1e-3, seed=args.seed)
    train_seconds = time.perf_counter() - t0

    def draw(kind: str) -> tuple[torch.Tensor, float]:
        g = torch.Generator().manual_seed(args.seed)
        start = time.perf_counter()
        with torch.no_grad():
            if kind == "flow":
                z = flow.sample(torch.randn(args.n, codes.shape[1], generator=g), steps=args.ode_steps, method="heun")
                x = vae.decode(z * std + mean).clamp(-1, 1)
            else:
                x = vae.sample(args.n, prior=kind, generator=g)
        return x.cpu(), time.perf_counter() - start

    rows = {}
    for kind in ("normal", "mixture", "flow"):
        x, seconds = draw(kind)
        r = evaluate_samples(x, sample_seconds=seconds, with_calibration=False)
        rows[kind] = {k: r[k] for k in ("n", "fid", "inception_score", "precision", "recall", "class_kl",
                                         "seconds_per_1000")}
        print(kind, json.dumps(rows[kind]), flush=True)
    from genedu.utils import describe_machine

    out = {"machine": describe_machine("cpu"),
           "seed": args.seed, "vae_reference": reference_info("vae").get("command"),
           "latent_flow": {"network": "MLP 512 x 3, time features", "steps": args.steps, "batch_size": 512,
                           "train_seconds": round(train_seconds, 1), "final_loss_last_100": sum(losses[-100:]) / 100,
                           "sampler": f"heun, {args.ode_steps} steps"},
           "priors": rows,
           "target": {"fid_ratio_normal_over_flow": rows["normal"]["fid"] / rows["flow"]["fid"],
                      "met": rows["normal"]["fid"] >= 3 * rows["flow"]["fid"]}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["target"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
