"""Train a VAE preset for a wall-clock budget and measure its likelihood on binarised test MNIST.

    python benchmarks/vae_likelihood.py --preset mlp --seconds 540 --out runs/vae_mlp.pt
    python benchmarks/vae_likelihood.py --preset mlp_reference --images 6000000 --recipe --k 1000 --n-iwae 5000

`--images` budgets images seen instead of seconds (comparable on a shared CPU); `--recipe` trains with the
preset's recipe (`VAE.recipe`: EMA, learning-rate schedule) and scores the EMA weights.

Writes benchmarks/results/vae_likelihood_<preset>.json: -ELBO on the 10,000 test images and the
IWAE NLL (k samples) on the first `--n-iwae` of them, in nats, with the budget, seed and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from genedu import VAE, fit, load_mnist, save_checkpoint
from genedu.evaluate.likelihood import elbo, iwae_nll


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="mlp")
    p.add_argument("--seconds", type=float, default=540)
    p.add_argument("--images", type=int, default=None, help="images seen instead of --seconds")
    p.add_argument("--recipe", action="store_true", help="train with the preset's recipe, score its EMA")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--n-iwae", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.images is not None and a.images < 1:
        p.error("--images must be at least 1")
    model = VAE.from_preset(a.preset)
    recipe = VAE.recipe(a.preset) if a.recipe else {}
    budget = {"images": a.images} if a.images is not None else {"seconds": a.seconds}
    train, test = load_mnist("train"), load_mnist("test")
    t0 = time.time()
    h = fit(model, train, seed=a.seed, progress=False, device="cpu", **budget, **recipe)
    train_s = time.time() - t0
    if h.ema is not None:
        model = h.ema.module  # the weights the recipe samples and scores
    steps = len(h["loss"])
    if a.out:
        save_checkpoint(a.out, model, state={"history": h.state_dict()})
    t1 = time.time()
    neg_elbo = -elbo(model, test, seed=0)
    nll = iwae_nll(model, test, k=a.k, n=a.n_iwae, seed=0)
    neg_elbo_sub = -elbo(model, test, n=a.n_iwae, seed=0)
    res = {
        "preset": a.preset, "seed": a.seed, "budget": budget, "recipe": recipe,
        "train_seconds": round(train_s, 1), "steps": steps,
        "epochs": round(steps * model.config.batch_size / len(train), 2), "batch_size": model.config.batch_size,
        "neg_elbo_test_10k": round(neg_elbo, 2), "neg_elbo_first_n": round(neg_elbo_sub, 2),
        "iwae_nll_first_n": round(nll, 2), "k": a.k, "n_iwae": a.n_iwae,
        "final_train_loss_mean_last100": round(h.mean("loss", last=100), 2),
        "eval_seconds": round(time.time() - t1, 1), "threads": a.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, CPU, torch {torch.__version__}",
        "load_average": os.getloadavg(),
    }
    print(json.dumps(res, indent=1))
    out = Path(__file__).parent / "results" / f"vae_likelihood_{a.preset}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
