"""A recipe choice, decided on images seen: train a preset with its recipe and some overrides, score it.

    python benchmarks/recipe_trial.py --model vae --preset laptop --images 671232 \
        --set lr_decay=cosine lr_warmup=200 --label "cosine decay" --out benchmarks/results/recipe_trials.json
    python benchmarks/recipe_trial.py --model gan --preset laptop --images 583104 --config lr_g=4e-4 --label ...

A wall-clock budget is only comparable on an idle machine; a budget in images seen is comparable anywhere,
so a recipe choice for the five-minute run is decided here at the images that five minutes gave
(benchmarks/results/five_minutes.json), then confirmed by a real five-minute run. Trains with `fit` (seed
`--seed`), runs the model's `after_training` (a VAE fits its learned prior), draws `--n` samples with the
family's default sampler (`--sample` adds options, e.g. method=euler steps=10) and scores them with the
project's suite. Each trial is one row of the JSON, keyed by its label; rows of other labels are kept.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def parse_settings(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"a setting is key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value  # a bare word, e.g. cosine
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--preset", required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--set", nargs="*", default=[], help="fit options over the recipe, key=value")
    ap.add_argument("--config", nargs="*", default=[], help="the preset's config overrides, key=value (lr_g=4e-4)")
    ap.add_argument("--sample", nargs="*", default=[], help="sampler options, key=value")
    ap.add_argument("--label", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out", default="benchmarks/results/recipe_trials.json")
    ap.add_argument("--save", help="also keep the trained sampler (the EMA weights where the recipe has them, "
                                   "its learned prior fitted) as a checkpoint here, to score other samplers later")
    args = ap.parse_args(argv)
    if args.images < 1 or args.n < 1:
        ap.error("--images and --n must be at least 1")
    overrides, sample_options = parse_settings(args.set), parse_settings(args.sample)
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in parse_settings(args.config).items()}

    import torch

    import genedu
    from genedu.evaluate import evaluate_samples
    from genedu.models.base import MODEL_REGISTRY, _import_families
    from genedu.utils import describe_machine

    _import_families()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model not in MODEL_REGISTRY:
        ap.error(f"unknown model {args.model!r}; choose from {sorted(MODEL_REGISTRY)}")
    cls = MODEL_REGISTRY[args.model]
    torch.manual_seed(args.seed)
    try:  # an unknown preset or config field, or a bad value, is refused here, before any data is read
        model = cls.from_preset(args.preset, **config)
    except (KeyError, TypeError, ValueError) as e:
        ap.error(f"{args.model}/{args.preset} {config}: {e}")
    recipe = {**cls.recipe(args.preset), **overrides}
    data = genedu.load_mnist("train")
    started = time.perf_counter()
    history = genedu.fit(model, data, images=args.images, seed=args.seed, progress=False, **recipe)
    seconds = time.perf_counter() - started
    sampler = history.ema.module if history.ema is not None else model
    sampler.after_training(data, seed=args.seed)
    sampler.eval()
    if args.save:
        from genedu.checkpoint import save_checkpoint

        save_checkpoint(args.save, sampler, state={"images": history.last("images"), "recipe": recipe})
    with torch.no_grad():
        samples = torch.cat([sampler.sample(min(500, args.n - i), generator=torch.Generator().manual_seed(i),
                                            **sample_options).float().cpu() for i in range(0, args.n, 500)])
    report = evaluate_samples(samples, with_calibration=False)
    hist = report["class_histogram"]
    row = {"model": args.model, "preset": args.preset, "config": config, "recipe": recipe, "sample_options": sample_options,
           "images": history.last("images"), "train_seconds": round(seconds, 1), "seed": args.seed, "n": report["n"],
           "fid": report["fid"], "precision": report["precision"], "recall": report["recall"],
           "class_histogram": hist, "min_share": min(hist), "machine": describe_machine("cpu"),
           "threads": torch.get_num_threads()}
    print(args.label, json.dumps(row), flush=True)
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.is_file() else {}
    old.setdefault("about", "recipe choices decided on images seen (benchmarks/recipe_trial.py); FID on the "
                   "project's suite, 2,000 samples unless n says otherwise")
    old.setdefault("trials", {})[args.label] = row
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(old, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
