"""Training and sampling speed of every family's presets on this machine, and what pays on a CPU, as JSON.

    python benchmarks/speed.py --out benchmarks/results/speed.json [--train-steps 20] [--n 500]

Training: images per second of `fit` with the preset's own batch size and recipe (EMA included: that is
what `genedu train --preset P` runs; a GAN's step holds a D and a G update), timed over `--train-steps`
steps (more where a small batch needs them to reach `--min-images`) after `--warmup` steps, for each way
of running it that may pay on a CPU:

- `default`: torch's own thread count (here, one per core);
- `1 thread`: what a second job on the same two cores leaves each of them;
- `channels_last`: the model's weights (so its convolutions) in NHWC memory layout (conv presets only);
- `torch.compile`: each of the model's sub-networks compiled with the default (inductor) backend; the
  warm-up time, which holds the compilation, is recorded beside the steady speed, since a five-minute
  run pays it from its budget.

A variant that fails (e.g. a compiler missing) is recorded with its error, not dropped. Sampling: images
per second of `model.sample` for `--n` images in batches of 500 (default variant), and for the DDPM its
DDIM step counts and the 1,000-step ancestral sampler (on fewer images), for the flow its Euler steps.
Speed does not depend on the weights, so freshly initialised (seeded) models are timed. The machine,
torch version, threads and the load average before and after are recorded: figures taken while another
job shared the CPU are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

import genedu
from genedu.models.base import MODEL_REGISTRY, _import_families
from genedu.utils import count_parameters

PRESETS = [("vae", "seed"), ("vae", "conv"), ("vae", "laptop"), ("gan", "seed"), ("gan", "dcgan"),
           ("gan", "laptop"), ("diffusion", "seed"), ("diffusion", "ddpm"), ("diffusion", "laptop"),
           ("flow", "laptop")]
VARIANTS = ("default", "1 thread", "channels_last", "torch.compile")


def has_conv(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def prepare(model: nn.Module, variant: str) -> None:
    """Apply a variant to a freshly built model, in place."""
    if variant == "channels_last":
        model.to(memory_format=torch.channels_last)
    elif variant == "torch.compile":
        for child in model.children():
            if any(True for _ in child.parameters()):
                child.compile()


def train_speed(family: str, preset: str, variant: str, data, steps: int, warmup: int) -> dict:
    cls = MODEL_REGISTRY[family]
    threads = torch.get_num_threads()
    row = {"family": family, "preset": preset, "variant": variant}
    try:
        if variant == "1 thread":
            torch.set_num_threads(1)
        torch.manual_seed(0)
        model = cls.from_preset(preset)
        prepare(model, variant)
        recipe = {k: v for k, v in cls.recipe(preset).items() if k in ("ema",)}  # the per-step cost of a recipe
        started = time.perf_counter()
        genedu.fit(model, data, steps=warmup, progress=False, device="cpu", **recipe)  # first calls, compilation
        warm = time.perf_counter() - started
        started = time.perf_counter()
        history = genedu.fit(model, data, steps=steps, progress=False, device="cpu", **recipe)
        seconds = time.perf_counter() - started
        images = history.last("images")
        row.update(parameters=count_parameters(model), batch_size=int(images // steps), steps=steps,
                   images=images, seconds=round(seconds, 2), warmup_seconds=round(warm, 2),
                   images_per_second=round(images / seconds, 1))
    except Exception as e:  # noqa: BLE001 - a variant that cannot run here is a finding, recorded
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
    finally:
        torch.set_num_threads(threads)
        torch._dynamo.reset()
    return row


def sample_speed(model, n, **opts):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 10 if model.conditional else None
    model.sample(min(n, 20), labels=None if labels is None else labels[:20], generator=g, **opts)  # warm-up
    started = time.perf_counter()
    with torch.no_grad():
        for i in range(0, n, 500):
            model.sample(min(500, n - i), labels=None if labels is None else labels[i:i + 500], generator=g, **opts)
    seconds = time.perf_counter() - started
    return {"n": n, "seconds": round(seconds, 2), "images_per_second": round(n / seconds, 2), **opts}


def table(rec: dict) -> str:
    """The README's table from a recorded JSON: training images/s per preset and variant, and sampling."""
    rows, order = {}, []
    for r in rec["training"]:
        key = (r["family"], r["preset"])
        if key not in rows:
            order.append(key)
        cell = "failed" if "error" in r else f"{r['images_per_second']:,.0f}"
        if r["variant"] == "torch.compile" and "error" not in r:
            cell += f" (first steps {r['warmup_seconds']:.0f} s)"
        rows.setdefault(key, {})[r["variant"]] = cell
    sampled = {}
    for r in rec["sampling"]:
        opts = ", ".join(f"{k} {v}" for k, v in r.items() if k not in (  # the sampler's options only
            "family", "preset", "n", "seconds", "images_per_second", "load_average_before_after", "measured"))
        sampled.setdefault((r["family"], r["preset"]), []).append(
            f"{r['images_per_second']:,.1f}" + (f" ({opts})" if opts else ""))
    out = ["| preset | batch | training images/s: default | 1 thread | channels_last | torch.compile | sampling images/s |",
           "|---|---|---|---|---|---|---|"]
    for key in order:
        v, batch = rows[key], next(r.get("batch_size", "") for r in rec["training"] if (r["family"], r["preset"]) == key)
        out.append(f"| {key[0]} `{key[1]}` | {batch} | {v.get('default', '-')} | {v.get('1 thread', '-')} | "
                   f"{v.get('channels_last', '-')} | {v.get('torch.compile', '-')} | {'; '.join(sampled.get(key, []))} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true", help="print the README's table from --out and stop")
    ap.add_argument("--out", default="benchmarks/results/speed.json")
    ap.add_argument("--train-steps", type=int, default=20, help="timed steps, at least (see --min-images)")
    ap.add_argument("--min-images", type=int, default=2560,
                    help="time at least this many images: more steps for a small batch (20 steps of 32 images "
                         "last half a second, too short to read on a CPU)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (they hold torch.compile's work)")
    ap.add_argument("--n", type=int, default=500, help="images per sampling measurement")
    ap.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--flow-steps", type=int, nargs="+", default=[10])
    ap.add_argument("--ddpm-n", type=int, default=50, help="images for ancestral (1,000-step) sampling")
    ap.add_argument("--only", nargs="+", default=None, help="family/preset pairs, e.g. vae/laptop (a quick check)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--data-limit", type=int, default=None, help="train on the first images only (a quick check)")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(Path(args.out).read_text())))
        return
    _import_families()  # the flow family registers on first use
    if args.train_steps < 1 or args.warmup < 1 or args.n < 1 or args.ddpm_n < 1 or args.min_images < 0:
        ap.error("--train-steps, --warmup, --n and --ddpm-n must be at least 1, --min-images at least 0")
    presets = PRESETS
    if args.only:
        presets = [tuple(p.split("/", 1)) for p in args.only]
        unknown = [p for p in presets if p not in PRESETS]
        if unknown:
            ap.error(f"unknown family/preset {unknown}; choose from {['/'.join(p) for p in PRESETS]}")
    load_before = list(os.getloadavg())

    data = genedu.load_mnist("train")
    if args.data_limit:
        data = data.subset(torch.arange(min(args.data_limit, len(data))))
    training = []
    for family, preset in presets:
        for variant in args.variants:
            if variant == "channels_last" and not has_conv(MODEL_REGISTRY[family].from_preset(preset)):
                continue
            batch = MODEL_REGISTRY[family].from_preset(preset).config.batch_size
            steps = max(args.train_steps, -(-args.min_images // batch))
            r = train_speed(family, preset, variant, data, steps, args.warmup)
            training.append(r)
            speed = f"{r['images_per_second']:8.1f} images/s (warm-up {r['warmup_seconds']:.1f} s)" if "error" not in r \
                else f"failed: {r['error']}"
            print(f"train  {family:9s} {preset:7s} {variant:14s} {speed}", flush=True)
    for family, preset in presets:  # what pays: each variant against the default, same preset
        base = next((r for r in training if (r["family"], r["preset"], r["variant"]) == (family, preset, "default")
                     and "error" not in r), None)
        for r in training:
            if base and (r["family"], r["preset"]) == (family, preset) and "error" not in r:
                r["speedup_vs_default"] = round(r["images_per_second"] / base["images_per_second"], 3)
    sampling = []
    for family, preset in presets:
        torch.manual_seed(0)
        model = MODEL_REGISTRY[family].from_preset(preset).eval()
        runs = [{}]
        if family == "diffusion" and preset != "seed":
            runs = [{"sampler": "ddim", "steps": k} for k in args.ddim_steps] + [{"sampler": "ddpm"}]
        if family == "flow":
            runs = [{"method": "euler", "steps": k} for k in args.flow_steps]
        for opts in runs:
            n = args.ddpm_n if opts.get("sampler") == "ddpm" else args.n
            r = {"family": family, "preset": preset, **sample_speed(model, n, **opts)}
            sampling.append(r)
            print(f"sample {family:9s} {preset:7s} {json.dumps(opts):36s} {r['images_per_second']:8.2f} images/s",
                  flush=True)
    if args.only and Path(args.out).is_file():  # a quick remeasure of some presets keeps the others' rows
        old = json.loads(Path(args.out).read_text())
        when = {"load_average_before_after": [load_before, list(os.getloadavg())], "measured": "with --only, "
                "after the other rows" + (f" (load before/after of those: {old['machine']['load_average_before_after']})"
                                          if "machine" in old else "")}
        for r in training + sampling:
            r.update(when)
        mine = set(presets)
        training = [r for r in old.get("training", []) if (r["family"], r["preset"]) not in mine] + training
        sampling = [r for r in old.get("sampling", []) if (r["family"], r["preset"]) not in mine] + sampling
        order = {p: i for i, p in enumerate(PRESETS)}
        training.sort(key=lambda r: order.get((r["family"], r["preset"]), len(order)))
        sampling.sort(key=lambda r: order.get((r["family"], r["preset"]), len(order)))
        load_before = old.get("machine", {}).get("load_average_before_after", [load_before])[0]
    out = {
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "device": "cpu",
                    "load_average_before_after": [load_before, list(os.getloadavg())]},
        "settings": {"batch_size": "each preset's own", "recipe": "each preset's EMA", "train_steps": f"at least {args.train_steps}, and at least {args.min_images} images",
                     "warmup_steps": args.warmup, "sample_n": args.n, "ddpm_n": args.ddpm_n, "seed": 0,
                     "data_limit": args.data_limit},
        "training": training,
        "sampling": sampling,
    }
    if args.only and Path(args.out).is_file() and "settings" in old:  # the other rows' settings stay the file's
        out["settings"] = {**old["settings"], "remeasured": "rows measured with --only give their own steps and n"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
