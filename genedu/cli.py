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


def seed(text: str) -> int:
    """A seed: a whole number from 0 to 2**63 - 1 (torch's generators take no more)."""
    from .utils import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed, a whole number from 0 to 2**63 - 1 ({MAX_SEED}), "
                                         f"got {text!r}")
    return value


def _one_of(*names: str):
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(names)}, got {text!r}")
        return text
    parse.__name__ = "choice"
    return parse


# ---- sampling options: one vocabulary -------------------------------------------------------------
# The flags of `genedu sample` that choose how a model draws, and the `sample_options` a reference records
# in its JSON (and `genedu reference --sample-options` takes), are the same names with the same values:
# each is passed to the model's `sample` as it is. name -> (families it applies to, type, metavar, help).
# A GAN has none: it draws in one pass.
SAMPLE_OPTIONS = {
    "prior": (("vae",), _one_of("normal", "mixture"), "{normal,mixture}",
              "VAE: draw the codes z from N(0, I) (normal) or from the mixture fitted to the training codes "
              "(mixture; the default once the VAE has one)"),
    "sampler": (("diffusion",), _one_of("ddim", "dpm", "ddpm", "seed"), "{ddim,dpm,ddpm,seed}",
                "diffusion: DDIM (default), DPM-Solver++ 2M, DDPM ancestral (all T steps), or the seed "
                "denoiser's x <- x - net(x)"),
    "eta": (("diffusion",), non_negative, "ETA",
            "diffusion, DDIM only: noise added per step (0 deterministic, the default; 1 DDPM's level)"),
    "method": (("flow",), _one_of("euler", "midpoint", "heun"), "{euler,midpoint,heun}",
               "flow: the ODE solver"),
    "steps": (("diffusion", "flow"), count, "N", "diffusion and flow: sampling steps"),
    "guidance": (("diffusion", "flow"), non_negative, "W",
                 "diffusion and flow: classifier-free guidance scale (class-conditional models)"),
}


def _options_of(family: str) -> str:
    names = [f"--{k}" for k, (families, *_) in SAMPLE_OPTIONS.items() if family in families]
    return f"a {family} takes {', '.join(names)}" if names else f"a {family} draws in one pass and takes none"


def check_sample_options(family: str, options, *, source: str, flags: bool = False) -> dict:
    """`options` (name -> value, e.g. a reference's recorded `sample_options`) checked against the
    vocabulary above: every name known and meant for `family`, every value of the flag's kind. Returns
    them parsed as the flags would be; a ValueError naming `source` otherwise (and each option as its
    flag, --name, with `flags`)."""
    if not isinstance(options, dict):
        raise ValueError(f"{source}: sampling options must be a JSON object such as "
                         f"{{\"sampler\": \"dpm\", \"steps\": 20}}, got {options!r}")
    parsed = {}
    for name, value in options.items():
        if name not in SAMPLE_OPTIONS:
            raise ValueError(f"{source}: unknown sampling option {name!r}; the options are "
                             f"{', '.join(SAMPLE_OPTIONS)} ({_options_of(family)})")
        families, kind, _, _ = SAMPLE_OPTIONS[name]
        shown = f"--{name}" if flags else name
        if family not in families:
            raise ValueError(f"{source}: {shown} is for --model {' or '.join(families)}; {_options_of(family)}")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"{source}: {shown} must be a number or a name, got {value!r}")
        try:
            parsed[name] = kind(str(value))
        except argparse.ArgumentTypeError as e:
            raise ValueError(f"{source}: {shown}: {e}") from None
    return parsed


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
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--ema", type=decay, help="EMA decay, e.g. 0.999")
    p.add_argument("--out", required=True, type=out_file, help="checkpoint file to write (in an existing folder)")
    p.add_argument("--checkpoint-every", type=count, help="also save every N steps")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--data", help="data root (default: $GENEDU_DATA, else ./data)")
    add_device_arg(p)


def cmd_train(args) -> int:
    from .checkpoint import check_compatible, read_checkpoint
    from .data import check_data_root, load_mnist
    from .models.base import MODEL_REGISTRY, _import_families
    from .train import fit

    require_budget(args)
    check_data_root(args.data)  # a data root of the wrong kind fails before the model is built
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
    p.add_argument("--likelihood-k", type=count, default=100,
                   help="importance samples per image for the IWAE likelihood of the contenders that report one")
    p.add_argument("--likelihood-samples", type=count, default=2000,
                   help="test images the likelihoods are measured on (all 10,000 at most)")
    p.add_argument("--out", required=True, type=out_folder,
                   help="folder for results.json, report.md and figures (rerun to resume)")
    add_device_arg(p)


