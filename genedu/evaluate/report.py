"""`evaluate_samples`: one report for a set of samples, with the calibration rows that give it scale.

Samples (N, 1, 28, 28) in [-1, 1] are passed through the feature classifier once; every metric in
`metrics.py` then works on those features against the cached features of the real images
(10,000 test images by default; the 55,000 images of the `train` split, which `fit` trains on,
for memorisation). Each report carries
two calibration rows measured the same way with the same N: real training images against the test
images (the floor: what a perfect model would score) and uniform noise (the ceiling).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field

import torch

from . import metrics as M
from .classifier import classifier_outputs

MIN_STABLE_FID = 2000  # below this many samples FID is biased upwards noticeably (see lesson 04)
MIN_SAMPLES = 4  # the fewest every metric accepts: recall uses each sample's 3rd nearest other sample
_REAL: dict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
_CALIBRATION: dict[tuple, list[dict]] = {}
_NEIGHBOURS: dict[tuple, dict[str, torch.Tensor]] = {}


def real_features(split: str = "test", *, data_root=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features (N, 128), probabilities (N, 10), labels (N,)) of an MNIST split, cached per process."""
    key = (split, str(data_root))
    if key not in _REAL:
        from ..data import data_root as root_of, load_mnist
        from .classifier import WEIGHTS
        import hashlib

        tag = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:12]
        path = root_of(data_root) / f"classifier_features_{split}_{tag}.pt"  # disk cache, keyed by the weights
        if path.exists():
            f, probs, labels = torch.load(path, weights_only=True)
        else:
            data = load_mnist(split, data_root)
            f, logits = classifier_outputs(data.float())
            probs, labels = logits.softmax(1), data.labels.clone()
            try:
                tmp = path.with_suffix(".tmp")
                torch.save((f, probs, labels), tmp)
                tmp.replace(path)
            except OSError:
                pass  # a read-only data folder: keep the in-memory cache only
        _REAL[key] = (f, probs, labels)
    return _REAL[key]


_SHARP: dict[tuple, float] = {}


def real_sharpness(split: str = "test", *, data_root=None) -> float:
    """The mean Laplacian energy of an MNIST split's images (what `sharpness` divides by), cached."""
    key = (split, str(data_root))
    if key not in _SHARP:
        from ..data import load_mnist

        _SHARP[key] = float(M.laplacian_energy(load_mnist(split, data_root).float()).mean())
    return _SHARP[key]


def _numeric(array, what: str, expected: str, kinds: str = "biuf") -> torch.Tensor:
    """`array` as a tensor, if its dtype is of `kinds` (numpy's letters: bool, signed, unsigned, float), so
    strings, objects, dates or complex numbers are named instead of failing inside torch."""
    import numpy as np

    if isinstance(array, torch.Tensor):
        return array
    a = np.asarray(array)
    if a.dtype.kind not in kinds:
        raise ValueError(f"{what} must be {expected}, got an array of dtype {a.dtype} "
                         f"({_KIND_NAMES.get(a.dtype.kind, 'not numbers')})")
    return torch.as_tensor(a)


_KIND_NAMES = {"b": "booleans", "U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers",
               "M": "dates", "m": "time spans", "V": "raw records"}  # numpy's dtype kinds, for messages


def check_samples(samples, *, tol: float = 1e-3) -> torch.Tensor:
    """Validate samples and return them as a float32 CPU tensor; errors say what was expected and found."""
    x = _numeric(samples, "samples", "floats in [-1, 1] of shape (N, 1, 28, 28)")
    if x.ndim == 3 and tuple(x.shape[1:]) == (28, 28):
        x = x[:, None]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"samples must have shape (N, 1, 28, 28) (or (N, 28, 28)), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"samples must be floats in [-1, 1], got dtype {x.dtype}; "
                         "convert uint8 images with x / 127.5 - 1")
    x = x.detach().to("cpu", torch.float32)
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"need at least {MIN_SAMPLES} samples to evaluate (recall uses each sample's 3rd "
                         f"nearest neighbour), got {len(x)}; draw more (the protocol uses 10,000)")
    bad = ~torch.isfinite(x)
    if bad.any():
        n_bad = int(bad.flatten(1).any(1).sum())
        raise ValueError(f"{n_bad} of {len(x)} samples contain NaN or inf; the model probably diverged")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1 - tol or hi > 1 + tol:
        hint = " (they look like [0, 255] pixels: use x / 127.5 - 1)" if hi > 2 else \
               " (clamp them, or check the model's output scaling)"
        raise ValueError(f"samples must lie in [-1, 1], found values in [{lo:.3g}, {hi:.3g}]{hint}")
    return x.clamp(-1, 1)


