"""Train the GAN presets for the original notebook's budget (5 epochs of the 60,000 training images,
batch 128) and keep what lesson 02 and its figures need: the checkpoint, fixed-noise grids, and a
snapshot of G's weights every `--snap-every` steps (for the class histogram over time).

    python benchmarks/gan_runs.py train --out runs/gan [--runs seed:0 dcgan:0 ...] [--threads 1] \
        [--dynamics benchmarks/results/gan_dynamics.json]
    python benchmarks/gan_runs.py evaluate --out runs/gan [--n 10000] [--json benchmarks/results/gan.json]

A run is `preset:seed` or `preset/loss:seed` (e.g. `seed/minimax:0`: the seed preset with the saturating loss).
`train` records each run's training dynamics in `--dynamics` (what lesson 02 quotes): D's mean outputs on
real and generated images and G's gradient norm over the first 400 steps' last 100 and over the last 100
steps of the budget, with the steps, seconds, threads and machine.
Checkpoints are large: keep --out outside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

import genedu
from genedu.models.gan import GAN

DEFAULT_RUNS = ["seed:0", "dcgan:0", "seed/minimax:0", "seed:1", "seed:2", "cgan:0", "sngan:0", "dcgan:1", "dcgan:2"]


def parse_run(run: str) -> tuple[str, str | None, int]:
    name, seed = run.split(":")
    preset, _, loss = name.partition("/")
    return preset, loss or None, int(seed)


def run_name(run: str) -> str:
    return run.replace("/", "-").replace(":", "_s")


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": sys.version.split()[0],
            "torch": str(torch.__version__), "genedu": genedu.__version__}


def train(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = genedu.load_mnist("train_full")  # the original trained on all 60,000 images
    for run in args.runs:
        preset, loss, seed = parse_run(run)
        name = run_name(run)
        if (out / f"{name}.pt").is_file():
            print(f"{name}: exists, skipped", flush=True)
            continue
        model = GAN.from_preset(preset, **({"loss": loss} if loss else {}))
        snaps = []

        def snapshot(step, m, history):
            if step % args.snap_every == 0:
                snaps.append({"step": step, "G": {k: v.detach().clone() for k, v in m.G.state_dict().items()}})

        t0 = time.perf_counter()
        history = genedu.fit(model, data, epochs=args.epochs, batch_size=128, seed=seed, device="cpu",
                             checkpoint=out / f"{name}.pt", sample_every=args.snap_every, n_grid=64,
                             callbacks=(snapshot,), progress=False)
        seconds = time.perf_counter() - t0
        torch.save({"snapshots": snaps, "seconds": seconds, "machine": machine(), "run": run},
                   out / f"{name}.snaps.pt")
        record_dynamics(args, run, history, seconds)
        print(f"{name}: {int(history.last('step'))} steps in {seconds:.0f} s; last 100 steps "
              f"d_loss {history.mean('d_loss', last=100):.3f} g_loss {history.mean('g_loss', last=100):.3f} "
              f"d_real {history.mean('d_real', last=100):.3f} d_fake {history.mean('d_fake', last=100):.3f}",
              flush=True)


def record_dynamics(args, run: str, history, seconds: float) -> None:
    """Add one run's D outputs and G gradient norms (means over windows of 100 steps) to --dynamics."""
    path = Path(args.dynamics)
    saved = json.loads(path.read_text()) if path.is_file() else {
        "what": "GAN training dynamics: D's mean output on real (d_real) and generated (d_fake) images, G's "
                "gradient norm; means over steps 301-400 and over the budget's last 100 steps",
        "data": "train_full (60,000 images), batch 128", "runs": {}}
    n = len(history["d_real"])
    windows = {"steps_301_400": (300, 400), "last_100": (n - 100, n)}
    saved["runs"][run] = {
        "epochs": args.epochs, "steps": int(history.last("step")), "images": int(history.last("images")),
        "train_seconds": round(seconds, 1), "machine": machine(),
        **{w: {k: sum(history[k][a:b]) / (b - a) for k in ("d_real", "d_fake", "g_grad_norm") if k in history}
           for w, (a, b) in windows.items() if n >= b > a >= 0}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=1) + "\n")


def evaluate(args) -> None:
    from genedu.evaluate import class_histogram, evaluate_samples

    out = Path(args.out)
    results = {"machine": machine(), "n_samples": args.n, "runs": {}}
    for ckpt in sorted(out.glob("*.pt"), key=lambda p: (not p.name.startswith(("seed_s0", "dcgan_s0")), p.name)):
        if ckpt.name.endswith(".snaps.pt"):
            continue
        model = genedu.load_model(ckpt)
        extra = torch.load(ckpt.with_name(ckpt.stem + ".snaps.pt"), weights_only=False)  # our own file
        g = torch.Generator().manual_seed(2024)
        labels = torch.arange(args.n) % 10 if model.conditional else None
        t0 = time.perf_counter()
        samples = model.sample(args.n, labels=labels, generator=g)
        sample_s = time.perf_counter() - t0
        report = evaluate_samples(samples, labels=labels, sample_seconds=sample_s,
                                  with_calibration=not results["runs"])  # calibration rows once
        over_time = []
        for snap in extra["snapshots"]:
            model.G.load_state_dict(snap["G"])
            model.eval()
            lab = torch.arange(1000) % 10 if model.conditional else None
            s = model.sample(1000, labels=lab, generator=torch.Generator().manual_seed(7))
            over_time.append({"step": snap["step"], "class_shares": [round(float(v), 4) for v in class_histogram(s)]})
        results["runs"][ckpt.stem] = {
            "run": extra["run"], "train_seconds": round(extra["seconds"], 1),
            "sample_seconds_per_1000": round(1000 * sample_s / args.n, 3),
            "report": {k: (round(v, 5) if isinstance(v, float) else v) for k, v in report.as_dict().items()},
            "class_histogram": [round(float(v), 4) for v in class_histogram(samples)],
            "class_histogram_over_time": over_time}
        print(ckpt.stem, json.dumps(results["runs"][ckpt.stem]["report"]), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["train", "evaluate"])
    p.add_argument("--out", default="runs/gan")
    p.add_argument("--runs", nargs="+", default=DEFAULT_RUNS)
    p.add_argument("--epochs", type=float, default=5)
    p.add_argument("--snap-every", type=int, default=234)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--json", default="benchmarks/results/gan.json")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dynamics", default="benchmarks/results/gan_dynamics.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train(args) if args.command == "train" else evaluate(args)


if __name__ == "__main__":
    main()
