"""Reference checkpoints: one trained proper model per family, shipped in the package.

A learner on a CPU sees a trained model at once (`load_reference("diffusion")`) and can still train
their own. Each reference is an ordinary genedu checkpoint (so `load_model` and `genedu sample
--checkpoint` read it too) with three differences that keep it small: the weights are the EMA weights
when training kept them, stored in half precision; the optimiser state is dropped; and a JSON file
beside it records the command, the budget, the seed, the machine and the evaluation figures measured.

    genedu/assets/references/<family>.pt     config + fp16 weights (loaded with weights_only=True)
    genedu/assets/references/<family>.json   how it was trained and what it scores

They are made by `genedu reference export` (see `export_reference`) from a checkpoint of `genedu train`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .models.base import GenerativeModel, build_model

REFERENCE_DIR = Path(__file__).resolve().parent / "assets" / "references"
FAMILIES = ("vae", "gan", "diffusion", "flow")
MAX_BYTES = 10 * 2**20  # a reference must stay under 10 MB to live in the repository
# references beside a family's own, name -> family: "vae_pixel" is the VAE with a PixelCNN decoder head
# (the 'pixel' preset), the conv likelihood anchor that lesson 01 measures; "diffusion_uncond" and
# "flow_uncond" the reference networks trained without labels (the like-with-like unconditional
# comparison); "flow_fewstep" the few-step flow distilled from the flow reference (1, 2 or 4 calls)
EXTRA = {"vae_pixel": "vae", "diffusion_uncond": "diffusion", "flow_uncond": "flow", "flow_fewstep": "flow"}


def family_of(name: str) -> str:
    """The family a reference name belongs to ("vae_pixel" -> "vae"; a family is its own)."""
    return EXTRA.get(name, name)


def reference_path(family: str) -> Path:
    if family not in FAMILIES and family not in EXTRA:
        raise ValueError(f"no reference family {family!r}; choose from {list(FAMILIES) + list(EXTRA)}")
    return REFERENCE_DIR / f"{family}.pt"


def has_reference(family: str) -> bool:
    return reference_path(family).is_file()


def reference_info(family: str) -> dict[str, Any]:
    """The recorded command, budget, seed, machine and evaluation figures of a family's reference."""
    path = reference_path(family).with_suffix(".json")
    if not path.is_file():
        raise FileNotFoundError(_missing(family))
    return json.loads(path.read_text())


def add_to_record(family: str, key: str, value: dict[str, Any]) -> Path:
    """Add (or replace) one entry of a family's reference record, e.g. a figure measured after export;
    the rest of the record is kept as it is. Returns the JSON's path."""
    info = reference_info(family)
    info[key] = value
    path = reference_path(family).with_suffix(".json")
    path.write_text(json.dumps(info, indent=2, default=float) + "\n")
    return path


