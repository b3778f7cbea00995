"""Measurements and record readers of lesson 01 (variational autoencoders).

The lesson states its claims as asserts; the functions here do the counting and the reading behind them:
blur and diversity of a batch of samples, which logits of an autoregressive (PixelCNN) decoder move when
one pixel flips, and the rows of the measured `laptop` VAE trials (benchmarks/results/recipe_trials.json)
and learned-prior sweep (benchmarks/results/vae_priors.json), with the text a lesson prints for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .diagnostics import blur_share, sample_diversity

SHOWDOWN_IMAGES = 275_072  # the showdown's training budget in images (lesson 05)
# the changes to the `laptop` VAE at the showdown's budget, in the order lesson 01 tells them
LAPTOP_STEPS = ("as it was", "batch 64 (", "batch 64, 50-component", "channels=64", "resconv channels=16",
                "resconv channels=32", "beta=0.5")


def sample_stats(images: torch.Tensor) -> tuple[float, float]:
    """(blur, diversity) of images (B, 1, 28, 28) in [-1, 1]: the share of grey pixels over all of them, and
    the mean pairwise distance per pixel over the first 200 (pairs grow as B squared)."""
    if images.dim() != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"sample_stats expects images (B, 1, 28, 28), got {tuple(images.shape)}: "
                         "pass a batch of digits, e.g. model.sample(n)")
    return blur_share(images), sample_diversity(images[:200])


@torch.no_grad()
def flip_change(model, x01: torch.Tensor, row: int, col: int) -> torch.Tensor:
    """How much each of the 784 pixel logits of `model.pixel_logits` moves, (784,) in raster order, when the
    pixel (row, col) of one binarised digit x01 (1, 1, 28, 28) in {0, 1} flips; z is the digit's own code.
    An autoregressive decoder moves only the pixels after (row, col)."""
    if x01.shape != (1, 1, 28, 28) or not torch.all((x01 == 0) | (x01 == 1)):
        raise ValueError(f"flip_change expects one binarised digit (1, 1, 28, 28) in {{0, 1}}, got shape "
                         f"{tuple(x01.shape)}: use genedu.data.binarize on one image")
    if not (0 <= row < 28 and 0 <= col < 28):
        raise ValueError(f"flip_change: pixel ({row}, {col}) is outside the 28x28 image")
    z = model.encode(2 * x01 - 1)[0]
    flipped = x01.clone()
    flipped[0, 0, row, col] = 1 - flipped[0, 0, row, col]
    return (model.pixel_logits(flipped, z) - model.pixel_logits(x01, z)).abs().flatten()


def _read(path: Path, key: str) -> dict:
    data = json.loads(Path(path).read_text())
    if key not in data:
        raise ValueError(f"{path} holds no {key!r} (found {sorted(data)}): expected the file its benchmark "
                         "script writes; run that script again")
    return data


def laptop_trials(path: Path) -> dict:
    """The `laptop` VAE trials of recipe_trials.json: `text` (one line per trial, worst FID first),
    `ema_only_fid` and `cosine_fid` (the five-minute runs without and with the learning-rate schedule),
    `step_fids` (the FID after each of LAPTOP_STEPS at the showdown's budget, the steps found, in order)
    and `nats` (IWAE NLL at beta "0.5" and "0.25")."""
    trials = {k: t for k, t in _read(path, "trials")["trials"].items() if k.startswith("vae/laptop")}
    showdown = {k: t for k, t in trials.items() if t["images"] == SHOWDOWN_IMAGES}
    five = {k: t for k, t in trials.items() if "five minutes" in k}
    pick = lambda rows, part: next((t["fid"] for k, t in rows.items() if part in k), None)  # noqa: E731
    return {"text": "\n".join(f"FID {t['fid']:5.1f}  {k}" for k, t in sorted(trials.items(), key=lambda kv: -kv[1]["fid"])),
            "ema_only_fid": pick(five, "EMA only"), "cosine_fid": pick(five, "cosine decay"),
            "step_fids": [t["fid"] for step in LAPTOP_STEPS for k, t in showdown.items() if step in k],
            "nats": {b: showdown[f"vae/laptop beta={b} (showdown images)"]["nll_nats"] for b in ("0.5", "0.25")
                     if f"vae/laptop beta={b} (showdown images)" in showdown}}


def prior_sweep(path: Path) -> dict:
    """The learned-prior sweep of vae_priors.json: `text` (the showdown VAEs' mean FID per setting, then the
    beta-0.5 trial's rows), `per_seed` ({setting: [FID per seed]}) and `by_temperature` ({(components,
    codes): the trial's rows at that setting, temperature rising})."""
    sweep = _read(path, "showdown_means")
    means, trial = sweep["showdown_means"]["rows"], {k: r for k, r in sweep["rows"].items() if k.startswith("beta=0.5 trial")}
    lines = [f"{k:19s} FID {m['fid_mean']:5.1f} +/- {m['fid_std']:.1f} (3 seeds, temperature 1)" for k, m in means.items()]
    lines += [f"{k.split(': ', 1)[-1]:28s} FID {r['fid']:5.1f}  precision {r['precision']:.3f}  recall {r['recall']:.3f}"
              for k, r in trial.items()]
    settings = {(r["components"], r["codes"]) for r in trial.values()}
    return {"text": "\n".join(lines), "per_seed": {k: m["fids"] for k, m in means.items()},
            "by_temperature": {s: sorted((r for r in trial.values() if (r["components"], r["codes"]) == s),
                                         key=lambda r: r["temperature"]) for s in sorted(settings)}}
