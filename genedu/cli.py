"""The command line: `genedu train | sample | evaluate | showdown | reference` (also `python -m genedu`).

Each subcommand is a pair: `add_<name>(subparsers)` declares its arguments and `cmd_<name>(args)`
runs it. Errors a user can fix (bad settings, missing data, a wrong checkpoint) print one clear
line and exit with status 2; nothing is parsed at import time.
"""

from __future__ import annotations

import argparse
import sys

PRESET_HELP = "a preset of the family, e.g. seed"


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model preset on MNIST and save a checkpoint")
    p.add_argument("--model", required=True, help="family: vae, gan or diffusion")
    p.add_argument("--preset", default="seed", help=PRESET_HELP)
    p.add_argument("--epochs", type=float, help="budget in epochs")
    p.add_argument("--steps", type=int, help="budget in optimiser steps")
    p.add_argument("--images", type=int, help="budget in images seen")
    p.add_argument("--seconds", type=float, help="budget in wall-clock seconds")
    p.add_argument("--batch-size", type=int, help="default: the preset's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ema", type=float, help="EMA decay, e.g. 0.999")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.add_argument("--checkpoint-every", type=int, help="also save every N steps")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--data", help="data root (default: $GENEDU_DATA, else ./data)")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


def cmd_train(args) -> int:
    from .data import load_mnist
    from .models.base import MODEL_REGISTRY, _import_families
    from .train import fit

    _import_families()
    if args.model not in MODEL_REGISTRY:
        raise ValueError(f"unknown --model {args.model!r}; choose from {sorted(MODEL_REGISTRY)}")
    model = MODEL_REGISTRY[args.model].from_preset(args.preset)
    data = load_mnist("train", args.data)
    history = fit(model, data, epochs=args.epochs, steps=args.steps, images=args.images,
                  seconds=args.seconds, batch_size=args.batch_size, seed=args.seed, ema=args.ema,
                  device=args.device, checkpoint=args.out, checkpoint_every=args.checkpoint_every,
                  resume=args.resume)
    parts = ", ".join(f"{k} {history.mean(k, last=50):.4g}" for k in history.metric_keys)
    print(f"trained {args.model}/{args.preset} for {history.last('step'):.0f} steps "
          f"({history.last('images'):.0f} images, {history.last('seconds'):.1f} s); "
          f"last 50 steps: {parts}; checkpoint: {args.out}")
    return 0


def add_showdown(sub) -> None:
    p = sub.add_parser("showdown", help="train and score every family under the same budget; write a report")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="wall-clock budget per model and seed")
    budget.add_argument("--images", type=int, help="images-seen budget per model and seed")
    p.add_argument("--seeds", type=int, default=1, help="seeds per model (mean and spread are reported)")
    p.add_argument("--samples", type=int, default=10_000, help="samples scored per run (10,000 for the protocol)")
    p.add_argument("--stages", type=int, default=3, help="evaluations along the budget (quality against time)")
    p.add_argument("--only", nargs="+", metavar="FAMILY/PRESET", help="a subset of the contenders, e.g. vae/seed")
    p.add_argument("--ddim-steps", type=int, nargs="*", default=[10, 25, 50, 100],
                   help="DDIM step counts scored for the diffusion model (quality and time against steps)")
    p.add_argument("--ddim-samples", type=int, default=2000, help="samples scored per DDIM step count")
    p.add_argument("--data-limit", type=int, help="train on the first N training images only (quick trials)")
    p.add_argument("--out", required=True, help="folder for results.json, report.md and figures (rerun to resume)")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