def cmd_showdown(args) -> int:
    from .data import check_data_root
    from .showdown import CONTENDERS, showdown, table_markdown

    check_data_root()
    contenders = CONTENDERS
    if args.only:
        known = {c.key: c for c in CONTENDERS}
        unknown = [k for k in args.only if k not in known]
        if unknown:
            raise ValueError(f"--only: unknown contender(s) {unknown}; choose from {sorted(known)}")
        contenders = [known[k] for k in args.only]
    results = showdown(contenders=contenders, minutes=args.minutes, images=args.images, seeds=args.seeds,
                       n_samples=args.samples, stages=args.stages, out=args.out, device=args.device,
                       data_limit=args.data_limit, ddim_steps=tuple(args.ddim_steps), ddim_samples=args.ddim_samples,
                       likelihood_k=args.likelihood_k, likelihood_n=args.likelihood_samples)
    print(table_markdown(results["summary"], results["calibration"]))
    print(f"report: {args.out}/report.md; every figure: {args.out}/results.json")
    return 0


SAMPLE_BYTES = 1 * 28 * 28 * 4  # one sample as float32: what `genedu sample` writes per image, uncompressed


def add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a checkpoint and write them to an .npz file")
    p.add_argument("--model", required=True, choices=["vae", "gan", "diffusion", "flow"], help="family of the checkpoint")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="checkpoint file written by `genedu train`")
    src.add_argument("--reference", nargs="?", const=True, metavar="NAME",
                     help="the shipped reference of the family, drawn with the sampling options it was scored "
                          "with (its JSON's sample_options); NAME picks one beside it, e.g. vae_pixel. "
                          "--sampler or --method replace the recorded sampler; other options replace one setting")
    p.add_argument("--n", type=count, default=10_000,
                   help="number of samples (10,000 for the protocol); drawn and written a batch at a time")
    p.add_argument("--out", required=True, type=out_npz,
                   help=".npz file to write (arrays: samples, labels if conditional, seconds, sample_options)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--batch-size", type=count, help="samples drawn at once (default: 100 on a CPU, where small "
                   "batches draw faster, 1,000 on a GPU; lower it if memory runs out)")
    p.add_argument("--bf16", action="store_true", help="run the network under bfloat16 autocast: about twice as fast "
                   "on a recent CPU, the same FID in benchmarks/results/reference_cpu_sampling.json")
    for name, (_, kind, metavar, text) in SAMPLE_OPTIONS.items():
        p.add_argument(f"--{name}", type=kind, metavar=metavar, help=text)
    p.add_argument("--labels", choices=["balanced"], help="conditional models: requested classes (default balanced)")
    add_device_arg(p)


def _reference_name(args) -> str:
    """The reference `--reference [NAME]` asks for: the family's own, or NAME if it belongs to --model."""
    from .reference import EXTRA, FAMILIES, family_of

    name = args.model if args.reference is True else args.reference
    names = [n for n in (*FAMILIES, *EXTRA) if family_of(n) == args.model]
    if name not in names:
        raise ValueError(f"--reference {name}: no such {args.model} reference; choose from {', '.join(names)} "
                         "(or leave NAME out for the family's own)")
    return name


def _check_disk(out: Path, n: int) -> None:
    """Refuse, before drawing, n samples that could not fit in the free space of --out's folder."""
    import shutil

    need = n * (SAMPLE_BYTES + 8)  # samples and labels, before compression
    free = shutil.disk_usage(out.parent if str(out.parent) else ".").free
    if need > free:
        raise ValueError(f"--n {n:,}: the samples take up to {need / 1e9:,.1f} GB (n x 1 x 28 x 28 float32, "
                         f"before compression), and {out.parent} has {free / 1e9:,.1f} GB free; draw fewer, "
                         "or write to a folder with more space")


