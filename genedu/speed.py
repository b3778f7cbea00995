"""Why the data path matters: one epoch through the original notebook's pipeline against genedu's.

The original notebook feeds its models through ``torchvision.datasets.MNIST`` with
``transforms.Compose([ToTensor(), Normalize((0.5,), (0.5,))])`` and a ``DataLoader(batch_size=128,
shuffle=True)``: every image goes through PIL and two transforms, one at a time, every epoch.
genedu decodes the files once into a uint8 tensor and slices batches from a seeded permutation.

Both functions below train the same model (a fresh copy of the seed VAE by default) for the same
number of batches and return images per second, so the difference is the data path alone.
Used by lesson 00 and by ``benchmarks/pipeline.py``.
"""

from __future__ import annotations

import time

import torch

from .data import data_root, load_mnist, prepare_mnist
from .models.vae import VAE


def _train_batches(model, batches, max_batches: int | None) -> tuple[int, float]:
    """Run `model.train_step` over `batches`; return (images, seconds)."""
    optimizers = model.configure_optimizers()
    n_images, start = 0, time.perf_counter()
    for i, (x, y) in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        model.train_step((x, y), optimizers)
        n_images += len(x)
    return n_images, time.perf_counter() - start


def original_pipeline_speed(*, max_batches: int | None = None, batch_size: int = 128, seed: int = 0,
                            root=None, model: VAE | None = None) -> dict:
    """Images/s of the original notebook's DataLoader + transforms pipeline training `model`."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    prepare_mnist(root)  # the same verified files on disk
    torch.manual_seed(seed)
    model = model if model is not None else VAE.from_preset("seed")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset = datasets.MNIST(root=str(data_root(root)), train=True, transform=transform, download=False)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    images, seconds = _train_batches(model, iter(loader), max_batches)
    return {"pipeline": "original DataLoader + transforms", "images": images, "seconds": seconds,
            "images_per_second": images / seconds}


def genedu_pipeline_speed(*, max_batches: int | None = None, batch_size: int = 128, seed: int = 0,
                          root=None, model: VAE | None = None, include_load: bool = True) -> dict:
    """Images/s of genedu's in-memory batches training `model`; the load from disk counts when `include_load`."""
    torch.manual_seed(seed)
    model = model if model is not None else VAE.from_preset("seed")
    start = time.perf_counter()
    data = load_mnist("train_full", root)
    load_seconds = time.perf_counter() - start
    images, seconds = _train_batches(model, data.batches(batch_size, seed=seed, drop_last=False), max_batches)
    total = seconds + (load_seconds if include_load else 0.0)
    return {"pipeline": "genedu in-memory batches", "images": images, "seconds": total,
            "load_seconds": load_seconds, "images_per_second": images / total}


def data_only_speed(*, max_batches: int | None = None, batch_size: int = 128, root=None) -> dict:
    """Images/s of each data path alone (no model): where the original pipeline's time goes."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    prepare_mnist(root)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    loader = DataLoader(datasets.MNIST(str(data_root(root)), train=True, transform=transform), batch_size=batch_size,
                        shuffle=True)
    out = {}
    for name, batches in (("original", iter(loader)),
                          ("genedu", load_mnist("train_full", root).batches(batch_size, drop_last=False))):
        n, start = 0, time.perf_counter()
        for i, (x, _) in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            n += len(x)
        out[name] = n / (time.perf_counter() - start)
    return out