def cmd_showdown(args) -> int:
    from .showdown import CONTENDERS, showdown, table_markdown

    contenders = CONTENDERS
    if args.only:
        known = {c.key: c for c in CONTENDERS}
        unknown = [k for k in args.only if k not in known]
        if unknown:
            raise ValueError(f"--only: unknown contender(s) {unknown}; choose from {sorted(known)}")
        contenders = [known[k] for k in args.only]
    results = showdown(contenders=contenders, minutes=args.minutes, images=args.images, seeds=args.seeds,
                       n_samples=args.samples, stages=args.stages, out=args.out, device=args.device,
                       data_limit=args.data_limit, ddim_steps=tuple(args.ddim_steps), ddim_samples=args.ddim_samples)
    print(table_markdown(results["summary"], results["calibration"]))
    print(f"report: {args.out}/report.md; every figure: {args.out}/results.json")
    return 0


def add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a checkpoint and write them to an .npz file")
    p.add_argument("--model", required=True, choices=["vae", "gan", "diffusion", "flow"], help="family of the checkpoint")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="checkpoint file written by `genedu train`")
    src.add_argument("--reference", action="store_true", help="the shipped reference checkpoint of the family")
    p.add_argument("--n", type=int, default=10_000, help="number of samples (10,000 for the protocol)")
    p.add_argument("--out", required=True, help=".npz file to write (arrays: samples, and labels if conditional)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--sampler", choices=["ddpm", "ddim"], help="diffusion only")
    p.add_argument("--steps", type=int, help="diffusion only: sampling steps")
    p.add_argument("--guidance", type=float, help="diffusion only: classifier-free guidance scale")
    p.add_argument("--labels", choices=["balanced"], help="conditional models: requested classes (default balanced)")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


def cmd_sample(args) -> int:
    import time

    import numpy as np
    import torch

    from .checkpoint import load_model
    from .utils import default_device

    from .reference import load_reference, reference_path

    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    device = torch.device(args.device) if args.device else default_device()
    if args.reference:
        model, source = load_reference(args.model, device=device), reference_path(args.model)
    else:
        model, source = load_model(args.checkpoint, device=device), args.checkpoint
    if model.family != args.model:
        raise ValueError(f"--model {args.model} but {source} holds a {model.family} checkpoint")
    opts = {k: v for k, v in (("sampler", args.sampler), ("steps", args.steps), ("guidance", args.guidance))
            if v is not None}
    if opts and args.model != "diffusion":
        raise ValueError(f"{', '.join('--' + k for k in opts)} only apply to --model diffusion; "
                         f"a {args.model} draws samples in one pass")
    conditional = getattr(model.config, "num_classes", 0) > 0
    labels = torch.arange(args.n) % model.config.num_classes if conditional else None
    gen = torch.Generator().manual_seed(args.seed)
    parts, t0 = [], time.time()
    with torch.no_grad():
        for i in range(0, args.n, args.batch_size):
            lab = labels[i:i + args.batch_size].to(device) if labels is not None else None
            parts.append(model.sample(min(args.batch_size, args.n - i), labels=lab, generator=gen, **opts).float().cpu())
    seconds = time.time() - t0
    arrays = {"samples": torch.cat(parts).numpy().astype(np.float32), "seconds": np.float64(seconds)}
    if labels is not None:
        arrays["labels"] = labels.numpy()
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.n} samples from {source} to {args.out} ({seconds * 1000 / args.n:.2f} s per 1,000)")
    return 0


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score samples in an .npz file (or: evaluate train-classifier)",
                       description="`genedu evaluate FILE.npz [--json]` scores the array `samples` "
                       "(N x 1 x 28 x 28 in [-1, 1]; `labels` optional) against the 10,000 test images. "
                       "`genedu evaluate train-classifier` retrains the feature classifier.")
    p.add_argument("target", help="FILE.npz, or train-classifier")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-calibration", action="store_true", help="skip the calibration rows")
    p.add_argument("--epochs", type=int, default=3, help="train-classifier: epochs")
    p.add_argument("--seed", type=int, default=0, help="train-classifier: seed")
    p.add_argument("--out", help="train-classifier: folder for classifier.pt/.json (default: genedu/assets)")