def _write_samples(out: Path, batches, n: int, extra: dict) -> tuple[bool, float]:
    """Write the (images, labels) `batches` of n samples into the .npz `out` as they come, one batch in
    memory at a time: `samples` is streamed into the archive in .npy format, `labels` (if any) and the
    arrays in `extra` follow. Written to a temporary name and renamed, so a failed or interrupted run
    leaves no half-written file. Returns (conditional, seconds spent drawing, writing excluded)."""
    import os
    import time
    import zipfile

    import numpy as np
    from numpy.lib import format as npy

    tmp = out.with_name(f".{out.name}.part")
    labels, seconds = [], 0.0
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            with zf.open("samples.npy", "w", force_zip64=True) as f:
                header = {"descr": npy.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                          "shape": (n, 1, 28, 28)}
                npy.write_array_header_1_0(f, header)
                while True:
                    start = time.perf_counter()
                    batch = next(batches, None)
                    seconds += time.perf_counter() - start
                    if batch is None:
                        break
                    images, y = batch
                    f.write(np.ascontiguousarray(images.numpy(), dtype="<f4").tobytes())
                    if y is not None:
                        labels.append(y.numpy())
            arrays = {**({"labels": np.concatenate(labels)} if labels else {}), "seconds": np.float64(seconds),
                      **extra}
            for name, value in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                    npy.write_array(f, np.asanyarray(value), allow_pickle=False)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return bool(labels), seconds


def cmd_sample(args) -> int:
    import json

    import numpy as np
    import torch

    from .checkpoint import load_model
    from .reference import load_reference, reference_path, sample_options
    from .sampling import sample_batches
    from .utils import default_device

    given = {k: getattr(args, k) for k in SAMPLE_OPTIONS if getattr(args, k) is not None}
    check_sample_options(args.model, given, source=f"--model {args.model}", flags=True)  # e.g. --prior, diffusion
    _check_disk(Path(args.out), args.n)
    name = _reference_name(args) if args.reference else None
    device = torch.device(args.device) if args.device else default_device()
    if name:
        model, source = load_reference(name, device=device), reference_path(name)
    else:
        model, source = load_model(args.checkpoint, device=device), args.checkpoint
    if model.family != args.model:
        raise ValueError(f"--model {args.model} but {source} holds a {model.family} checkpoint")
    opts = given
    if name:  # the options the reference was scored with (the same vocabulary), unless told otherwise
        recorded = check_sample_options(args.model, sample_options(name),
                                        source=f"{source.with_suffix('.json')} (its sample_options)")
        if "sampler" in given or "method" in given:  # another sampler: the recorded one's settings go with it
            recorded = {k: v for k, v in recorded.items() if k not in ("sampler", "method", "steps", "eta")}
        opts = {**recorded, **given}
    if "eta" in opts and opts.get("sampler", "ddim") != "ddim":
        raise ValueError(f"--eta is DDIM's noise level; sampler {opts['sampler']} takes none: leave --eta out "
                         "or use --sampler ddim")
    conditional = getattr(model.config, "num_classes", 0) > 0
    if args.labels and not conditional:
        raise ValueError(f"--labels {args.labels}: {source} holds an unconditional {model.family}, which "
                         "cannot be asked for classes; leave --labels out")
    if "guidance" in opts and not conditional:
        raise ValueError(f"--guidance: {source} holds an unconditional model; guidance needs a "
                         "class-conditional one; leave --guidance out")
    from .sampling import default_batch

    batch = min(args.batch_size or default_batch(model), args.n)
    batches = sample_batches(model, args.n, generator=torch.Generator().manual_seed(args.seed), batch_size=batch,
                             bf16=args.bf16, **opts)
    try:
        _, seconds = _write_samples(Path(args.out), batches, args.n,
                                    {"sample_options": np.array(json.dumps(opts, sort_keys=True))})
    except (MemoryError, RuntimeError) as e:  # torch.OutOfMemoryError is a RuntimeError
        if not isinstance(e, MemoryError) and "memory" not in str(e).lower() and "alloc" not in str(e).lower():
            raise
        raise ValueError(f"out of memory drawing {batch:,} samples at once on {device} "
                         f"({type(e).__name__}); lower --batch-size (memory holds one batch at a time)") from None
    used = ", ".join(f"{k}={v}" for k, v in sorted(opts.items())) or "the model's default sampling"
    print(f"wrote {args.n} samples from {source} to {args.out} with {used} "
          f"({seconds * 1000 / args.n:.2f} s per 1,000)")
    return 0


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score samples in an .npz file (or: evaluate train-classifier)",
                       description="`genedu evaluate FILE.npz [FILE.npz ...] [--json]` scores the array `samples` "
                       "(N x 1 x 28 x 28 in [-1, 1]; `labels` optional) of each file against the 10,000 test "
                       "images (every file is checked before any is scored; the real images' part of the work "
                       "is done once for all). "
                       "`genedu evaluate train-classifier --out FOLDER` retrains the feature classifier "
                       "(--force to replace the shipped one).")
    p.add_argument("target", nargs="+", help="FILE.npz (one or more), or train-classifier")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of a table (a list of them for several files)")
    p.add_argument("--no-calibration", action="store_true", help="skip the calibration rows")
    p.add_argument("--epochs", type=count, default=3, help="train-classifier: epochs")
    p.add_argument("--seed", type=seed, default=0, help="train-classifier: seed")
    p.add_argument("--out", type=out_folder, help="train-classifier: folder for classifier.pt/.json")
    p.add_argument("--force", action="store_true",
                   help="train-classifier without --out: replace the shipped classifier in genedu/assets")


