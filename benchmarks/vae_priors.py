"""A VAE's learned prior, decided on one trained network: components, codes fitted and temperature.

    python benchmarks/vae_priors.py --checkpoint runs/trials/vae.pt --components 20 50 100 \
        --codes 10000 55000 --temperatures 1.0 0.9 0.8 --out benchmarks/results/vae_priors.json

The checkpoint is a trained VAE (e.g. `benchmarks/recipe_trial.py --save`). For every pair of mixture size
K and number of training codes N, a K-component Gaussian mixture (the preset's covariance) is fitted by EM
to the encoder means of the first N training images, exactly as `VAE.fit_prior` does; samples decode codes
drawn from it with every covariance scaled by temperature**2 (1.0: the mixture itself; below 1: draws held
nearer the component means, the VAE's form of the GAN's truncation trick). Each row is scored with the
project's suite on `--n` samples from seed `--seed`. Rows are keyed by label; rows of other labels are kept.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--components", type=int, nargs="+", default=[50])
    ap.add_argument("--codes", type=int, nargs="+", default=[10_000], help="training images whose codes are fitted")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[1.0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label", default="", help="prefix of each row's key (e.g. the trial the checkpoint is from)")
    ap.add_argument("--out", default="benchmarks/results/vae_priors.json")
    args = ap.parse_args(argv)
    if min(args.components) < 1 or min(args.codes) < 1 or args.n < 1:
        ap.error("--components, --codes and --n must be at least 1")
    if min(args.temperatures) <= 0:
        ap.error("--temperatures must be positive")
    if any(k > n for k in args.components for n in args.codes):
        ap.error("every mixture needs at least as many codes as components")
    path = Path(args.checkpoint)
    if not path.is_file():
        ap.error(f"--checkpoint {path}: no such file")

    import torch

    import genedu
    from genedu.checkpoint import load_model, read_checkpoint
    from genedu.evaluate import evaluate_samples
    from genedu.models.prior import GaussianMixture, fit_gmm
    from genedu.utils import describe_machine

    model = load_model(path)  # refuses a file that is not a genedu checkpoint
    if model.family != "vae":
        ap.error(f"--checkpoint {path} holds a {model.family}, not a VAE")
    model.eval()
    data = genedu.load_mnist("train")
    if max(args.codes) > len(data):
        ap.error(f"--codes: the training set has {len(data)} images")
    mu, _ = model.encode_dataset(data, seed=args.seed, n=max(args.codes))
    rows = {}
    for n_codes in args.codes:
        for k in args.components:
            started = time.perf_counter()
            w, means, tril, info = fit_gmm(mu[:n_codes], k, iters=50, seed=args.seed,
                                           covariance=model.config.prior_covariance)
            fit_seconds = time.perf_counter() - started
            for t in args.temperatures:
                mix = GaussianMixture(k, mu.shape[1])
                mix.set(w, means, tril * t)
                g = torch.Generator().manual_seed(args.seed)
                with torch.no_grad():
                    z = mix.sample(args.n, generator=g)
                    x = torch.cat([model.decode(z[i:i + 500]).clamp(-1, 1) for i in range(0, args.n, 500)])
                report = evaluate_samples(x, with_calibration=False)
                key = f"{args.label}K={k} codes={n_codes} T={t}".strip()
                rows[key] = {"components": k, "codes": n_codes, "temperature": t, "seed": args.seed, "n": report["n"],
                             "fid": report["fid"], "precision": report["precision"], "recall": report["recall"],
                             "class_kl": report["class_kl"], "min_share": min(report["class_histogram"]),
                             "fit_log_likelihood": info["log_likelihood"], "fit_seconds": round(fit_seconds, 1)}
                print(key, json.dumps(rows[key]), flush=True)
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.is_file() else {}
    old.update({"about": __doc__.splitlines()[0], "machine": describe_machine("cpu")})
    old.setdefault("checkpoints", {})[args.label or str(path.name)] = {
        "file": path.name, "config": model.config_dict(),
        **{k: v for k, v in read_checkpoint(path).get("state", {}).items() if k in ("images", "seed", "recipe")}}
    old.setdefault("rows", {}).update(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(old, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
