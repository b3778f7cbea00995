"""One training loop for every family: the model owns its step, the loop owns everything else.

`fit` knows nothing about VAEs, GANs or diffusion (as minGPT's trainer knows nothing about GPT). It
provides budgets (epochs, steps, images seen, wall-clock seconds), a progress bar showing the
model's own numbers, a `History` of every reported number, fixed-noise sample grids for "watch it
learn" figures, checkpoints with exact resume, an EMA of the weights, and a NaN/inf guard.
"""

from __future__ import annotations

import copy
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .data import MNIST, batches_per_epoch
from .models.base import GenerativeModel
from .utils import check_writable, default_device, seed_everything


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the likely cause."""

    def __init__(self, message: str, *, step: int, history: "History"):
        super().__init__(message)
        self.step = step
        self.history = history


class EMA(torch.nn.Module):
    """Exponential moving average of a model's weights: ema = d_n * ema + (1 - d_n) * weights.

    With `warmup` (the default) the decay grows with the number of updates n,
    d_n = min(decay, (1 + n) / (10 + n)) (as in TensorFlow's ExponentialMovingAverage with num_updates),
    so early averages do not keep the random initial weights: with a fixed 0.999, 0.999^700 = 50 % of
    the average is still the initial weights after 700 steps. Checkpoints made before genedu 0.3
    averaged without warm-up: pass warmup=False (fit(ema_warmup=False)) to reproduce them.
    `ema.module` is a full copy of the model, usable for sampling; buffers are copied as they are.
    """

    def __init__(self, model: torch.nn.Module, decay: float, *, warmup: bool = True):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie strictly between 0 and 1, got {decay}")
        self.decay, self.warmup = decay, warmup
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, n: int | None) -> float:
        """The decay used for update number n (0-based); the fixed decay without warm-up or n."""
        if not self.warmup or n is None:
            return self.decay
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self, model: torch.nn.Module, n: int | None = None) -> None:
        """Average `model` in, as update number `n` (fit passes the steps taken before this one)."""
        d = self.decay_at(n)
        for e, p in zip(self.module.parameters(), model.parameters()):
            e.lerp_(p, 1.0 - d)
        for e, b in zip(self.module.buffers(), model.buffers()):
            e.copy_(b)

    def state_dict(self, *args, **kwargs):  # the EMA weights, keyed like the model's own
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True):
        return self.module.load_state_dict(state_dict, strict=strict)


@dataclass
class History:
    """Every number the model reported, per step, with images seen and wall time; sample grids."""

    records: dict[str, list[float]] = field(default_factory=dict)  # key -> one value per logged step
    grids: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, (n, 1, 28, 28) in [-1, 1])
    ema: EMA | None = None  # the EMA of the weights when fit was asked for one

    def log(self, values: dict[str, float]) -> None:
        n = len(self.records.get("step", []))
        for k, v in values.items():
            self.records.setdefault(k, [math.nan] * n).append(float(v))
        for k, col in self.records.items():  # keys a step did not report get NaN
            if len(col) < n + 1:
                col.append(math.nan)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.records:
            raise KeyError(f"no {key!r} in this history; it has {sorted(self.records)}")
        return self.records[key]

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records.get("step", []))

    def keys(self) -> list[str]:
        return list(self.records)

    def last(self, key: str) -> float:
        return self[key][-1]

    def mean(self, key: str, *, first: int | None = None, last: int | None = None) -> float:
        """Mean of `key` over the first or last `n` logged steps (NaNs skipped)."""
        col = self[key]
        col = col[:first] if first else col[-last:] if last else col
        vals = [v for v in col if not math.isnan(v)]
        return sum(vals) / max(len(vals), 1)

    @property
    def metric_keys(self) -> list[str]:
        return [k for k in self.records if k not in ("step", "epoch", "images", "seconds")]

    def plot(self, keys: list[str] | None = None, *, smooth: int = 20):
        """A matplotlib Figure of the reported numbers against the step."""
        from .plots import plot_history

        return plot_history(self, keys=keys, smooth=smooth)

    def state_dict(self) -> dict:
        return {"records": self.records, "grids": [{"step": s, "images": g} for s, g in self.grids]}

    @classmethod
    def from_state_dict(cls, d: dict) -> "History":
        return cls(records={k: list(v) for k, v in d["records"].items()},
                   grids=[(g["step"], g["images"]) for g in d["grids"]])


def _budget_steps(n_data: int, batch_size: int, steps_per_epoch: int, *, epochs, steps, images) -> int | None:
    limits = []
    if epochs is not None:
        limits.append(math.ceil(epochs * steps_per_epoch))
    if steps is not None:
        limits.append(int(steps))
    if images is not None:
        limits.append(math.ceil(images / batch_size))
    return min(limits) if limits else None


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    # RNG states are CPU byte tensors; a checkpoint read onto a GPU brings them back as CUDA tensors
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def default_amp(model: GenerativeModel, device: str | torch.device) -> bool:
    """fit's default for `amp`: bf16 autocast on a CUDA device, unless the model's family opts out (`AUTOCAST`)."""
    return torch.device(device).type == "cuda" and type(model).AUTOCAST


def fit(model: GenerativeModel, data: MNIST, *,
        epochs: float | None = None, steps: int | None = None, images: int | None = None,
        seconds: float | None = None, batch_size: int | None = None, seed: int = 0,
        device: str | torch.device | None = None, ema: float | None = None, ema_warmup: bool = True,
        lr_warmup: int = 0, lr_decay: str | None = None, lr_decay_over: dict | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        checkpoint_minutes: float | None = None, resume: bool = False,
        sample_every: int | None = None, n_grid: int = 64, grid_seed: int = 0,
        grid_labels: torch.Tensor | None = None,
        callbacks: tuple[Callable[[int, GenerativeModel, History], None], ...] = (),
        amp: bool | None = None, progress: bool = True) -> History:
    """Train `model` on `data` until the first budget is reached; return its History.

    Budgets (give at least one; training stops at the first reached): `epochs`, `steps`, `images`
    (images seen; fair across families, since a GAN takes two optimiser steps per batch) and
    `seconds` of wall clock. `batch_size` defaults to the model's `config.batch_size` (else 128).

    `checkpoint` is a file written every `checkpoint_every` steps and/or `checkpoint_minutes`, and at
    the end; with `resume=True` an existing one is loaded and training continues exactly where it
    stopped (weights, optimisers, EMA, RNG, step, data order), so straight and resumed runs match.
    `sample_every` stores a grid of `n_grid` samples from fixed noise (seeded `grid_seed`) every so
    many steps in `history.grids`. `ema` is a decay such as 0.999: the average is `history.ema`
    (with `ema_warmup`, the decay grows as min(ema, (1 + n) / (10 + n)); see EMA).
    `lr_warmup` steps raise every optimiser's learning rate linearly from 0 to its value; `lr_decay`
    "cosine" then lowers it along half a cosine to 0 at the end of the budget (the fraction of the
    budget spent: steps / total steps, or seconds / seconds budget, whichever is further).
    `lr_decay_over` is the budget the decay spans when one run is trained in stages, several calls
    that resume (e.g. {"images": 275_000} while this call stops at a third of it); default: this call's.
    `callbacks` are called as `cb(step, model, history)` after every step.
    `amp` trains under bf16 autocast (CUDA only); by default it is on for a CUDA device where the model's
    family allows it (`AUTOCAST`: the VAE trains in float32, which measured better there).
    """
    if all(b is None for b in (epochs, steps, images, seconds)):
        raise ValueError("give fit a budget: epochs=, steps=, images= or seconds= (training stops at the first reached)")
    for name, b in (("epochs", epochs), ("steps", steps), ("images", images), ("seconds", seconds)):
        if b is not None and b <= 0:
            raise ValueError(f"budget {name} must be positive, got {b}")
    from .utils import check_seed

    seed, grid_seed = check_seed(seed), check_seed(grid_seed, what="grid_seed")  # before any work
    batch_size = getattr(model.config, "batch_size", 128) if batch_size is None else batch_size
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if batch_size > len(data):
        raise ValueError(f"batch_size {batch_size} is larger than the data ({len(data)} images)")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint= (the file to resume from)")
    if checkpoint is not None:  # a checkpoint that cannot be written must fail now, not after the training
        check_writable(checkpoint, what="checkpoint")
    device = torch.device(device) if device is not None else default_device()
    if amp is None:
        amp = default_amp(model, device)
    if amp and device.type != "cuda":
        raise ValueError(f"mixed precision (amp=True) is for CUDA only; this run is on {device.type}")

    if lr_decay not in (None, "cosine"):
        raise ValueError(f"lr_decay must be None or 'cosine', got {lr_decay!r}")
    if lr_warmup < 0:
        raise ValueError(f"lr_warmup is a number of steps and must be >= 0, got {lr_warmup}")
    if lr_decay_over is not None:
        unknown = set(lr_decay_over) - {"epochs", "steps", "images", "seconds"}
        if unknown or not any(v is not None for v in lr_decay_over.values()):
            raise ValueError(f"lr_decay_over is a budget (epochs=, steps=, images= and/or seconds=), got {lr_decay_over}")
    model.to(device).train()
    optimizers = model.configure_optimizers()
    base_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in optimizers.items()}
    ema_model = EMA(model, ema, warmup=ema_warmup) if ema is not None else None
    history = History(ema=ema_model)
    state = {"step": 0, "images": 0, "seconds": 0.0}
    ckpt_path = Path(checkpoint) if checkpoint is not None else None

    if resume and ckpt_path is not None and ckpt_path.is_file():
        # a checkpoint saved without an EMA: the EMA starts from the loaded weights (with a warning)
        saved = load_checkpoint(ckpt_path, model, optimizers=optimizers, ema=ema_model, missing_ema="restart")
        if saved.get("seed", seed) != seed or saved.get("batch_size", batch_size) != batch_size:
            raise ValueError(f"{ckpt_path} was trained with seed={saved.get('seed')}, batch_size="
                             f"{saved.get('batch_size')}; resume with the same values (got {seed}, {batch_size})")
        state.update({k: saved[k] for k in ("step", "images", "seconds")})
        history = History.from_state_dict(saved["history"])
        history.ema = ema_model
        _set_rng_state(saved["rng"])
    else:
        seed_everything(seed)

    data = data.to(device)
    per_epoch = batches_per_epoch(len(data), batch_size)
    total = _budget_steps(len(data), batch_size, per_epoch, epochs=epochs, steps=steps, images=images)
    decay_steps, decay_seconds = total, seconds  # what the cosine decay spans
    if lr_decay_over is not None:
        decay_steps = _budget_steps(len(data), batch_size, per_epoch, epochs=lr_decay_over.get("epochs"),
                                    steps=lr_decay_over.get("steps"), images=lr_decay_over.get("images"))
        decay_seconds = lr_decay_over.get("seconds")
    grid_gen_seed = grid_seed

    def save():
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, model, optimizers=optimizers, ema=ema_model, state={
            **state, "seed": seed, "batch_size": batch_size, "rng": _rng_state(),
            "history": history.state_dict()})

    def grid():
        sampler = ema_model.module if ema_model is not None else model
        sampler.eval()
        g = torch.Generator().manual_seed(grid_gen_seed)
        labels = grid_labels
        if sampler.conditional and labels is None:
            labels = torch.arange(n_grid) % sampler.config.num_classes
        with torch.no_grad():
            imgs = sampler.sample(n_grid, labels=labels, generator=g)
        history.grids.append((state["step"], imgs.float().cpu()))
        model.train()

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=state["step"], disable=not progress, desc=f"{model.family}", unit="step")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext()
    started = time.perf_counter() - state["seconds"]
    last_ckpt_time = time.perf_counter()
    done = (total is not None and state["step"] >= total) or (seconds is not None and state["seconds"] >= seconds)
    if sample_every and state["step"] == 0 and not history.grids:
        grid()

    def set_lr():
        """The learning-rate schedule: linear warm-up, then cosine decay over the budget (if asked)."""
        if not lr_warmup and lr_decay is None:
            return
        factor = min(1.0, (state["step"] + 1) / lr_warmup) if lr_warmup else 1.0
        if lr_decay == "cosine":
            spent = max(state["step"] / decay_steps if decay_steps else 0.0,
                        state["seconds"] / decay_seconds if decay_seconds else 0.0)
            factor *= 0.5 * (1 + math.cos(math.pi * min(1.0, spent)))
        for name, opt in optimizers.items():
            for g, lr in zip(opt.param_groups, base_lrs[name]):
                g["lr"] = lr * factor

    try:
        while not done:
            epoch, start = divmod(state["step"], per_epoch)
            for batch in data.batches(batch_size, seed=seed, epoch=epoch, start=start):
                set_lr()
                with autocast:
                    out = model.train_step(batch, optimizers)
                bad = {k: v for k, v in out.items() if not math.isfinite(v)}
                if bad:
                    where = f"; the last good checkpoint is {ckpt_path}" if ckpt_path and ckpt_path.is_file() else ""
                    lr = getattr(model.config, "lr", None)
                    raise TrainingDiverged(
                        f"training diverged at step {state['step'] + 1}: {bad} (loss is not finite). "
                        f"Likely cause: a learning rate too high for this model (lr={lr}) or an unstable "
                        f"objective; lower lr, or check the data is in [-1, 1]. Nothing after step "
                        f"{state['step']} was saved{where}.", step=state["step"] + 1, history=history)
                if ema_model is not None:
                    ema_model.update(model, state["step"])
                state["step"] += 1
                state["images"] += len(batch[0])
                state["seconds"] = time.perf_counter() - started
                history.log({"step": state["step"], "epoch": epoch, "images": state["images"],
                             "seconds": state["seconds"], **out})
                for cb in callbacks:
                    cb(state["step"], model, history)
                bar.update(1)
                if state["step"] % 10 == 0 or state["step"] == 1:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in out.items()}, refresh=False)
                if sample_every and state["step"] % sample_every == 0:
                    grid()
                done = (total is not None and state["step"] >= total) or (
                    seconds is not None and state["seconds"] >= seconds)
                due = (checkpoint_every and state["step"] % checkpoint_every == 0) or (
                    checkpoint_minutes and time.perf_counter() - last_ckpt_time >= 60 * checkpoint_minutes)
                if due and not done:
                    save()
                    last_ckpt_time = time.perf_counter()
                if done:
                    break
    finally:
        bar.close()
    if sample_every and (not history.grids or history.grids[-1][0] != state["step"]):
        grid()
    save()
    model.eval()
    return history


def _budget_met(state: dict, n_data: int, batch_size: int, *, epochs=None, steps=None, images=None,
                seconds=None) -> bool:
    """Whether a run that reached `state` (a checkpoint's step, images, seconds) has met the budget."""
    total = _budget_steps(n_data, batch_size, batches_per_epoch(n_data, batch_size),
                          epochs=epochs, steps=steps, images=images)
    if total is None and seconds is None:
        return True  # no budget asked for: whatever was trained is what is wanted
    return (total is not None and state["step"] >= total) or (seconds is not None and state["seconds"] >= seconds)


def train_or_load(model: GenerativeModel, data: MNIST, *, checkpoint: str | os.PathLike,
                  retrain: bool = False, **fit_kwargs) -> History:
    """Train `model` with `fit` until the budget in `fit_kwargs` is met, reusing `checkpoint` when it exists.

    - no checkpoint (or `retrain=True`): train from scratch; the checkpoint is written for next time;
    - a checkpoint whose recorded state meets the budget (a finished run, a shipped reference): load
      it at once, with its History (so a loaded model still has its curves);
    - a checkpoint that stopped short of the budget (an interrupted run, or a larger budget now):
      resume with `fit(resume=True)` from its step, exactly where it stopped, so no training is lost.

    The lessons' one-liner. Says which of the three it does. Unless told otherwise (`checkpoint_every=`,
    `checkpoint_minutes=`), it saves every 5 minutes of training. Asking for `ema=` when loading a finished
    checkpoint saved without an EMA is an error (a resumed run starts the EMA from the loaded weights).
    """
    path = Path(checkpoint)
    fit_kwargs.pop("resume", None)  # train_or_load decides
    if fit_kwargs.get("checkpoint_every") is None and fit_kwargs.get("checkpoint_minutes") is None:
        fit_kwargs["checkpoint_minutes"] = 5.0  # a disconnect loses minutes, not the run
    if retrain or not path.is_file():
        return fit(model, data, checkpoint=path, **fit_kwargs)
    state = read_checkpoint(path)["state"]
    batch_size = fit_kwargs.get("batch_size") or getattr(model.config, "batch_size", 128)
    budget = {k: fit_kwargs.get(k) for k in ("epochs", "steps", "images", "seconds")}
    if "step" in state and not _budget_met(state, len(data), batch_size, **budget):
        asked = ", ".join(f"{k}={v}" for k, v in budget.items() if v is not None)
        print(f"{path} stopped at step {state['step']} ({state.get('images', 0):,} images) before the budget "
              f"({asked}): resuming training from step {state['step']}")
        return fit(model, data, checkpoint=path, resume=True, **fit_kwargs)
    device = fit_kwargs.get("device") or default_device()
    model.to(device)
    ema_decay = fit_kwargs.get("ema")
    ema_model = EMA(model, ema_decay) if ema_decay is not None else None
    saved = load_checkpoint(path, model, ema=ema_model)
    history = History.from_state_dict(saved["history"]) if "history" in saved else History()
    history.ema = ema_model
    model.eval()
    if "step" in saved:
        print(f"loaded {path}: trained for {saved['step']} steps, which meets the budget "
              "(delete the file or pass retrain=True to train again)")
    else:
        print(f"loaded {path} as it is: it records no training state to resume from")
    return history