def check_labels(labels, n: int) -> torch.Tensor:
    """Validate the requested classes of n conditional samples: n whole numbers in 0..9."""
    y = _numeric(labels, "labels", "whole numbers 0..9, one per sample", kinds="iuf")
    if y.ndim > 1 and y.squeeze().ndim > 1:
        raise ValueError(f"labels must be one class per sample, shape (N,), got shape {tuple(y.shape)}")
    y = y.flatten().cpu()
    if len(y) != n:
        raise ValueError(f"got {len(y)} labels for {n} samples; give one requested class per sample")
    if y.is_floating_point() and not torch.isfinite(y).all():
        raise ValueError("labels must be whole numbers 0..9 (the requested digit of each sample), found NaN or inf")
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ValueError("labels must be whole numbers 0..9 (the requested digit of each sample), got fractions")
    if len(y) and (y.min() < 0 or y.max() > 9):  # before .long(), which would wrap a huge float
        bad = y[(y < 0) | (y > 9)]
        raise ValueError(f"labels must be digits 0..9, found {len(bad)} outside (e.g. {bad[0].item():g}); "
                         "give the class each sample was drawn for")
    return y.long()


def check_seconds(seconds) -> float:
    """Validate the sampling time stored with samples: one finite number of seconds, at least 0."""
    import numpy as np

    a = np.asarray(seconds)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"seconds must be one number (the sampling time in seconds), got an array of dtype "
                         f"{a.dtype} ({_KIND_NAMES.get(a.dtype.kind, 'not a number')})")
    if a.size != 1:
        raise ValueError(f"seconds must be one number (the sampling time in seconds), got an array of shape "
                         f"{a.shape}; save it as np.float64(seconds)")
    value = float(a.reshape(()))
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"seconds must be a finite number of at least 0 (the sampling time), got {value}")
    return value


@dataclass
class Report:
    """Metrics of one sample set plus calibration rows; `.as_dict()` for JSON, `.table()` for people."""
    metrics: dict
    calibration: list = field(default_factory=list)
    name: str = "samples"

    def as_dict(self) -> dict:
        return dict(self.metrics)

    def to_json(self) -> str:
        return json.dumps({**self.metrics, "calibration": self.calibration})

    def __getitem__(self, key):
        return self.metrics[key]

    COLUMNS = ("n", "fid", "kid", "inception_score", "class_kl", "precision", "recall", "density",
               "coverage", "sharpness", "near_copy_share", "nn_ratio")

    def table(self) -> str:
        rows = [(self.name, self.metrics)] + [(r["name"], r) for r in self.calibration]
        head = ["set"] + [c for c in self.COLUMNS]
        lines = [head]
        for name, m in rows:
            cells = [name]
            for c in self.COLUMNS:
                v = m.get(c)
                cells.append("-" if v is None else (f"{v:d}" if isinstance(v, int) else
                                                    f"{v:.4f}" if c in ("kid", "class_kl") else f"{v:.3f}"))
            lines.append(cells)
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        text = ["  ".join(s.rjust(w) if i else s.ljust(w) for i, (s, w) in enumerate(zip(r, widths))) for r in lines]
        text.insert(1, "-" * len(text[0]))
        extra = [f"{k}: {self.metrics[k]:.4g}" for k in ("conditional_accuracy", "seconds_per_1000")
                 if self.metrics.get(k) is not None]
        if extra:
            text.append("; ".join(extra))
        return "\n".join(text)

    def __str__(self) -> str:
        return self.table()


def _score(features: torch.Tensor, probs: torch.Tensor, *, reference: str, data_root, kid_subsets: int,
           seed: int) -> dict:
    ref_f, ref_p, ref_y = real_features(reference, data_root=data_root)
    train_f = real_features("train", data_root=data_root)[0]  # the 55,000 images models train on
    n = len(features)
    kid_mean, kid_std = M.kid(ref_f, features, subsets=kid_subsets, subset_size=min(1000, n), seed=seed)
    hist = torch.bincount(probs.argmax(1), minlength=10).double() / n
    prior = torch.bincount(ref_y, minlength=10).double() / len(ref_y)
    real = _real_neighbours(reference, data_root)
    precision, recall = M.precision_recall(ref_f, features, k=3, real_radii=real["radii_3"])
    density, coverage = M.density_coverage(ref_f, features, k=5, real_radii=real["radii_5"])
    out = {
        "n": n,
        "fid": M.fid(ref_f, features),
        "kid": kid_mean, "kid_std": kid_std,
        "inception_score": M.inception_score(probs)[0],
        "class_kl": M.class_kl(hist, prior),
        "class_histogram": [round(float(h), 4) for h in hist],
        "precision": precision, "recall": recall, "density": density, "coverage": coverage,
    }
    out.update(M.memorisation(train_f, features, ref_f, test_nn=real["test_nn"]))
    return out


