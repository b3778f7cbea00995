"""What training is watched with, one definition each: sample diversity, the share of grey ("blurred")
pixels, the entropy of a class histogram, and the GAN collapse meter (a `fit` callback).

Lesson 01 measures blur and diversity of VAE samples with these; lesson 02 watches a GAN collapse with
`CollapseMeter`. Nothing here trains or scores a model: the meter loads the evaluation classifier and
the training loop's error type only when it is first used.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .models.gan import GAN


def blur_share(images: torch.Tensor) -> float:
    """Share of grey pixels, with intensity strictly between 0.1 and 0.9 in [0, 1] (images in [-1, 1]):
    real digits are nearly black and white, so a high share means averaged, blurred strokes."""
    u = (images.float() + 1) / 2
    return float(((u > 0.1) & (u < 0.9)).float().mean())



def _log_into_last_row(history, values: dict[str, float]) -> None:
    """Add `values` to the History row of the current step (columns other steps lack hold NaN)."""
    n = len(history)
    for k, v in values.items():
        col = history.records.setdefault(k, [math.nan] * n)
        col[-1] = float(v)


def sample_diversity(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance between images (B, 1, 28, 28), per pixel: 0 for one repeated image.

    Real MNIST test images in [-1, 1] give 0.71 (measured over the first 1,000).
    """
    flat = images.flatten(1).float()
    d = torch.cdist(flat, flat)  # (B, B)
    n = len(flat)
    return float(d.sum() / (n * (n - 1)) / math.sqrt(flat.shape[1]))


def histogram_entropy(shares: torch.Tensor) -> float:
    """Entropy in bits of a class histogram: log2(10) = 3.32 for 10 equal classes, 0 for one class."""
    p = torch.as_tensor(shares, dtype=torch.float64)
    p = p[p > 0]
    return float(-(p * p.log2()).sum())


class CollapseMeter:
    """A `fit` callback: every `every` steps, draw `n` samples from fixed noise and measure collapse.

    It logs into the History (same row as the step): `classes_covered` (classes with at least
    `min_share` of the samples, by the evaluation classifier), `class_entropy` (bits, max 3.32),
    `class_share_0..9`, and `diversity` (mean pairwise pixel distance, see `sample_diversity`).
    It diagnoses, in `self.events`, with a message that says what happened:
    - mode collapse: fewer than `min_classes` classes covered, or diversity below `min_diversity`;
    - a discriminator that has won: D(G(z)) below 0.02 (and D(x) above 0.98) on average over the
      last `every` steps, so the generator's (saturating) gradient has vanished.
    `on` is "log" (record only), "warn" (also `warnings.warn`) or "raise" (stop with TrainingDiverged).
    `classify` maps images to labels; by default `genedu.evaluate.predict_labels`.
    """

    def __init__(self, every: int = 200, *, n: int = 500, on: str = "warn", min_classes: int = 7,
                 min_share: float = 0.02, min_diversity: float = 0.2, seed: int = 1234, classify=None):
        if on not in ("log", "warn", "raise"):
            raise ValueError(f"on must be 'log', 'warn' or 'raise', got {on!r}")
        if every < 1 or n < 2:
            raise ValueError(f"every must be >= 1 and n >= 2, got {every}, {n}")
        self.every, self.n, self.on = every, n, on
        self.min_classes, self.min_share, self.min_diversity, self.seed = min_classes, min_share, min_diversity, seed
        self._classify = classify
        self.events: list[tuple[int, str]] = []  # (step, message)
        self.histograms: list[tuple[int, torch.Tensor]] = []  # (step, (10,) class shares)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        if self._classify is None:
            from .evaluate import predict_labels  # loaded on first use

            self._classify = predict_labels
        return torch.as_tensor(self._classify(images)).long().cpu()

    def measure(self, model: GAN, labels: torch.Tensor | None = None) -> dict[str, float]:
        """The collapse figures of `model` now (samples from this meter's fixed noise)."""
        was_training = model.training
        model.eval()
        if model.conditional and labels is None:
            labels = torch.arange(self.n) % model.config.num_classes
        images = model.sample(self.n, labels=labels, generator=torch.Generator().manual_seed(self.seed)).cpu()
        model.train(was_training)
        counts = torch.bincount(self.classify(images), minlength=10).double()
        shares = counts / counts.sum()
        out = {"classes_covered": float((shares >= self.min_share).sum()),
               "class_entropy": histogram_entropy(shares), "diversity": sample_diversity(images)}
        out.update({f"class_share_{k}": float(shares[k]) for k in range(10)})
        return out

    def diagnose(self, figures: dict[str, float], history=None, *, probabilities: bool = True) -> list[str]:
        """Messages for what went wrong (empty when nothing did).

        `probabilities`: the History's d_real/d_fake are probabilities (not hinge scores), so the
        "discriminator has won" check applies.
        """
        msgs = []
        shares = [figures[f"class_share_{k}"] for k in range(10)]
        top = max(range(10), key=lambda k: shares[k])
        if figures["classes_covered"] < self.min_classes:
            msgs.append(f"mode collapse: samples cover only {figures['classes_covered']:.0f} of 10 classes "
                        f"(>= {self.min_share:.0%} each); digit {top} is {shares[top]:.0%} of them "
                        f"(class entropy {figures['class_entropy']:.2f} bits, 3.32 if balanced)")
        if figures["diversity"] < self.min_diversity:
            msgs.append(f"mode collapse: samples are nearly identical (pairwise pixel distance "
                        f"{figures['diversity']:.3f}, real digits 0.71)")
        if probabilities and history is not None and "d_fake" in history and "d_real" in history and len(history) >= self.every:
            d_fake, d_real = history.mean("d_fake", last=self.every), history.mean("d_real", last=self.every)
            if d_fake < 0.02 and d_real > 0.98:
                msgs.append(f"the discriminator has won: mean D(G(z)) = {d_fake:.4f}, D(x) = {d_real:.4f} over "
                            f"the last {self.every} steps, so the generator gets almost no gradient; use the "
                            f"non-saturating loss, a lower D learning rate, or spectral normalisation")
        return msgs

    def __call__(self, step: int, model: GAN, history) -> None:
        if step % self.every:
            return
        figures = self.measure(model)
        _log_into_last_row(history, figures)
        self.histograms.append((step, torch.tensor([figures[f"class_share_{k}"] for k in range(10)])))
        for msg in self.diagnose(figures, history, probabilities=model.config.loss != "hinge"):
            self.events.append((step, msg))
            if self.on == "warn":
                warnings.warn(f"step {step}: {msg}", stacklevel=2)
            elif self.on == "raise":
                from .train import TrainingDiverged

                raise TrainingDiverged(f"step {step}: {msg}", step=step, history=history)


