"""Figures and measurements of lesson 03 (diffusion).

- `image_rows`: named rows of digits, one grid per row (the seed denoiser's figure);
- `nearest_distance`: how far each image lies from its nearest reference digit, in pixel space;
- `within_class_spread`: the lesson's "diversity", the mean distance between two samples of one class;
- `timed_sample`: samples and the seconds they took;
- `measure_samples`, `sample_and_measure`: one row of the lesson's sampler measurements (FID, class
  accuracy, diversity, seconds per 1,000 images);
- `real_digits_row`: the same row for real digits, the scale the others are read against;
- `sampler_table`: rows as a printed table;
- `plot_steps_rows`, `plot_guidance_rows`: the lesson's two measured curves.

Images are (N, 1, 28, 28) tensors in [-1, 1], as everywhere in genedu.
"""

from __future__ import annotations

import math
import time
import warnings

import matplotlib.pyplot as plt
import torch

from .plots import image_grid


def _check_images(images: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1:] != (1, 28, 28):
        found = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name}: expected a tensor of shape (N, 1, 28, 28), found {found}; "
                         "pass images as genedu's loaders and samplers return them")
    return images


def image_rows(rows: dict[str, torch.Tensor], *, nrow: int = 8, width: float = 8.0, row_height: float = 1.28):
    """One titled grid per entry of `rows` ({title: images (n, 1, 28, 28)}), stacked top to bottom."""
    if not rows:
        raise ValueError("image_rows: expected at least one {title: images} entry, found none")
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, row_height * len(rows)), squeeze=False)
    for ax, (title, images) in zip(axes[:, 0], rows.items()):
        image_grid(_check_images(images, title).clamp(-1, 1), nrow=nrow, ax=ax, title=title)
    fig.tight_layout()
    return fig


def nearest_distance(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Euclidean pixel distance (n,) from each image to its nearest image of `reference` (m, 1, 28, 28)."""
    from .evaluate.metrics import nearest_distances

    a = _check_images(images, "images").flatten(1).cpu()
    b = _check_images(reference, "reference").flatten(1).cpu()
    return nearest_distances(a, b).float()


def within_class_spread(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean Euclidean distance between two different images of the same class, averaged over the classes
    that hold at least two images. Smooth, average-looking samples score low; real digits are the scale."""
    x = _check_images(images, "images").flatten(1).float().cpu()
    labels = torch.as_tensor(labels).cpu()
    if labels.shape != (len(x),):
        raise ValueError(f"within_class_spread: expected one label per image ({len(x)},), found {tuple(labels.shape)}")
    out = []
    for c in labels.unique():
        xc = x[labels == c]
        if len(xc) > 1:
            out.append(torch.cdist(xc, xc).sum() / (len(xc) * (len(xc) - 1)))  # the diagonal is 0
    if not out:
        raise ValueError("within_class_spread: no class holds two images; draw at least two per class")
    return torch.stack(out).mean().item()


def measure_samples(images: torch.Tensor, labels: torch.Tensor, seconds: float | None = None) -> dict:
    """FID and class accuracy (the evaluation classifier of lesson 04), diversity (`within_class_spread`),
    and, given the seconds they took, seconds per 1,000 images. Compare rows of equal counts only."""
    from .evaluate import evaluate_samples

    with warnings.catch_warnings():  # the small-count warning: the lesson compares equal counts only
        warnings.simplefilter("ignore")
        report = evaluate_samples(images, labels=labels, with_calibration=False).as_dict()
    row = {"fid": report["fid"], "accuracy": report["conditional_accuracy"],
           "diversity": within_class_spread(images, labels)}
    if seconds is not None:
        row["s_per_1000"] = seconds / len(images) * 1000
    return row


def timed_sample(model, n: int, **options) -> tuple[torch.Tensor, float]:
    """`model.sample(n, **options)` moved to the CPU, and the wall-clock seconds the sampling took."""
    t0 = time.perf_counter()
    x = model.sample(n, **options)
    return x.cpu(), time.perf_counter() - t0


def sample_and_measure(model, steps: int, *, n: int, guidance: float | None = None, seed: int = 1) -> dict:
    """n class-balanced DDIM samples of `model` (labels i mod 10, noise from `seed`), timed and measured."""
    if n < 20:
        raise ValueError(f"sample_and_measure: n = {n} gives fewer than two samples per class; use n >= 20")
    labels = torch.arange(n) % 10
    x, seconds = timed_sample(model, n, labels=labels, sampler="ddim", steps=steps, guidance=guidance,
                              generator=torch.Generator().manual_seed(seed))
    return measure_samples(x, labels, seconds)


def real_digits_row(images: torch.Tensor, labels: torch.Tensor) -> dict:
    """The yardstick row for n real test digits: FID of n real *training* digits against the test set (the
    floor a perfect sampler reaches at that count, `calibration(n)`), and the digits' own diversity."""
    from .evaluate import calibration

    return {"fid": calibration(len(images))[0]["fid"], "accuracy": math.nan,
            "diversity": within_class_spread(images, labels)}


def sampler_table(rows: list[tuple[str, int, dict]]) -> str:
    """The lesson's summary table: one line per (name, sample count, row); a missing figure prints as nan."""
    lines = [f"{'sampler':<34}{'samples':>8}{'s per 1,000':>13}{'FID':>9}{'class acc.':>12}{'diversity':>11}"]
    for name, n, r in rows:
        v = [r.get(k, math.nan) for k in ("s_per_1000", "fid", "accuracy", "diversity")]
        lines.append(f"{name:<34}{n:>8,}{v[0]:13.1f}{v[1]:9.2f}{v[2]:12.3f}{v[3]:11.2f}")
    return "\n".join(lines)


def plot_steps_rows(rows: dict[int, dict], floor_fid: float, *, title: str = ""):
    """FID (left) and seconds per 1,000 images (right, dashed) against sampler steps, log x, with the FID of
    real digits at the same count as a flat line. `rows`: {steps: row of `sample_and_measure`}."""
    from .plots import measured_curve

    steps = list(rows)
    curves = {"FID": [r["fid"] for r in rows.values()], "real digits, same count": [floor_fid] * len(steps)}
    return measured_curve(steps, curves,
                          xlabel="sampler steps", left_label="FID (lower: closer to real digits)",
                          right={"s per 1,000 images": [r["s_per_1000"] for r in rows.values()]},
                          right_label="seconds per 1,000 images", logx=True, title=title)


def plot_guidance_rows(rows: dict[float, dict], real_diversity: float, *, title: str = ""):
    """Class accuracy and diversity relative to real digits' against the guidance scale w.
    `rows`: {w: row of `sample_and_measure`}."""
    from .plots import measured_curve

    if not real_diversity > 0:
        raise ValueError(f"plot_guidance_rows: real_diversity must be positive, found {real_diversity}")
    return measured_curve(list(rows), {"class accuracy": [r["accuracy"] for r in rows.values()],
                                       "diversity / real diversity": [r["diversity"] / real_diversity
                                                                      for r in rows.values()]},
                          xlabel="guidance scale w", left_label="fraction", title=title)
