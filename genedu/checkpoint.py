"""Checkpoints: config, weights, optimisers, RNG state, step count and genedu version in one file.

Loading uses ``torch.load(..., weights_only=True)`` (no pickled code runs), and a checkpoint of another
family or config is refused with a message naming what differs.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from ._version import __version__
from .models.base import GenerativeModel, build_model

FORMAT = 1  # bump when the layout of the dict below changes


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used for this model; the message says why."""


def save_checkpoint(path: str | os.PathLike, model: GenerativeModel, *,
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    ema: torch.nn.Module | None = None, state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file, then rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "format": FORMAT,
        "genedu_version": __version__,
        "family": model.family,
        "config": model.config_dict(),
        "model": model.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in (optimizers or {}).items()},
        "ema": None if ema is None else ema.state_dict(),
        "state": state or {},
    }
    return _save_atomically(ckpt, path)


def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict[str, Any]:
    """Read a checkpoint dict safely (weights_only=True) and check it is a genedu checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(ckpt, dict) or "family" not in ckpt or "config" not in ckpt or "model" not in ckpt:
        raise CheckpointError(f"{path} is not a genedu checkpoint (it lacks family/config/model)")
    return ckpt


def check_compatible(ckpt: dict[str, Any], model: GenerativeModel, path: str | os.PathLike = "checkpoint") -> None:
    """Raise CheckpointError naming every difference between the checkpoint's model and `model`."""
    if ckpt["family"] != model.family:
        raise CheckpointError(
            f"{path} holds a {ckpt['family']!r} model, not a {model.family!r} one: "
            f"load it with genedu.load_model({str(path)!r}) or pick the matching checkpoint."
        )
    mine = model.config_dict()
    theirs = ckpt["config"]
    diffs = [f"{k}: checkpoint {theirs.get(k)!r} vs model {mine.get(k)!r}"
             for k in sorted(set(mine) | set(theirs))
             if _norm(theirs.get(k)) != _norm(mine.get(k))]
    if diffs:
        raise CheckpointError(f"{path} was saved from a {model.family} with another config; "
                              f"differences: {'; '.join(diffs)}")


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


def load_checkpoint(path: str | os.PathLike, model: GenerativeModel, *,
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    ema: torch.nn.Module | None = None, missing_ema: str = "error") -> dict[str, Any]:
    """Load weights (and optimiser and EMA state, when given) into `model`; return the saved `state`.

    When `ema` is given but the checkpoint was saved without an EMA, `missing_ema` decides: "error"
    (the default) raises CheckpointError; "restart" starts the EMA from the loaded weights and warns.
    Never is the EMA left silently at the weights it was built with.
    """
    if missing_ema not in ("error", "restart"):
        raise ValueError(f"missing_ema must be 'error' or 'restart', got {missing_ema!r}")
    ckpt = read_checkpoint(path, map_location=model.device)
    check_compatible(ckpt, model, path)
    if ema is not None and ckpt.get("ema") is None and missing_ema == "error":
        raise CheckpointError(
            f"{path} was saved without an EMA of the weights, but an EMA was asked for (ema=...). "
            "Load it without ema=, or train again with ema= to get one.")
    model.load_state_dict(ckpt["model"])
    for name, opt in (optimizers or {}).items():
        if name not in ckpt["optimizers"]:
            raise CheckpointError(f"{path} has no state for optimiser {name!r} (has {sorted(ckpt['optimizers'])})")
        opt.load_state_dict(ckpt["optimizers"][name])
    if ema is not None:
        if ckpt.get("ema") is not None:
            ema.load_state_dict(ckpt["ema"])
        else:  # missing_ema == "restart"
            ema.load_state_dict(model.state_dict())
            warnings.warn(f"{path} was saved without an EMA: the EMA starts now from the loaded weights "
                          f"(step {ckpt['state'].get('step', '?')}), so it averages only the steps from here on",
                          stacklevel=2)
    return ckpt["state"]


def load_model(path: str | os.PathLike, *, device: str | torch.device = "cpu", use_ema: bool = True) -> GenerativeModel:
    """Build the model a checkpoint describes and load its weights (the EMA weights when saved)."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt["family"], ckpt["config"])
    weights = ckpt["ema"] if use_ema and ckpt.get("ema") is not None else ckpt["model"]
    model.load_state_dict(weights)
    return model.to(device).eval()


def update_weights(path: str | os.PathLike, model: GenerativeModel, *, ema: torch.nn.Module | None = None) -> Path:
    """Rewrite the weights (and EMA weights) of an existing checkpoint, keeping its optimisers and state:
    for what a family computes after training (a VAE's fitted prior lives in its buffers)."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    check_compatible(ckpt, model, path)
    ckpt["model"] = model.state_dict()
    if ema is not None:
        ckpt["ema"] = ema.state_dict()
    return _save_atomically(ckpt, path)


def _save_atomically(obj: dict, path: Path) -> Path:
    """torch.save to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
