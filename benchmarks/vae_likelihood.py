"""Train a VAE preset for a wall-clock budget and measure its likelihood on binarised test MNIST.

    python benchmarks/vae_likelihood.py --preset mlp --seconds 540 --out runs/vae_mlp.pt
    python benchmarks/vae_likelihood.py --preset mlp_reference --images 6000000 --recipe --k 1000 --n-iwae 5000
    python benchmarks/vae_likelihood.py --checkpoint runs/pixel.pt --k 100 --n-iwae 5000 --samples 2000

`--images` budgets images seen instead of seconds (comparable on a shared CPU); `--recipe` trains with the
preset's recipe (`VAE.recipe`: EMA, learning-rate schedule) and scores the EMA weights. `--checkpoint`
scores a VAE trained already (e.g. by `genedu train`; its EMA weights when it has them) without training,
and records the budget the checkpoint says it trained for. `--samples N` also scores N samples (the
model's default prior, seed `--seed`) with the project's suite: likelihood and sample quality side by side.

Writes benchmarks/results/vae_likelihood_<preset>.json (or `--results`): -ELBO on the 10,000 test images
and the IWAE NLL (k samples) on the first `--n-iwae` of them, in nats, with the budget, seed and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default=None, help="the preset to train (default mlp); with --checkpoint, the "
                   "preset it must be (default: the file's name, when a preset has it)")
    p.add_argument("--seconds", type=float, default=540)
    p.add_argument("--images", type=int, default=None, help="images seen instead of --seconds")
    p.add_argument("--recipe", action="store_true", help="train with the preset's recipe, score its EMA")
    p.add_argument("--checkpoint", default=None, help="score this trained VAE instead of training one")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--n-iwae", type=int, default=2000)
    p.add_argument("--samples", type=int, default=0, help="also score this many samples (0: none)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="where to save the trained model")
    p.add_argument("--results", default=None, help="the JSON to write (default benchmarks/results/...)")
    p.add_argument("--export", default=None, metavar="NAME",
                   help="with --checkpoint: also ship it as the reference NAME (e.g. vae_pixel), these figures its record")
    p.add_argument("--trained-with", default=None, help="with --export: the command that trained the checkpoint")
    a = p.parse_args(argv)
    if a.images is not None and a.images < 1:
        p.error("--images must be at least 1")
    if a.export and not (a.checkpoint and a.trained_with):
        p.error("--export ships a trained --checkpoint and needs --trained-with (the command that trained it)")
    if a.k < 1 or a.n_iwae < 1 or a.samples < 0:
        p.error("--k and --n-iwae must be at least 1, --samples at least 0")
    torch.set_num_threads(a.threads)

    from genedu import VAE, fit, load_mnist, save_checkpoint
    from genedu.checkpoint import check_compatible, load_model, read_checkpoint
    from genedu.evaluate.likelihood import elbo, iwae_nll
    from genedu.reference import EXTRA, FAMILIES, family_of
    from genedu.utils import describe_machine

    if a.export and (a.export not in FAMILIES + tuple(EXTRA) or family_of(a.export) != "vae"):
        p.error(f"--export {a.export!r} is not a VAE reference: choose from "
                f"{[n for n in FAMILIES + tuple(EXTRA) if family_of(n) == 'vae']}")
    if a.checkpoint is not None:  # checked before any data is read
        if not Path(a.checkpoint).is_file():
            p.error(f"--checkpoint {a.checkpoint}: no such file")
        ckpt = read_checkpoint(a.checkpoint)  # refuses a file that is not a genedu checkpoint
        if ckpt["family"] != "vae" or ckpt["config"].get("likelihood") != "bernoulli":
            p.error(f"--checkpoint {a.checkpoint} holds a {ckpt['family']} "
                    f"({ckpt['config'].get('likelihood', 'no likelihood')}), not a Bernoulli VAE: no likelihood in nats")
        model = load_model(a.checkpoint)
        preset = a.preset or Path(a.checkpoint).stem
        if preset in VAE.PRESETS:  # a file named after a preset must hold it (genedu train's recipe is the preset's)
            check_compatible(ckpt, VAE.from_preset(preset), a.checkpoint)
            recipe = VAE.recipe(preset)
        elif a.preset:
            p.error(f"--preset {a.preset!r} is not a VAE preset; choose from {sorted(VAE.PRESETS)}")
        else:
            recipe = None  # unknown: the checkpoint does not record it
        state = ckpt.get("state") or {}
        budget = {k: state[k] for k in ("images", "step", "seconds") if k in state}
        train_s, steps, seed = state.get("seconds"), state.get("step"), state.get("seed", a.seed)
        test = load_mnist("test")
    else:
        preset, seed = a.preset or "mlp", a.seed
        model = VAE.from_preset(preset)
        recipe = VAE.recipe(preset) if a.recipe else {}
        budget = {"images": a.images} if a.images is not None else {"seconds": a.seconds}
        train, test = load_mnist("train"), load_mnist("test")
        t0 = time.time()
        h = fit(model, train, seed=a.seed, progress=False, device="cpu", **budget, **recipe)
        train_s = round(time.time() - t0, 1)
        if h.ema is not None:
            model = h.ema.module  # the weights the recipe samples and scores
        steps = len(h["loss"])
        if a.out:
            save_checkpoint(a.out, model, state={"history": h.state_dict()})
    model.eval()
    t1 = time.time()
    batch = max(1, 10_000 // a.k)  # k * batch images go through the decoder at once
    neg_elbo = -elbo(model, test, seed=0, batch_size=500)
    nll = iwae_nll(model, test, k=a.k, n=a.n_iwae, seed=0, batch_size=batch)
    neg_elbo_sub = -elbo(model, test, n=a.n_iwae, seed=0)
    res = {
        "preset": preset, "seed": seed, "budget": budget, "recipe": recipe,
        "train_seconds": train_s, "steps": steps, "config": model.config_dict(),
        "parameters": sum(t.numel() for t in model.parameters()),
        "neg_elbo_test_10k": round(neg_elbo, 2), "neg_elbo_first_n": round(neg_elbo_sub, 2),
        "iwae_nll_first_n": round(nll, 2), "k": a.k, "n_iwae": a.n_iwae,
        "eval_seconds": round(time.time() - t1, 1), "threads": a.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, CPU, torch {torch.__version__}",
        "load_average": os.getloadavg(),
    }
    if a.checkpoint is not None:
        res.update({"checkpoint": Path(a.checkpoint).name, "scored_on": describe_machine("cpu")})
    else:
        res["final_train_loss_mean_last100"] = round(h.mean("loss", last=100), 2)
    if a.samples:
        from genedu.evaluate import evaluate_samples

        t2 = time.time()
        g = torch.Generator().manual_seed(a.seed)
        x = torch.cat([model.sample(min(500, a.samples - i), generator=g) for i in range(0, a.samples, 500)])
        sample_s = time.time() - t2
        r = evaluate_samples(x, with_calibration=False)
        res["samples"] = {"n": r["n"], "seed": a.seed, "fid": r["fid"], "class_kl": r["class_kl"],
                          "precision": r["precision"], "recall": r["recall"],
                          "min_share": min(r["class_histogram"]), "max_share": max(r["class_histogram"]),
                          "seconds_per_1000": round(1000 * sample_s / a.samples, 1)}
    print(json.dumps(res, indent=1, default=float))
    out = Path(a.results) if a.results else Path(__file__).parent / "results" / f"vae_likelihood_{preset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float) + "\n")
    if a.export:
        import shlex
        import sys

        from genedu.reference import export_reference

        meta = {"preset": preset, "command": a.trained_with, "seed": seed, "trained": budget,
                "scored_with": "python benchmarks/vae_likelihood.py " + " ".join(shlex.quote(x) for x in (argv or sys.argv[1:])),
                "machine": res["machine"],
                "likelihood": {"iwae_nll_nats": nll, "elbo_nats": -neg_elbo_sub,
                               "setting": f"IWAE k={a.k} on the first {a.n_iwae} test images, dynamically binarised"},
                "neg_elbo_test_10k": neg_elbo, "evaluation": res.get("samples")}
        print("reference written:", export_reference(a.checkpoint, name=a.export, meta=meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
