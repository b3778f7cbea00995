"""The command line: `genedu train | sample | evaluate | showdown` (also `python -m genedu`).

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


COMMANDS = {"train": (add_train, cmd_train)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genedu", description="genedu: generative models on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .data import MNISTError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (ValueError, MNISTError, CheckpointError, FileNotFoundError) as e:
        print(f"genedu {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
