"""Every figure the lessons show. Each function returns a matplotlib Figure (the caller shows it).

Sections: generic (grids, histories), then one per lesson. Images are taken in genedu's [-1, 1] scale.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def _np_images(images) -> np.ndarray:
    """(N, 1, 28, 28) or (N, 28, 28) tensor/array in [-1, 1] -> (N, 28, 28) numpy in [0, 1]."""
    x = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if x.ndim == 4:
        x = x[:, 0]
    return np.clip((x + 1) / 2, 0, 1)


def make_grid(images, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, 1, 28, 28) images in [-1, 1] into one 2-D array in [0, 1] (ink is 1; pad pixels a light 0.15)."""
    x = _np_images(images)
    n = len(x)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    h, w = x.shape[1:]
    grid = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad), 0.15)
    for i, img in enumerate(x):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return grid


def image_grid(images, *, nrow: int | None = None, title: str | None = None, ax=None, size: float = 4.0):
    """A grid of digits; returns the Figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    else:
        fig = ax.figure
    ax.imshow(make_grid(images, nrow), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def grids_side_by_side(grids: dict[str, torch.Tensor], *, nrow: int | None = None, size: float = 3.5):
    """Several grids in one row, titled by their keys (e.g. families on the same noise)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size), squeeze=False)
    for ax, (name, imgs) in zip(axes[0], grids.items()):
        image_grid(imgs, nrow=nrow, title=name, ax=ax)
    fig.tight_layout()
    return fig


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(y) < k:
        return y
    kernel = np.ones(k) / k
    return np.convolve(y, kernel, mode="valid")


def plot_history(history, *, keys: list[str] | None = None, smooth: int = 20):
    """One panel per reported number against the step (raw in light, a running mean on top)."""
    keys = keys or history.metric_keys
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    steps = np.asarray(history["step"])
    for ax, k in zip(axes[0], keys):
        y = np.asarray(history[k], dtype=float)
        ax.plot(steps, y, alpha=0.3, lw=0.8)
        ys = _smooth(y, smooth)
        ax.plot(steps[len(steps) - len(ys):], ys, lw=1.5)
        ax.set_title(k)
        ax.set_xlabel("step")
    fig.tight_layout()
    return fig


# ---- lesson 00: the data ------------------------------------------------------------------------

def class_balance(labels, *, title: str = "images per class"):
    counts = torch.bincount(torch.as_tensor(labels).cpu(), minlength=10).numpy()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(10), counts)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mean_images(images_uint8, labels):
    """The mean image of each class, from uint8 (N, 28, 28) images."""
    means = torch.stack([images_uint8[labels == c].float().mean(0) for c in range(10)])  # (10, 28, 28)
    fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
    for c, ax in enumerate(axes):
        ax.imshow(means[c].numpy(), cmap="gray_r")
        ax.set_title(str(c))
        ax.set_axis_off()
    fig.suptitle("mean image per class")
    fig.tight_layout()
    return fig


def pixel_histogram(images_uint8):
    """Pixel values on the raw 0..255 scale and on genedu's [-1, 1] scale."""
    raw = images_uint8.flatten().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].hist(raw, bins=64, log=True)
    axes[0].set_title("raw pixels (0..255)")
    axes[1].hist(raw / 127.5 - 1, bins=64, log=True, color="C1")
    axes[1].set_title("as genedu serves them ([-1, 1])")
    fig.tight_layout()
    return fig


def speed_bars(results: dict[str, float], *, unit: str = "images / s", title: str = ""):
    fig, ax = plt.subplots(figsize=(6, 2.2))
    names = list(results)
    ax.barh(names, [results[n] for n in names], color=["C0", "C2", "C1", "C3"][: len(names)])
    for i, n in enumerate(names):
        ax.text(results[n], i, f" {results[n]:,.0f}", va="center")
    ax.set_xlabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    return fig