def _real_neighbours(reference: str, data_root) -> dict[str, torch.Tensor]:
    """What the metrics need of the real images alone, computed once per process: the k-NN radii of the
    reference features (k = 3 for precision/recall, 5 for density/coverage) and each reference image's
    distance to its nearest training image (memorisation). Every report reuses them."""
    key = (reference, str(data_root))
    if key not in _NEIGHBOURS:
        ref_f = real_features(reference, data_root=data_root)[0]
        train_f = real_features("train", data_root=data_root)[0]
        _NEIGHBOURS[key] = {"radii_3": M.knn_radii(ref_f, 3), "radii_5": M.knn_radii(ref_f, 5),
                            "test_nn": M.nearest_distances(ref_f, train_f)}
    return _NEIGHBOURS[key]


def _reference_subset(ref_f: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return ref_f[torch.randperm(len(ref_f), generator=torch.Generator().manual_seed(seed))[:n]]


def calibration(n: int = 10_000, *, reference: str = "test", seed: int = 0, data_root=None,
                kid_subsets: int = 20) -> list[dict]:
    """The two calibration rows, measured with n images each against the reference set:
    'train vs test' (n training images: the floor a perfect model reaches) and 'noise' (n images of
    uniform noise in [-1, 1]: the ceiling). Cached per process."""
    key = (n, reference, seed, str(data_root), kid_subsets)
    if key not in _CALIBRATION:
        train_f, train_p, _ = real_features("train", data_root=data_root)
        idx = torch.randperm(len(train_f), generator=torch.Generator().manual_seed(seed))[:n]
        floor = _score(train_f[idx], train_p[idx], reference=reference, data_root=data_root,
                       kid_subsets=kid_subsets, seed=seed)
        from ..data import load_mnist

        real_energy = real_sharpness(reference, data_root=data_root)
        floor["sharpness"] = M.sharpness(load_mnist("train", data_root).float(idx), real_energy=real_energy)
        noise = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        nf, nl = classifier_outputs(noise)
        ceiling = _score(nf, nl.softmax(1), reference=reference, data_root=data_root, kid_subsets=kid_subsets, seed=seed)
        ceiling["sharpness"] = M.sharpness(noise, real_energy=real_energy)
        _CALIBRATION[key] = [{"name": "train vs test (floor)", **floor}, {"name": "noise (ceiling)", **ceiling}]
    return _CALIBRATION[key]


def evaluate_samples(samples, *, labels=None, sample_seconds: float | None = None, reference: str = "test",
                     with_calibration: bool = True, kid_subsets: int = 20, seed: int = 0, data_root=None,
                     name: str = "samples") -> Report:
    """Score samples (N, 1, 28, 28) in [-1, 1] against the 10,000 test images.

    labels: the requested classes of conditional samples (adds conditional_accuracy).
    sample_seconds: wall-clock seconds it took to draw them (adds seconds_per_1000).
    Warns below 2,000 samples, where FID is biased upwards. Calibration rows use the same N.
    """
    x = check_samples(samples)
    n = len(x)
    if labels is not None:  # checked before any feature is computed
        labels = check_labels(labels, n)
    if n < MIN_STABLE_FID:
        warnings.warn(f"only {n} samples: FID is biased upwards below about {MIN_STABLE_FID} "
                      "(the protocol uses 10,000); compare only reports with the same sample count",
                      stacklevel=2)
    feats, logits = classifier_outputs(x)
    result = _score(feats, logits.softmax(1), reference=reference, data_root=data_root,
                    kid_subsets=kid_subsets, seed=seed)
    result["sharpness"] = M.sharpness(x, real_energy=real_sharpness(reference, data_root=data_root))
    if labels is not None:
        result["conditional_accuracy"] = float((logits.argmax(1) == labels).double().mean())
    if sample_seconds is not None:
        result["seconds_per_1000"] = float(sample_seconds) * 1000 / n
    rows = calibration(n, reference=reference, seed=seed, data_root=data_root, kid_subsets=kid_subsets) \
        if with_calibration else []
    return Report(result, rows, name)
