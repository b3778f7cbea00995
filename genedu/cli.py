"""The command line: `genedu train | sample | evaluate | showdown | reference` (also `python -m genedu`).

Each subcommand is a pair: `add_<name>(subparsers)` declares its arguments and `cmd_<name>(args)`
runs it. Arguments are checked before any long work (loading data, training, sampling): counts must
be positive, a device must exist on this machine, output folders must exist and be writable, input
files must be of the expected kind. Errors a user can fix (bad settings, missing data, a wrong
checkpoint) print one clear line on stderr and exit with status 2, never a traceback; nothing is
parsed at import time.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

PRESET_HELP = "a preset of the family, e.g. seed"


class UsageError(ValueError):
    """Bad command-line input; `main` prints it as one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises UsageError (one line, status 2) instead of printing the usage
    block and exiting, so `main` answers every bad input the same way."""

    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


# ---- argument types: each checks one kind of value and says what it expected ----------------------

def _positive(kind, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} greater than 0, got {text!r}") from None
        if not value > 0 or (isinstance(value, float) and math.isinf(value)):  # also refuses NaN
            raise argparse.ArgumentTypeError(f"expected {what} greater than 0, got {text!r}")
        return value
    parse.__name__ = what  # argparse names the type in some messages
    return parse


count = _positive(int, "a whole number")
amount = _positive(float, "a number")


def decay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected an EMA decay strictly between 0 and 1 (e.g. 0.999), got {text!r}")
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
    return value


def device(text: str) -> str:
    """cpu, cuda, cuda:N or mps, and only one this machine has."""
    import torch

    try:
        d = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or mps, got {text!r}") from None
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"{text!r}: CUDA is not available on this machine (torch.cuda.is_available() is False); "
                "use --device cpu, or leave --device out to get the best available")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(
                f"{text!r}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    elif d.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise argparse.ArgumentTypeError(f"{text!r}: Apple MPS is not available on this machine; "
                                             "use --device cpu, or leave --device out")
    elif d.type != "cpu":
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or mps, got {text!r}")
    return text


def _writable(*, folder: bool, suffix: str | None = None):
    def parse(text: str) -> str:
        from .utils import check_writable

        path = Path(text)
        if suffix and path.suffix != suffix:
            raise argparse.ArgumentTypeError(f"expected a {suffix} file name, got {text!r} "
                                             f"(e.g. {path.with_suffix(suffix)})")
        try:
            check_writable(path, what="output folder" if folder else "output file", folder=folder,
                           create_parents=False)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text
    return parse


out_file = _writable(folder=False)
out_folder = _writable(folder=True)
out_npz = _writable(folder=False, suffix=".npz")


# ---- arguments several commands share: declared once --------------------------------------------

BUDGETS = {  # name -> (type, help)
    "epochs": (amount, "budget in epochs"),
    "steps": (count, "budget in optimiser steps"),
    "images": (count, "budget in images seen"),
    "seconds": (amount, "budget in wall-clock seconds of training"),
    "minutes": (amount, "budget in wall-clock minutes of training"),
}


def add_budget_args(p, names=("epochs", "steps", "images", "seconds"), *, exclusive: bool = False,
                    suffix: str = "") -> None:
    """Declare the budget arguments `names`; with `exclusive`, exactly one of them must be given
    (else check with `require_budget`, at least one; training stops at the first reached)."""
    group = p.add_mutually_exclusive_group(required=True) if exclusive else p.add_argument_group("budget")
    for name in names:
        kind, text = BUDGETS[name]
        group.add_argument(f"--{name}", type=kind, help=text + suffix)


def require_budget(args, names=("epochs", "steps", "images", "seconds")) -> None:
    if all(getattr(args, n) is None for n in names):
        raise UsageError(f"give a budget: {', '.join('--' + n for n in names)} (training stops at the first reached)")


def add_device_arg(p) -> None:
    p.add_argument("--device", type=device, help="cuda, cuda:N, mps or cpu (default: the best available)")


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model preset on MNIST and save a checkpoint")
    p.add_argument("--model", required=True, help="family: vae, gan, diffusion or flow")
    p.add_argument("--preset", default="seed", help=PRESET_HELP)
    add_budget_args(p)
    p.add_argument("--batch-size", type=count, help="default: the preset's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ema", type=decay, help="EMA decay, e.g. 0.999")
    p.add_argument("--out", required=True, type=out_file, help="checkpoint file to write (in an existing folder)")
    p.add_argument("--checkpoint-every", type=count, help="also save every N steps")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--data", help="data root (default: $GENEDU_DATA, else ./data)")
    add_device_arg(p)


def cmd_train(args) -> int:
    from .checkpoint import check_compatible, read_checkpoint
    from .data import load_mnist
    from .models.base import MODEL_REGISTRY, _import_families
    from .train import fit

    require_budget(args)
    _import_families()
    if args.model not in MODEL_REGISTRY:
        raise ValueError(f"unknown --model {args.model!r}; choose from {sorted(MODEL_REGISTRY)}")
    model = MODEL_REGISTRY[args.model].from_preset(args.preset)
    if args.resume and Path(args.out).exists():  # a wrong file fails now, not after loading the data
        check_compatible(read_checkpoint(args.out), model, args.out)
    recipe = type(model).recipe(args.preset)  # the preset's EMA and learning-rate schedule
    if args.ema is not None:
        recipe["ema"] = args.ema
    data = load_mnist("train", args.data)
    history = fit(model, data, epochs=args.epochs, steps=args.steps, images=args.images,
                  seconds=args.seconds, batch_size=args.batch_size, seed=args.seed,
                  device=args.device, checkpoint=args.out, checkpoint_every=args.checkpoint_every,
                  resume=args.resume, **recipe)
    model.after_training(data, seed=args.seed)  # e.g. a VAE's learned prior, saved with the weights
    if history.ema is not None:
        history.ema.module.after_training(data, seed=args.seed)
    from .checkpoint import update_weights
    update_weights(args.out, model, ema=history.ema)
    parts = ", ".join(f"{k} {history.mean(k, last=50):.4g}" for k in history.metric_keys)
    print(f"trained {args.model}/{args.preset} for {history.last('step'):.0f} steps "
          f"({history.last('images'):.0f} images, {history.last('seconds'):.1f} s); "
          f"last 50 steps: {parts}; checkpoint: {args.out}")
    return 0


def add_showdown(sub) -> None:
    p = sub.add_parser("showdown", help="train and score every family under the same budget; write a report")
    add_budget_args(p, ("minutes", "images"), exclusive=True, suffix=" per model and seed")
    p.add_argument("--seeds", type=count, default=1, help="seeds per model (mean and spread are reported)")
    p.add_argument("--samples", type=count, default=10_000, help="samples scored per run (10,000 for the protocol)")
    p.add_argument("--stages", type=count, default=3, help="evaluations along the budget (quality against time)")
    p.add_argument("--only", nargs="+", metavar="FAMILY/PRESET", help="a subset of the contenders, e.g. vae/seed")
    p.add_argument("--ddim-steps", type=count, nargs="*", default=[10, 25, 50, 100],
                   help="sampler step counts scored for the DDPM (DDIM) and the flow (quality and time against steps)")
    p.add_argument("--ddim-samples", type=count, default=2000, help="samples scored per DDIM step count")
    p.add_argument("--data-limit", type=count, help="train on the first N training images only (quick trials)")
    p.add_argument("--out", required=True, type=out_folder,
                   help="folder for results.json, report.md and figures (rerun to resume)")
    add_device_arg(p)


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
    p.add_argument("--n", type=count, default=10_000, help="number of samples (10,000 for the protocol)")
    p.add_argument("--out", required=True, type=out_npz,
                   help=".npz file to write (arrays: samples, and labels if conditional)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=count, default=1000)
    p.add_argument("--sampler", choices=["ddpm", "ddim", "dpm"], help="diffusion only")
    p.add_argument("--method", choices=["euler", "midpoint", "heun"], help="flow only: the ODE solver")
    p.add_argument("--steps", type=count, help="diffusion and flow: sampling steps")
    p.add_argument("--guidance", type=non_negative, help="diffusion and flow: classifier-free guidance scale")
    p.add_argument("--labels", choices=["balanced"], help="conditional models: requested classes (default balanced)")
    add_device_arg(p)


def cmd_sample(args) -> int:
    import numpy as np
    import torch

    from .checkpoint import load_model
    from .utils import default_device

    from .reference import load_reference, reference_path

    device = torch.device(args.device) if args.device else default_device()
    if args.reference:
        model, source = load_reference(args.model, device=device), reference_path(args.model)
    else:
        model, source = load_model(args.checkpoint, device=device), args.checkpoint
    if model.family != args.model:
        raise ValueError(f"--model {args.model} but {source} holds a {model.family} checkpoint")
    opts = {k: v for k, v in (("sampler", args.sampler), ("method", args.method), ("steps", args.steps),
                              ("guidance", args.guidance)) if v is not None}
    if args.reference:  # the sampler the reference was scored with, unless told otherwise
        from .reference import sample_options
        opts = {**sample_options(args.model), **opts}
    if opts and args.model not in ("diffusion", "flow"):
        raise ValueError(f"{', '.join('--' + k for k in opts)} only apply to --model diffusion or flow; "
                         f"a {args.model} draws samples in one pass")
    if "sampler" in opts and args.model == "flow" or "method" in opts and args.model == "diffusion":
        raise ValueError("--sampler is for --model diffusion, --method for --model flow")
    conditional = getattr(model.config, "num_classes", 0) > 0
    if args.labels and not conditional:
        raise ValueError(f"--labels {args.labels}: {source} holds an unconditional {model.family}, which "
                         "cannot be asked for classes; leave --labels out")
    if "guidance" in opts and not conditional:
        raise ValueError(f"--guidance: {source} holds an unconditional model; guidance needs a "
                         "class-conditional one; leave --guidance out")
    from .sampling import draw_samples

    samples, labels, seconds = draw_samples(model, args.n, generator=torch.Generator().manual_seed(args.seed),
                                            batch_size=args.batch_size, **opts)
    arrays = {"samples": samples.numpy().astype(np.float32), "seconds": np.float64(seconds)}
    if labels is not None:
        arrays["labels"] = labels.numpy()
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.n} samples from {source} to {args.out} ({seconds * 1000 / args.n:.2f} s per 1,000)")
    return 0


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score samples in an .npz file (or: evaluate train-classifier)",
                       description="`genedu evaluate FILE.npz [--json]` scores the array `samples` "
                       "(N x 1 x 28 x 28 in [-1, 1]; `labels` optional) against the 10,000 test images. "
                       "`genedu evaluate train-classifier --out FOLDER` retrains the feature classifier "
                       "(--force to replace the shipped one).")
    p.add_argument("target", help="FILE.npz, or train-classifier")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-calibration", action="store_true", help="skip the calibration rows")
    p.add_argument("--epochs", type=count, default=3, help="train-classifier: epochs")
    p.add_argument("--seed", type=int, default=0, help="train-classifier: seed")
    p.add_argument("--out", type=out_folder, help="train-classifier: folder for classifier.pt/.json")
    p.add_argument("--force", action="store_true",
                   help="train-classifier without --out: replace the shipped classifier in genedu/assets")


def _read_npz(path: str):
    """The arrays of an .npz file; a missing file or one of another kind gets one line saying so."""
    import zipfile

    import numpy as np

    how = "write one with `genedu sample`, or np.savez(path, samples=x) with x of N x 1 x 28 x 28 in [-1, 1]"
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no file {path}: expected an .npz file of samples; {how}")
    if p.suffix != ".npz":
        raise ValueError(f"{path} is a {p.suffix or 'suffix-less'} file, but an .npz file was expected; {how}")
    try:
        data = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a readable .npz file ({type(e).__name__}: {e}); {how}") from None
    if not hasattr(data, "files"):  # a bare .npy array saved under an .npz name
        raise ValueError(f"{path} holds a single array (.npy format), not an .npz archive; {how}")
    if "samples" not in data.files:
        raise ValueError(f"{path} has no array named 'samples' (found {data.files}); "
                         "save with np.savez(path, samples=x) where x is N x 1 x 28 x 28 in [-1, 1]")
    return data


def cmd_evaluate(args) -> int:
    import json
    import warnings

    from .evaluate import check_samples, evaluate_samples, train_classifier
    from .evaluate.report import check_labels

    if args.target == "train-classifier":
        if args.out is None and not args.force:
            raise UsageError("train-classifier would overwrite the shipped classifier (genedu/assets/classifier.pt), "
                             "which every score depends on; write elsewhere with --out FOLDER, or pass --force "
                             "to replace it")
        meta = train_classifier(epochs=args.epochs, seed=args.seed, out=args.out)
        print(json.dumps(meta, indent=2))
        return 0
    if args.force:
        raise UsageError("--force only applies to `genedu evaluate train-classifier`")
    data = _read_npz(args.target)
    samples = check_samples(data["samples"])  # shape, range, count: before any feature is computed
    labels = check_labels(data["labels"], len(samples)) if "labels" in data.files else None
    seconds = float(data["seconds"]) if "seconds" in data.files else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate_samples(samples, labels=labels, sample_seconds=seconds,
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
    add_budget_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ema", type=decay, help="EMA decay; the reference keeps the EMA weights")
    p.add_argument("--samples", type=count, default=10_000, help="samples scored for the recorded figures")
    p.add_argument("--work", required=True, type=out_folder, help="folder for the training checkpoint (rerun to resume)")
    p.add_argument("--out-dir", type=out_folder, help="where to write <family>.pt/.json (default: genedu/assets/references)")
    add_device_arg(p)


def cmd_reference(args) -> int:
    import shlex

    from .reference import make_reference

    require_budget(args)
    import json

    try:
        options = None if args.sample_options is None else json.loads(args.sample_options)
    except json.JSONDecodeError as e:
        raise UsageError(f"--sample-options must be JSON such as '{{\"sampler\": \"dpm\", \"steps\": 20}}': {e}")
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
    parser = _Parser(prog="genedu", description="genedu: generative models on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .data import MNISTError

    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:  # argparse: a missing, unknown or badly typed argument
        print(f"genedu{' ' + command if command else ''}: error: {e}", file=sys.stderr)
        return 2
    args.argv = argv  # the command as typed (recorded with what it makes)
    try:
        return COMMANDS[args.command][1](args)
    except (ValueError, MNISTError, CheckpointError, FileNotFoundError) as e:
        message = " ".join(str(e).split())  # one line, whatever the message held
        print(f"genedu {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