def load_reference(family: str, *, device: str | torch.device = "cpu") -> GenerativeModel:
    """The shipped reference model of a family, in float32 and eval mode, on `device`."""
    path = reference_path(family)
    if not path.is_file():
        raise FileNotFoundError(_missing(family))
    ckpt = read_checkpoint(path)
    if ckpt["family"] != family_of(family):
        raise CheckpointError(f"{path} holds a {ckpt['family']!r} model, not a {family_of(family)!r} one")
    model = build_model(ckpt["family"], ckpt["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()})
    return model.to(device).eval()


def sample_reference(model: GenerativeModel, family: str, n: int, *, seed: int = 0, steps: int | None = None):
    """n samples of a reference from a generator seeded `seed`, with the sampler it was scored with
    (`steps` overrides a diffusion model's DDIM steps); class-balanced labels 0..9 when it is conditional."""
    opts = sample_options(family)
    if steps is not None and "steps" in opts:
        opts["steps"] = steps
    from .sampling import draw_samples

    return draw_samples(model, n, generator=torch.Generator().manual_seed(seed), **opts).images


def export_reference(checkpoint: str | os.PathLike, *, out_dir: str | os.PathLike | None = None,
                     meta: dict[str, Any] | None = None, name: str | None = None) -> Path:
    """Write a trained checkpoint as its family's reference: EMA weights if any, fp16, no optimiser.

    `name` writes one of the EXTRA references of that family instead (e.g. "vae_pixel").

    `meta` (the command, budget, seed, machine, figures) is written beside it as JSON. Refuses a result
    over MAX_BYTES, and a checkpoint whose weights hold NaN or inf.
    """
    ckpt = read_checkpoint(checkpoint)
    family = ckpt["family"]
    if name is not None and family_of(name) != family:
        raise CheckpointError(f"{checkpoint} holds a {family!r} model; the reference {name!r} is a {family_of(name)!r}")
    model = build_model(family, ckpt["config"])
    weights = ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"]
    model.load_state_dict(weights)
    bad = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{checkpoint} has non-finite weights in {bad[:3]}: it cannot be a reference")
    model.half()  # save_checkpoint stores the state dict as it is: fp16 halves the file
    out_dir = Path(out_dir) if out_dir is not None else REFERENCE_DIR
    path = save_checkpoint(out_dir / f"{name or family}.pt", model, state={"trained": {k: ckpt["state"].get(k) for k in ("step", "images", "seconds", "seed")}})
    size = path.stat().st_size
    if size > MAX_BYTES:
        path.unlink()
        raise CheckpointError(f"the {name or family} reference would be {size / 2**20:.1f} MB; "
                              f"the limit is {MAX_BYTES / 2**20:.0f} MB")
    info = {"family": family, "config": ckpt["config"], "bytes": size, **(meta or {})}
    path.with_suffix(".json").write_text(json.dumps(info, indent=2, default=float) + "\n")
    return path


# The sampler each family's reference is scored with when its JSON does not say (and for make_reference).
SAMPLE_OPTIONS = {"vae": {}, "gan": {}, "diffusion": {"sampler": "ddim", "steps": 50},
                  "flow": {"method": "heun", "steps": 10}}


def sample_options(family: str) -> dict[str, Any]:
    """The sampler options a family's shipped reference was scored with (recorded in its JSON)."""
    try:
        recorded = reference_info(family).get("sample_options")
    except FileNotFoundError:
        recorded = None
    return dict(recorded if recorded is not None else SAMPLE_OPTIONS[family_of(family)])


def make_reference(family: str, preset: str, *, work: str | os.PathLike, command: str, seed: int = 0,
                   ema: float | None = None, n_samples: int = 10_000, out_dir: str | os.PathLike | None = None,
                   device=None, lr_warmup: int = 0, lr_decay: str | None = None,
                   sample_options: dict[str, Any] | None = None, **budget) -> Path:
    """Train (or finish training) a preset, score it with the evaluation suite and export it.

    `budget` is what `fit` takes (epochs=, steps=, images=, seconds=). Training checkpoints to
    `<work>/<family>_<preset>.pt` and resumes from it, so an interrupted run continues, and a run whose
    budget is already spent goes straight to scoring. `command` is recorded as how to reproduce it.
    `lr_warmup` / `lr_decay` are fit's learning-rate schedule; `sample_options` the sampler it is scored
    with (default: SAMPLE_OPTIONS[family]). A VAE with a mixture prior (prior_components > 0) has the
    prior fitted to its training codes before scoring, and is scored with prior="mixture".
    """

    from .data import load_mnist
    from .models.base import MODEL_REGISTRY, _import_families
    from .showdown import sample_and_score
    from .train import fit
    from .utils import count_parameters, describe_machine

    _import_families()
    from .utils import check_seed

    torch.manual_seed(check_seed(seed))  # the initial weights, as the showdown draws them for the same seed
    model = MODEL_REGISTRY[family].from_preset(preset)
    ckpt = Path(work) / f"{family}_{preset}.pt"
    data = load_mnist("train")
    history = fit(model, data, seed=seed, ema=ema, checkpoint=ckpt, resume=True, device=device,
                  checkpoint_minutes=5, lr_warmup=lr_warmup, lr_decay=lr_decay, **budget)
    sampler = history.ema.module if history.ema is not None else model
    options = dict(SAMPLE_OPTIONS[family] if sample_options is None else sample_options)
    model.after_training(data, seed=seed)  # e.g. a VAE's learned prior, which travels in its weights
    if history.ema is not None:
        sampler.after_training(data, seed=seed)
    from .checkpoint import update_weights
    update_weights(ckpt, model, ema=history.ema)
    evaluation = sample_and_score(sampler, options, n_samples, seed=seed)
    meta = {
        "preset": preset, "command": command, "seed": seed, "ema": ema,
        "budget": ", ".join(f"{k}={v}" for k, v in budget.items() if v is not None),
        "trained": {"steps": history.last("step"), "images": history.last("images"),
                    "seconds": round(history.last("seconds"), 1)},
        "final_loss_last_100_steps": history.mean("loss", last=100),
        "parameters": count_parameters(model),
        "machine": describe_machine(sampler.device),
        "sample_options": options, "lr_warmup": lr_warmup, "lr_decay": lr_decay,
        "evaluation": evaluation,
    }
    return export_reference(ckpt, out_dir=out_dir, meta=meta)


def _missing(family: str) -> str:
    return (f"no reference checkpoint for {family!r} in {REFERENCE_DIR}; this install lacks it. "
            f"Train one with `genedu train --model {family_of(family)} ...` and use --checkpoint PATH instead")
