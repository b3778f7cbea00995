"""Small helpers every module uses: device choice, seeding, fast-mode flag."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def default_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fast_mode() -> bool:
    """True when $GENEDU_FAST is set to 1/true/yes (the tests set it): lessons shrink to seconds."""
    return os.environ.get("GENEDU_FAST", "").strip().lower() in ("1", "true", "yes")


def in_colab() -> bool:
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