def cmd_evaluate(args) -> int:
    import json
    import warnings

    import numpy as np

    from .evaluate import evaluate_samples, train_classifier

    if args.target == "train-classifier":
        meta = train_classifier(epochs=args.epochs, seed=args.seed, out=args.out)
        print(json.dumps(meta, indent=2))
        return 0
    try:
        data = np.load(args.target)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {args.target} as an .npz file ({e}); write one with `genedu sample`") from e
    if "samples" not in data.files:
        raise ValueError(f"{args.target} has no array named 'samples' (found {data.files}); "
                         "save with np.savez(path, samples=x) where x is N x 1 x 28 x 28 in [-1, 1]")
    labels = data["labels"] if "labels" in data.files else None
    seconds = float(data["seconds"]) if "seconds" in data.files else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate_samples(data["samples"], labels=labels, sample_seconds=seconds,
                                  with_calibration=not args.no_calibration, name=args.target)
    for w in caught:
        print(f"genedu evaluate: warning: {w.message}", file=sys.stderr)
    print(report.to_json() if args.json else report.table())
    return 0


def add_reference(sub) -> None:
    p = sub.add_parser("reference", help="train, score and export a family's shipped reference checkpoint")
    p.add_argument("--model", required=True, choices=["vae", "gan", "diffusion", "flow"], help="family")
    p.add_argument("--preset", required=True, help="the preset, e.g. laptop or reference")
    p.add_argument("--lr-warmup", type=int, default=0, help="learning-rate warm-up steps")
    p.add_argument("--lr-decay", choices=["cosine"], help="learning-rate decay over the budget")
    p.add_argument("--sample-options", default=None,
                   help='JSON of the sampler to score with, e.g. \'{"sampler": "dpm", "steps": 20}\'')
    p.add_argument("--epochs", type=float, help="budget in epochs")
    p.add_argument("--steps", type=int, help="budget in optimiser steps")
    p.add_argument("--images", type=int, help="budget in images seen")
    p.add_argument("--seconds", type=float, help="budget in training seconds (not reproducible elsewhere)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ema", type=float, help="EMA decay; the reference keeps the EMA weights")
    p.add_argument("--samples", type=int, default=10_000, help="samples scored for the recorded figures")
    p.add_argument("--work", required=True, help="folder for the training checkpoint (rerun to resume)")
    p.add_argument("--out-dir", help="where to write <family>.pt/.json (default: genedu/assets/references)")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


def cmd_reference(args) -> int:
    import shlex

    from .reference import make_reference

    if args.epochs is None and args.steps is None and args.images is None and args.seconds is None:
        raise ValueError("give a budget: --epochs, --steps, --images or --seconds")
    import json

    try:
        options = None if args.sample_options is None else json.loads(args.sample_options)
    except json.JSONDecodeError as e:
        raise ValueError(f"--sample-options must be JSON such as '{{\"sampler\": \"dpm\", \"steps\": 20}}': {e}")
    command = "genedu " + " ".join(shlex.quote(a) for a in args.argv)
    path = make_reference(args.model, args.preset, work=args.work, command=command, seed=args.seed, ema=args.ema,
                          n_samples=args.samples, out_dir=args.out_dir, device=args.device,
                          lr_warmup=args.lr_warmup, lr_decay=args.lr_decay, sample_options=options,
                          epochs=args.epochs, steps=args.steps, images=args.images, seconds=args.seconds)
    print(f"reference written: {path} (figures in {path.with_suffix('.json')})")
    return 0


COMMANDS = {"train": (add_train, cmd_train), "showdown": (add_showdown, cmd_showdown),
            "reference": (add_reference, cmd_reference)}
COMMANDS.update({"sample": (add_sample, cmd_sample), "evaluate": (add_evaluate, cmd_evaluate)})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genedu", description="genedu: generative models on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .data import MNISTError

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command as typed (recorded with what it makes)
    try:
        return COMMANDS[args.command][1](args)
    except (ValueError, MNISTError, CheckpointError, FileNotFoundError) as e:
        print(f"genedu {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
