"""The showdown: VAE vs GAN vs diffusion, trained on the same data under the same budget, measured.

For every contender (a family and a preset: the original notebook's `seed` model and the proper one
of each family) and every seed, `showdown` trains with `fit` under the same budget (images seen or
wall-clock minutes: fair across families, since a GAN takes two optimiser steps per batch), evaluates
at stages of the budget (quality against training time), samples with fixed noise, scores the samples
with the evaluation suite and writes

    <out>/results.json   every figure, per contender and seed, plus the mean and spread over seeds
    <out>/report.md      the table, the verdicts computed from it, and the figures below
    <out>/*.png          side-by-side sample grids on the same noise; quality against training time

An interrupted showdown resumes: finished runs are read back from results.json and a run stopped
mid-training continues from its checkpoint (`fit(resume=True)`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from .data import MNIST, load_mnist
from .models.base import MODEL_REGISTRY, _import_families
# the reporting half, re-exported: genedu.showdown.verdicts(...) and friends work as before
from .showdown_report import (CRITERIA, LOWER_IS_BETTER, METRICS, TABLE_COLUMNS, seed_ratios,  # noqa: F401
                              strengths_and_limitations, summarise, table_markdown, verdicts, write_report)
from .train import fit
from .utils import count_parameters, default_device


@dataclass(frozen=True)
class Contender:
    family: str  # registry name: "vae", "gan" or "diffusion"
    preset: str  # a preset of that family
    label: str  # how tables and figures name it
    ema: float | None = None  # EMA decay for training, overriding the preset's recipe (sampling uses the EMA)
    sample_options: dict = field(default_factory=dict)  # passed to model.sample (e.g. DDIM steps)
    likelihood: bool = False  # whether to report a likelihood bound for it (VAE: IWAE; DDPM: its variational bound)
    conditional: bool = False  # sample with balanced requested classes (True) or unconditionally (null label)
    config: dict = field(default_factory=dict)  # overrides of the preset's config, e.g. {"num_classes": 0}

    @property
    def key(self) -> str:
        return f"{self.family}/{self.preset}"


# Every contender is unconditional, so the DDPM and the flow are compared with the VAE and the GAN like
# with like. Their laptop presets are class-conditional networks for guidance (lesson 03b) that learn the
# unconditional model only from the 10 % of batches whose labels are dropped; here the same networks train
# unconditionally (num_classes=0), with every update, in batches of 64 (the laptop VAE's). At the showdown's
# budget (275,072 images, seed 0, DDIM 50, 2,000 samples) the DDPM scored FID 89.6 as a conditional model
# sampled with its null label, 52.5 trained unconditionally and 43.4 unconditionally at batch 64: twice the
# updates in the same CPU seconds (benchmarks/results/recipe_trials.json).
UNCONDITIONAL = {"num_classes": 0, "batch_size": 64}

# The original notebook's three models and genedu's proper recipe of each family: the `laptop` presets
# (the recipes the references scale up), each trained with its preset's recipe (EMA with warm-up, and the
# learning-rate schedule; see `Model.recipe`) unless a contender overrides its EMA.
CONTENDERS = [
    Contender("vae", "seed", "VAE (seed)"),
    # sampled from its learned prior (a mixture fitted to the training codes after training, lesson 01)
    Contender("vae", "laptop", "VAE (laptop)", likelihood=True),
    Contender("gan", "seed", "GAN (seed)"),
    Contender("gan", "laptop", "GAN (laptop)"),  # hinge loss, spectral norm, two learning rates
    Contender("diffusion", "seed", "Diffusion (seed)"),
    # the 126 k UNet, cosine schedule, v-prediction; 50 stochastic DDIM steps (eta = 1: fresh noise at every
    # step). At this budget the short-trained model gains more from stochastic steps than from a better ODE
    # solver: on its three seeds' checkpoints (1,000 samples each) DDIM 50 scored FID 42.5 +/- 2.6 with eta 0,
    # 39.4 with eta 0.5, 31.2 +/- 2.1 with eta 1, DPM-Solver++ 2M 42.1 at 20 calls, against 30.2 for 1,000
    # ancestral steps (benchmarks/results/ddpm_samplers.json)
    Contender("diffusion", "laptop", "DDPM (laptop)", sample_options={"sampler": "ddim", "steps": 50, "eta": 1.0},
              likelihood=True, config=dict(UNCONDITIONAL)),
    # flow matching on the DDPM's network (the same 126 k UNet), 50 Euler steps: the DDPM's 50 network calls,
    # like with like. On its three seeds' checkpoints (1,000 samples each) 10 Euler steps scored FID 54.6, 50
    # steps 40.2, and two-call solvers at 50 calls 38.2 (midpoint) and 39.0 (Heun), within their spread: Euler
    # keeps steps equal to calls on the steps curve (benchmarks/results/flow_samplers.json)
    Contender("flow", "laptop", "Flow matching (laptop)", sample_options={"method": "euler", "steps": 50},
              config=dict(UNCONDITIONAL)),
]


def _resolve(contenders) -> list[Contender]:
    _import_families()
    out = []
    for c in contenders:
        if c.family not in MODEL_REGISTRY:
            raise ValueError(f"showdown: unknown family {c.family!r}; known: {sorted(MODEL_REGISTRY)}")
        if c.preset not in MODEL_REGISTRY[c.family].PRESETS:
            raise ValueError(f"showdown: {c.family} has no preset {c.preset!r}; "
                             f"presets: {sorted(MODEL_REGISTRY[c.family].PRESETS)}")
        try:  # an unknown or impossible override is refused before any data is read
            replace(MODEL_REGISTRY[c.family].PRESETS[c.preset], **c.config)
        except (TypeError, ValueError) as e:
            raise ValueError(f"showdown: {c.label}: the config override {c.config} does not fit "
                             f"{c.family}/{c.preset}: {e}") from None
        out.append(c)
    return out


def run_one(contender: Contender, data: MNIST, *, seed: int, images: int | None, seconds: float | None,
            stages: int, n_samples: int, out: Path, device, progress: bool = True,
            test_data: MNIST | None = None, likelihood_k: int = 100, likelihood_n: int = 2000,
            ddim_steps: tuple[int, ...] = (), ddim_samples: int = 2000,
            ancestral_steps: int | None = None) -> dict[str, Any]:
    """Train one contender with one seed, in `stages` equal parts of the budget, scoring after each.

    The preset's recipe applies (`Model.recipe`: EMA, learning-rate warm-up and decay, the decay spanning
    the whole budget, not each stage); the contender's `ema`, if set, overrides the recipe's. After each
    stage the model's `after_training` runs (a VAE fits its learned prior) before it is sampled.
    The last stage is scored on `n_samples` samples, the earlier ones on fewer (they only draw the
    quality-against-time curve). A diffusion contender sampled with DDIM is also scored at each of
    `ddim_steps` (on `ddim_samples` samples): quality and time against the number of steps; with
    `ancestral_steps`, also DDPM's ancestral sampler at that many steps (the baseline DDIM is judged by).
    """
    torch.manual_seed(seed)
    family = MODEL_REGISTRY[contender.family]
    model = family.from_preset(contender.preset, **contender.config)
    recipe = family.recipe(contender.preset)
    if contender.ema is not None:
        recipe["ema"] = contender.ema
    whole = {"images": images, "seconds": seconds}
    ckpt = checkpoint_path(out, contender, seed)
    # each stage's point is kept beside the checkpoint, so a resumed run keeps the points it measured; a
    # stage the checkpoint has already passed, with no kept point, is skipped rather than measured late
    points = ckpt.with_suffix(".curve.json")
    kept = json.loads(points.read_text()) if ckpt.exists() and points.exists() else []
    done = _checkpoint_progress(ckpt)
    curve, history, report = [], None, {}
    for s in range(1, stages + 1):
        budget = {}
        if images is not None:
            budget["images"] = math.ceil(images * s / stages)
        if seconds is not None:
            budget["seconds"] = seconds * s / stages
        if s < stages:
            old = [p for p in kept if p.get("stage") == s]
            if old:
                curve.append(old[0])
                continue
            if done is not None and _passed(done, budget):
                if progress:
                    print(f"  {contender.label} seed {seed}, stage {s}/{stages}: skipped (the checkpoint "
                          f"it resumes from is already past it)")
                continue
        history = fit(model, data, seed=seed, device=device, checkpoint=ckpt, resume=True, progress=progress,
                      lr_decay_over=whole if recipe.get("lr_decay") else None, **recipe, **budget)
        sampler = history.ema.module if history.ema is not None else model
        sampler.after_training(data, seed=seed)  # e.g. the VAE's learned prior, refitted to this stage's codes
        n_stage = n_samples if s == stages else min(n_samples, max(500, n_samples // 4))
        report = sample_and_score(sampler, contender.sample_options, n_stage, seed=seed,
                                  conditional=contender.conditional)
        curve.append({"stage": s, "images": history.last("images"), "seconds": history.last("seconds"),
                      "fid": report["fid"], "n_samples": n_stage})
        points.write_text(json.dumps(curve))
        if progress:
            print(f"  {contender.label} seed {seed}, stage {s}/{stages}: {curve[-1]['images']:,.0f} images, "
                  f"{curve[-1]['seconds']:.0f} s, FID {report['fid']:.2f} ({n_stage} samples)")
    result = {
        "family": contender.family, "preset": contender.preset, "label": contender.label, "seed": seed,
        "parameters": count_parameters(model), "images_seen": curve[-1]["images"],
        "train_seconds": curve[-1]["seconds"], "curve": curve, "recipe": recipe, "config": dict(contender.config),
        # the whole config the run trained with (the preset's, with the contender's overrides): a preset that
        # changes later is then seen in a record (`changed_since`), not only an override that does
        "model_config": json.loads(json.dumps(model.config_dict())),
        "final_loss": history.mean("loss", last=50),
        **report,
        **_grid_and_steps_curve(contender, sampler, seed=seed, out=out, ddim_steps=ddim_steps,
                                n=min(ddim_samples, n_samples)),
    }
    if "steps_curve" in result and ancestral_steps and contender.family == "diffusion":
        # the baseline the DDIM curve is judged by: DDPM's ancestral sampler, every step of the schedule
        r = sample_and_score(sampler, {"sampler": "ddpm", "steps": ancestral_steps}, min(ddim_samples, n_samples),
                             seed=seed, conditional=contender.conditional)
        result["ancestral"] = {"steps": ancestral_steps, "fid": r["fid"], "seconds_per_1000": r["seconds_per_1000"],
                               "n_samples": r["n"]}
    if contender.likelihood and test_data is not None and contender.family == "diffusion":
        # the DDPM's variational bound, on the 8-bit test images (a density on greys, not on binary pixels)
        from .evaluate.likelihood import diffusion_bound

        bound = diffusion_bound(sampler, test_data, n=likelihood_n, seed=seed)
        result["nll_bpd_8bit"] = bound["bits_per_dim"]
        result["nll_bpd_8bit_setting"] = bound["setting"]
    elif contender.likelihood and test_data is not None:
        from .evaluate.likelihood import iwae_nll

        result["nll_nats"] = float(iwae_nll(sampler, test_data, k=likelihood_k, n=likelihood_n))
        result["nll_setting"] = (f"IWAE k={likelihood_k}, first {min(likelihood_n, len(test_data))} test images, "
                                 "dynamically binarised")
        result["nll_bpd_binarised"] = result["nll_nats"] / (28 * 28 * math.log(2))
    return result


def _grid_and_steps_curve(contender: Contender, sampler, *, seed: int, out: Path, ddim_steps, n: int) -> dict:
    """Save the contender's sample grid (the same noise for every contender: seeded 0, whatever the run's
    seed) and, for a sampler with steps (DDIM for a DDPM, an ODE solver for a flow), score it at each of
    `ddim_steps` on n samples: quality and time against the number of steps ({"steps_curve": [...]})."""
    grid_labels = torch.arange(64) % 10 if contender.conditional else None
    with torch.no_grad():
        grid = sampler.sample(64, labels=grid_labels, generator=torch.Generator().manual_seed(0),
                              **contender.sample_options).cpu()
    (out / "grids").mkdir(exist_ok=True)
    torch.save(grid, out / "grids" / f"{contender.family}_{contender.preset}_seed{seed}.pt")
    if not ddim_steps or not (contender.sample_options.get("sampler") == "ddim" or "method" in contender.sample_options):
        return {}
    curve = []
    for k in ddim_steps:
        r = sample_and_score(sampler, {**contender.sample_options, "steps": k}, n, seed=seed,
                             conditional=contender.conditional)
        curve.append({"steps": k, "fid": r["fid"], "seconds_per_1000": r["seconds_per_1000"], "n_samples": r["n"]})
    return {"steps_curve": curve}


def rescore(out: str | Path, contender: Contender, *, device=None, progress: bool = True) -> list[dict[str, Any]]:
    """Sample and score a finished contender again with new `sample_options`, from the checkpoints a showdown
    in `out` kept: a sampler is chosen after training, so changing it needs no training. The contender must
    match the recorded one in all but its sample_options. Each of its runs gets new samples' figures, grid
    and steps curve; what the sampler does not change is kept (the likelihood bound, the ancestral baseline,
    the earlier stages of the training curve, which say what they were sampled with), and the run records
    `rescored` (the options and FID before). results.json is rewritten with the contender's new settings,
    so the showdown called with them resumes, finds every run done, and reports them."""
    from .checkpoint import load_model

    out = Path(out)
    path = out / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: rescore needs a finished showdown's folder")
    results = json.loads(path.read_text())
    settings = results["settings"]
    saved = [Contender(**c) for c in settings["contenders"]]
    old = next((c for c in saved if c.key == contender.key), None)
    as_saved = Contender(**json.loads(json.dumps(asdict(contender))))  # a tuple override reads back as a list
    if old is None or replace(old, sample_options=contender.sample_options, label=contender.label) != as_saved:
        raise ValueError(f"rescore: {out} has no contender like {contender} apart from its sample options "
                         f"(recorded: {[asdict(c) for c in saved]})")
    runs = [r for r in results["runs"] if (r["family"], r["preset"]) == (contender.family, contender.preset)]
    ckpts = {r["seed"]: checkpoint_path(out, contender, r["seed"]) for r in runs}
    missing = [p.name for p in ckpts.values() if not p.is_file()]
    if not runs or missing:
        raise FileNotFoundError(f"rescore: {out} has {len(runs)} finished {contender.label} run(s); missing "
                                f"checkpoints: {missing}")
    device = torch.device(device) if device is not None else default_device()
    data = load_mnist("train")
    if settings.get("data_limit") is not None:
        data = data.subset(torch.arange(min(settings["data_limit"], len(data))))
    for run in runs:
        seed = run["seed"]
        sampler = load_model(ckpts[seed], device=device)  # its EMA weights, as the showdown sampled
        sampler.after_training(data, seed=seed)
        report = sample_and_score(sampler, contender.sample_options, settings["n_samples"], seed=seed,
                                  conditional=contender.conditional)
        before = {"sample_options": old.sample_options, "fid": run["fid"]}
        n_ddim = min(settings["ddim_samples"], settings["n_samples"])
        run.update(report)
        run.pop("steps_curve", None)  # the old sampler's: a new sampler without steps has none
        run.update(_grid_and_steps_curve(contender, sampler, seed=seed, out=out, n=n_ddim,
                                         ddim_steps=tuple(settings["ddim_steps"])))
        run["label"] = contender.label
        for point in run["curve"][:-1]:
            point.setdefault("sample_options", old.sample_options)
        run["curve"][-1]["fid"] = report["fid"]
        run["rescored"] = before
        if progress:
            print(f"  {contender.label} seed {seed} rescored with {contender.sample_options}: FID "
                  f"{before['fid']:.2f} -> {report['fid']:.2f}")
    settings["contenders"] = [asdict(contender if c.key == contender.key else c) for c in saved]
    for k in ("summary", "verdicts", "calibration"):  # recomputed by the showdown that reports them
        results.pop(k, None)
    _write_json(path, results)
    return runs


def changed_since(record: dict[str, Any], contenders: list[Contender] | None = None) -> dict[str, str]:
    """Which of today's `contenders` (default CONTENDERS) a showdown record (its results JSON) was not made
    with: {key: what differs}. Compared are the contender's config overrides and sample options, its
    recipe, and, where the record's runs carry it (`model_config`), the whole config the model trained
    with, so a preset changed since the record (e.g. its batch size) is named too. A contender the
    record does not hold is named as such."""
    _import_families()
    contenders = CONTENDERS if contenders is None else contenders
    then = {f"{c['family']}/{c['preset']}": c for c in record["settings"]["contenders"]}
    changed = {}
    for c in contenders:
        if c.key not in then:
            changed[c.key] = "not in this record"
            continue
        old = then[c.key]
        now = json.loads(json.dumps({"config": c.config, "sample_options": c.sample_options}))
        diffs = [f"{k} was {old.get(k, {})}, now {now[k]}" for k in now if old.get(k, {}) != now[k]]
        family = MODEL_REGISTRY[c.family]
        recipe = family.recipe(c.preset)
        if c.ema is not None:
            recipe["ema"] = c.ema
        runs = [r for r in record.get("runs", []) if f"{r['family']}/{r['preset']}" == c.key]
        for r in runs[:1]:
            if r.get("recipe") is not None and r["recipe"] != json.loads(json.dumps(recipe)):
                diffs.append(f"recipe was {r['recipe']}, now {recipe}")
            if "model_config" in r:
                model_now = json.loads(json.dumps(family.from_preset(c.preset, **c.config).config_dict()))
                diffs += [f"{k} was {r['model_config'].get(k)}, now {v}" for k, v in model_now.items()
                          if r["model_config"].get(k) != v]
        if diffs:
            changed[c.key] = "; ".join(diffs)
    return changed


def checkpoint_path(out: str | Path, contender: Contender, seed: int) -> Path:
    """Where a showdown in folder `out` keeps the training checkpoint of one contender and seed. The name
    carries the contender's config overrides, so a checkpoint of the preset as it is is never resumed; a
    tuple override is written the same whether it was read back from results.json as a list or not."""
    def value(v):
        return "x".join(str(x) for x in v) if isinstance(v, (list, tuple)) else v

    stem = "_".join([contender.family, contender.preset,
                     *(f"{k}{value(v)}" for k, v in sorted(contender.config.items())), f"seed{seed}"])
    return Path(out) / "checkpoints" / f"{stem}.pt"


def _checkpoint_progress(ckpt: Path) -> dict[str, float] | None:
    """Images seen and seconds trained of an existing training checkpoint (None when there is none)."""
    from .checkpoint import read_checkpoint

    if not ckpt.exists():
        return None
    state = read_checkpoint(ckpt).get("state") or {}
    return {"images": float(state.get("images", 0)), "seconds": float(state.get("seconds", 0.0)),
            "batch_size": float(state.get("batch_size", 0))}


def _passed(done: dict[str, float], budget: dict[str, float]) -> bool:
    """Whether a checkpoint has trained past a stage's budget by more than the step that ends the stage
    (fit stops at the first step that reaches the budget, so a checkpoint saved there is that stage)."""
    if "images" in budget and done["images"] >= budget["images"] + done["batch_size"]:
        return True
    return "seconds" in budget and done["seconds"] > 1.01 * budget["seconds"] + 1.0


def sample_and_score(model, sample_options: dict, n: int, *, seed: int = 0, conditional: bool = True) -> dict[str, Any]:
    """Draw n samples (balanced requested labels for a conditional model, unless `conditional=False`:
    then its null label, i.e. unconditionally), time them, and score them (no calibration rows: the
    showdown measures those once)."""
    from .evaluate import evaluate_samples
    from .sampling import draw_samples

    samples, labels, seconds = draw_samples(model, n, generator=torch.Generator().manual_seed(10_000 + seed),
                                            conditional=conditional, **sample_options)
    report = evaluate_samples(samples, labels=labels, sample_seconds=seconds, with_calibration=False).as_dict()
    report["seconds_per_1000"] = 1000 * seconds / n
    return report


def showdown(*, contenders: list[Contender] | None = None, minutes: float | None = None,
             images: int | None = None, seeds: int | list[int] = 1, n_samples: int = 10_000,
             stages: int = 3, out: str | Path = "showdown", device=None, progress: bool = True,
             data_limit: int | None = None, likelihood_k: int = 100, likelihood_n: int = 2000,
             ddim_steps: tuple[int, ...] = (10, 25, 50, 100), ddim_samples: int = 2000,
             ancestral_steps: int | None = None) -> dict[str, Any]:
    """Run the showdown; return the results dict (also written to `<out>/results.json`, with a report).

    `minutes` (wall clock per run) or `images` (images seen per run) is the budget every contender gets;
    `seeds` is a count or a list; `n_samples` is scored per run (10,000 for the protocol's figures);
    `stages` evaluations along the way draw the quality-against-training-time curve; `data_limit` trains
    on the first images only (fast mode); `ddim_steps` are the step counts of the DDIM curve, and
    `ancestral_steps` (e.g. 1000) adds the DDPM's ancestral sampler at that many steps beside it.
    Finished runs are kept in results.json as they end, so a second call with the same settings
    resumes where the first stopped (and a run cut off mid-training continues from its checkpoint);
    a call that only adds seeds trains the new seeds and reports over all of them.
    """
    if minutes is None and images is None:
        raise ValueError("showdown needs a budget: minutes= (wall clock per run) or images= (images seen per run)")
    if (minutes is not None and minutes <= 0) or (images is not None and images <= 0):
        raise ValueError(f"the showdown budget must be positive, got minutes={minutes}, images={images}")
    if data_limit is not None and data_limit < 1:
        raise ValueError(f"data_limit is the number of training images to use and must be at least 1, got "
                         f"{data_limit}; leave it None for all of them")
    if n_samples < 100:
        raise ValueError(f"n_samples={n_samples} is too few to score; use at least 100 (10,000 for the protocol)")
    if stages < 1:
        raise ValueError(f"stages must be at least 1, got {stages}")
    contenders = _resolve(contenders or CONTENDERS)
    if ancestral_steps is not None:  # DDPM's ancestral sampler takes every step of the schedule, no fewer
        for c in contenders:
            T = c.config.get("T", getattr(MODEL_REGISTRY[c.family].PRESETS[c.preset], "T", None))  # its override, if any
            if c.family == "diffusion" and c.preset != "seed" and ancestral_steps != T:
                raise ValueError(f"ancestral_steps={ancestral_steps}: {c.label} has a {T}-step schedule, and "
                                 f"ancestral sampling takes all of them; use ancestral_steps={T} or None")
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise ValueError("showdown needs at least one seed")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    settings = {"minutes": minutes, "images": images, "seeds": seeds, "n_samples": n_samples, "stages": stages,
                "data_limit": data_limit, "likelihood_k": likelihood_k, "likelihood_n": likelihood_n,
                "ddim_steps": list(ddim_steps), "ddim_samples": ddim_samples, "ancestral_steps": ancestral_steps,
                "contenders": [asdict(c) for c in contenders]}
    results = {"settings": settings, "runs": []}
    if results_path.is_file():  # resume; more seeds than before extend the showdown, other changes are refused
        saved = json.loads(results_path.read_text())
        as_saved = json.loads(json.dumps(settings))  # a tuple override reads back as a list
        if {**saved.get("settings", {}), "seeds": None} != {**as_saved, "seeds": None}:
            raise ValueError(f"{results_path} holds a showdown with other settings; use another out folder "
                             "or delete it to start afresh")
        settings["seeds"] = sorted(set(saved["settings"]["seeds"]) | set(seeds))
        results = {**saved, "settings": settings}
    device = torch.device(device) if device is not None else default_device()
    data = load_mnist("train")
    if data_limit is not None:
        data = data.subset(torch.arange(min(data_limit, len(data))))
    test = load_mnist("test")
    done = {(r["family"], r["preset"], r["seed"]) for r in results["runs"]}
    todo = [(c, seed) for c in contenders for seed in seeds if (c.family, c.preset, seed) not in done]
    if progress and done:
        print(f"showdown: resuming; {len(done)} run(s) already in {results_path}, {len(todo)} to go")
    for i, (c, seed) in enumerate(todo, 1):
        if progress:
            print(f"showdown [{i}/{len(todo)}]: {c.label}, seed {seed}")
        run = run_one(c, data, seed=seed, images=images, seconds=None if minutes is None else 60 * minutes,
                      stages=stages, n_samples=n_samples, out=out, device=device, progress=progress,
                      test_data=test, likelihood_k=likelihood_k, likelihood_n=likelihood_n,
                      ddim_steps=tuple(ddim_steps), ddim_samples=ddim_samples, ancestral_steps=ancestral_steps)
        results["runs"].append(run)
        _write_json(results_path, results)  # a finished run is never trained again
    from .evaluate import calibration

    results["calibration"] = calibration(n_samples)
    results["summary"] = summarise(results["runs"], contenders)
    results["verdicts"] = verdicts(results["summary"])
    results["machine"] = _machine(device)
    _write_json(results_path, results)
    write_report(results, out)
    return results


def _machine(device) -> dict:
    import os
    import platform

    from .utils import describe_machine

    return {"description": describe_machine(device), "platform": platform.platform(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": str(device),
            "torch": torch.__version__}


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(obj, indent=2, default=float) + "\n")
    tmp.replace(path)