def _read_npz(path: str) -> dict:
    """The arrays `genedu evaluate` reads from an .npz file (samples; labels and seconds if there), as a
    dict; a missing file, one of another kind or an unreadable array gets one line saying so."""
    import zipfile
    import zlib

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
    arrays = {}
    for name in ("samples", "labels", "seconds"):  # the arrays evaluate reads; others are left unread
        if name not in data.files:
            continue
        try:
            arrays[name] = data[name]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # a damaged member, objects
            raise ValueError(f"{path}: the array {name!r} cannot be read ({type(e).__name__}: {e}); "
                             f"save it again with numbers only; {how}") from None
    return arrays


def cmd_evaluate(args) -> int:
    import json
    import warnings

    from .evaluate import check_samples, evaluate_samples, train_classifier
    from .evaluate.report import check_labels

    if "train-classifier" in args.target:
        if args.target != ["train-classifier"]:
            raise UsageError(f"train-classifier is a command of its own; got {' '.join(args.target)}")
        if args.out is None and not args.force:
            raise UsageError("train-classifier would overwrite the shipped classifier (genedu/assets/classifier.pt), "
                             "which every score depends on; write elsewhere with --out FOLDER, or pass --force "
                             "to replace it")
        meta = train_classifier(epochs=args.epochs, seed=args.seed, out=args.out)
        print(json.dumps(meta, indent=2))
        return 0
    if args.force:
        raise UsageError("--force only applies to `genedu evaluate train-classifier`")
    from .data import check_data_root
    from .evaluate.report import check_seconds

    inputs = []
    for path in args.target:  # every field evaluate reads, of every file, is checked before any is scored
        data = _read_npz(path)
        try:
            samples = check_samples(data["samples"])  # kind, shape, range, finiteness
            labels = check_labels(data["labels"], len(samples)) if "labels" in data else None
            seconds = check_seconds(data["seconds"]) if "seconds" in data else None
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        inputs.append((path, samples, labels, seconds))
    check_data_root()  # the test images are read next
    reports = []
    for path, samples, labels, seconds in inputs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reports.append(evaluate_samples(samples, labels=labels, sample_seconds=seconds,
                                            with_calibration=not args.no_calibration, name=path))
        for w in caught:
            print(f"genedu evaluate: warning: {path}: {w.message}", file=sys.stderr)
        if not args.json:
            print(reports[-1].table() + ("\n" if len(inputs) > 1 else ""))
    if args.json:
        objects = [json.loads(r.to_json()) for r in reports]
        print(json.dumps(objects[0] if len(objects) == 1 else [{"file": p, **o} for p, o in zip(args.target, objects)]))
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
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--ema", type=decay, help="EMA decay; the reference keeps the EMA weights")
    p.add_argument("--samples", type=count, default=10_000, help="samples scored for the recorded figures")
    p.add_argument("--work", required=True, type=out_folder, help="folder for the training checkpoint (rerun to resume)")
    p.add_argument("--out-dir", type=out_folder, help="where to write <family>.pt/.json (default: genedu/assets/references)")
    add_device_arg(p)


def cmd_reference(args) -> int:
    import shlex

    import json

    from .data import check_data_root
    from .reference import make_reference

    require_budget(args)
    try:
        options = None if args.sample_options is None else json.loads(args.sample_options)
    except json.JSONDecodeError as e:
        raise UsageError(f"--sample-options must be JSON such as '{{\"sampler\": \"dpm\", \"steps\": 20}}': {e}")
    if options is not None:  # recorded in the reference, so `genedu sample --reference` must take them back
        options = check_sample_options(args.model, options, source="--sample-options")
    check_data_root()
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
