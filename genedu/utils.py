"""Small helpers every module uses: device choice, seeding, fast-mode flag."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch


def eval_device() -> torch.device:
    """Where the evaluation suite runs its classifier and nearest-neighbour distances: the GPU when there
    is one (a 10,000-sample report then takes seconds instead of a minute), else the CPU (not Apple MPS:
    the metrics' figures are compared across machines). Results come back to the CPU either way."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def default_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


MAX_SEED = 2**63 - 1  # torch takes seeds up to 2**64 - 1; genedu keeps to the signed 64-bit range


def check_seed(seed, *, what: str = "seed") -> int:
    """`seed` as an int, if it is a whole number in 0..2**63 - 1; else a ValueError saying so.

    torch refuses larger seeds only deep inside (with 'Overflow when unpacking long long'), and a
    negative or fractional seed is most likely a typo, so every seed a user gives is checked here first.
    """
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{what} must be a whole number from 0 to 2**63 - 1, got {seed!r} "
                         f"({type(seed).__name__}); e.g. {what}=0")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{what} must be a whole number from 0 to 2**63 - 1 ({MAX_SEED}), got {seed}; "
                         "choose a smaller one, e.g. 0")
    return int(seed)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU); `seed` is a whole number in 0..2**63 - 1."""
    seed = check_seed(seed)
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


def check_writable(path: str | os.PathLike, *, what: str = "output file", folder: bool = False,
                   create_parents: bool = True) -> Path:
    """Fail now, not at the end of a long run, when `path` could not be written; return it as a Path.

    `path` is a file (or, with `folder=True`, a folder that will be created if missing). Folders above
    it that do not exist yet are fine with `create_parents=True` (they will be created) as long as they
    can be; with `create_parents=False` the folder that holds `path` must already exist. Writability is
    tested by creating and deleting a temporary file, so it is honest on read-only mounts too.
    """
    path = Path(path).expanduser()
    if path.exists() and path.is_dir() != folder:
        kind, want = ("a file", "a folder") if folder else ("a folder", "a file name")
        raise ValueError(f"{what} {path} is {kind}, but {want} was expected; choose another path")
    parent = path if folder and path.is_dir() else path.parent
    if not create_parents and not parent.is_dir():
        raise ValueError(f"{what} {path}: the folder {parent} does not exist; create it first "
                         f"(mkdir -p {parent}) or choose a path in an existing folder")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{what} {path} cannot be written: {existing} is a file, not a folder; "
                         "choose a path in a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ValueError(f"{what} {path} cannot be written: the folder {existing} is not writable "
                         f"({type(e).__name__}: {e}); choose a folder you can write to") from e
    return path


def describe_machine(device: str | torch.device | None = None) -> str:
    """One line naming where a figure was measured: the GPU (when the device is CUDA), the processor
    architecture, CPU count, torch threads and torch version. Every recorded figure carries it."""
    import platform

    device = torch.device(device) if device is not None else default_device()
    gpu = f"{torch.cuda.get_device_name(device)}; " if device.type == "cuda" else ""
    return (f"{gpu}{platform.machine()}, {os.cpu_count()} CPU(s), {torch.get_num_threads()} torch thread(s), "
            f"device {device.type}, torch {torch.__version__}")


def results_file(name: str) -> Path | None:
    """A file of the repository's benchmarks/results/ (e.g. "recipe_trials.json"), found from wherever a
    lesson runs inside a checkout (notebooks/ or its root); None outside one (genedu installed without the
    repository), so a lesson can print and check the measured figures it quotes when they are there."""
    return next((d / "benchmarks" / "results" / name for d in [Path.cwd(), *Path.cwd().parents]
                 if (d / "benchmarks" / "results" / name).is_file()), None)
