# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · The showdown: VAE vs GAN vs diffusion, measured
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/05_showdown.ipynb)

# %% [markdown]
# ## In one minute
#
# - **The idea:** generative models compare fairly only on the same data, the same budget (images seen, never
#   "epochs"), the same noise for the pictures, several seeds and one yardstick (lesson 04).
# - **You build** a showdown: the original notebook's model of each family beside genedu's proper one
#   (lessons 01-03b), trained by one loop on one budget.
# - **You measure** FID and its companions, quality against training time, sampler steps against quality and
#   time, and the spread over seeds.
# - **It shows** where each family wins (quality, sampling speed, likelihood, control), and, from the trained
#   references genedu ships, what each family can do.

# %%
import subprocess
import sys

REPO_URL = "https://github.com/genedu-course/genedu"  # must equal genedu._version.REPO_URL (a test checks)
if "google.colab" in sys.modules:  # in Colab only: install genedu from the repository
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"], check=True)

# %%
import json
import math
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

import genedu
from genedu import plots
from genedu import showdown as S
from genedu import showdown_plots as SP
from genedu.models.flow import Flow
from genedu.reference import has_reference, load_reference, reference_info, sample_options, sample_reference
from genedu.utils import default_device, fast_mode, results_file, seed_everything

device = default_device()
seed_everything(0)
print(f"genedu {genedu.__version__}, torch {torch.__version__}, device {device}")

# %% [markdown]
# ## Parameters
#
# The budget is counted in **images seen**: how many training images a model has processed, whatever its batch
# size or optimiser steps per batch (a GAN takes two). The original trained for 5 epochs: on genedu's 55,000-image
# `train` split, 275,000 images per model.
#
# **`TRAIN_FROM_SCRATCH` is the one switch.** `True` (the default on a GPU) runs the full showdown: that budget,
# 3 seeds, 10,000 samples scored per run; long even on a GPU, and a rerun resumes from its checkpoints. `False`
# (the default on a CPU) runs a **short showdown** of a few minutes: about 25,000 images per model, one seed.
# Half an epoch measures how far each model gets, not what its family can do: the **references** at the end
# show that. `GENEDU_FAST=1` (the tests) shows the machinery only, in seconds.

# %%
FAST = fast_mode()
TRAIN_FROM_SCRATCH = device.type == "cuda"  # True: the full showdown; False: the short one
if FAST:  # the tests: the machinery in seconds
    IMAGES, SEEDS, N_SAMPLES, STAGES, DDIM_STEPS, N_REF = 1024, 2, 200, 2, (2, 5), 300
    LIKELIHOOD_N, LIKELIHOOD_K = 100, 5
elif TRAIN_FROM_SCRATCH:  # the full showdown: 275,000 images per model, 3 seeds
    IMAGES, SEEDS, STAGES, DDIM_STEPS = 5 * 55_000, 3, 3, (10, 25, 50, 100)
    N_SAMPLES = N_REF = 10_000 if device.type == "cuda" else 2000  # the protocol's 10,000 (hours on a CPU)
    LIKELIHOOD_N, LIKELIHOOD_K = 2000, 100
else:  # the short showdown: a few minutes on a 2-core CPU
    IMAGES, SEEDS, N_SAMPLES, STAGES, DDIM_STEPS, N_REF = 200 * 128, 1, 1000, 2, (5, 10, 25), 500
    LIKELIHOOD_N, LIKELIHOOD_K = 1000, 20
DATA_LIMIT = 2048 if FAST else None  # fast mode trains on the first images only
DDIM_SAMPLES = N_SAMPLES if TRAIN_FROM_SCRATCH else min(N_SAMPLES, 500)  # scored per point of the steps curve
# one folder per mode, so a rerun resumes (a showdown refuses other settings); fast mode starts afresh
OUT = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints") / ("showdown" if TRAIN_FROM_SCRATCH else "showdown_short")
print(f"FAST={FAST}, TRAIN_FROM_SCRATCH={TRAIN_FROM_SCRATCH}: {IMAGES:,} images per run, {SEEDS} seed(s), {N_SAMPLES:,}"
      f" samples scored, {STAGES} stages, sampler steps {DDIM_STEPS}, {N_REF:,} reference samples, out={OUT}")

# %% [markdown]
# ## The contenders
#
# | family | `seed` preset: the original notebook's model | proper preset: `laptop` |
# |---|---|---|
# | VAE | 784-400-20 MLP, tanh output, MSE + KL | residual conv encoder and decoder, Bernoulli likelihood, 16 latents, KL weight $\beta = 0.5$, a learned mixture prior (lesson 01) |
# | GAN | MLP generator and discriminator, BCE, one shared fake batch | convolutional, hinge loss, spectral normalisation, two learning rates (lesson 02) |
# | diffusion | a 784-512-784 MLP predicting noise added once, no timestep | UNet with a time embedding, cosine schedule, v-prediction; 50 DDIM steps with $\eta = 1$ (lesson 03) |
# | flow matching | none (its baseline is the DDPM) | the same UNet on the straight path of lesson 03b; 50 Euler steps |
#
# The proper presets train with their **recipe** (`Model.recipe(preset)`, printed below): samples come from an
# exponential moving average (EMA) of the weights, and the VAE, DDPM and flow warm their learning rate up and
# decay it on a cosine over the budget. The `seed` presets train as the original did: no EMA, a constant
# learning rate. One `fit` loop trains all, one `evaluate_samples` scores all, on the same seeded noise.
#
# **Like is compared with like.** The VAE and the GAN take no label, so here the DDPM and the flow take none
# either. A `Contender`'s `config` overrides their class-conditional `laptop` presets: `num_classes=0`, so every
# update teaches the unconditional model (not only the 10 % of batches whose label is dropped), and batches of
# 64. Each change paid for itself (trials below). Every class histogram is then what a model learnt.
#
# **The EMA needs a warm-up.** After each step an EMA with decay $d$ (just below 1) moves the averaged weights
# $\bar\theta$ towards the weights $\theta$: $\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta$. It averages over
# about $1/(1-d)$ steps, from the random initial weights: after $n$ steps a share $d^n$ is still them, about
# half with $d = 0.999$ after a third of the full budget. genedu keeps $d$ and warms it up: update $n$ uses
# $d_n = \min(d, (1+n)/(10+n))$, so the initial weights are forgotten within tens of steps.

# %%
FAMILIES = {"vae": genedu.VAE, "gan": genedu.GAN, "diffusion": genedu.Diffusion, "flow": Flow}
for c in S.CONTENDERS:
    if c.config:  # each override builds a model, unconditional, in batches of 64
        model = FAMILIES[c.family].from_preset(c.preset, **c.config)
        assert not model.conditional and model.config.batch_size == 64
        print(f"{c.label}: the {c.key} preset with {c.config}")

# %%
TRIALS = results_file("recipe_trials.json")  # a file of the repository's benchmarks/results/, or None
if TRIALS is not None:  # the trials behind the overrides, at this showdown's budget, worst first
    rows = SP.recipe_trials(json.loads(TRIALS.read_text()), prefix="diffusion/laptop", images=275_072)
    print("\n".join(r["line"] for r in rows))
    fid_of = {(r["num_classes"], r["batch_size"]): r["fid"] for r in rows}
    assert fid_of[(0, 64)] < fid_of[(0, 128)] < fid_of[(10, 128)]  # each change paid for itself

# %% [markdown]
# **Which sampler for the DDPM.** DDIM's parameter $\eta$ sets how much fresh noise each step adds. With
# $\eta = 0$ it adds none: a deterministic solver of the diffusion's ODE, lesson 03's fast sampler for a
# well-trained model. This DDPM is not one: on its checkpoints $\eta = 1$ beat every deterministic sampler at
# equal or fewer network calls. A stochastic step forgets part of the network's earlier errors; a deterministic
# solver carries them to the end (Karras et al. 2022).

# %%
SAMPLERS = results_file("ddpm_samplers.json")  # several samplers on the showdown's DDPM checkpoints
if SAMPLERS is not None:
    cmp = json.loads(SAMPLERS.read_text())
    print("\n".join(SP.ddpm_sampler_lines(cmp)))
    best = next(r for r in cmp["table"] if r["sampler"] == cmp["best"])
    assert best["options"] == next(c for c in S.CONTENDERS if c.key == "diffusion/laptop").sample_options

# %%
contenders = S.CONTENDERS
if FAST:  # fewer sampler steps: fast mode is about the machinery, not the quality
    contenders = [replace(c, sample_options={**c.sample_options, "steps": 5}) if c.sample_options else c
                  for c in contenders]
for c in contenders:  # each contender's recipe (EMA decay, learning-rate schedule) and sampler
    print(f"{c.label:22s} {c.key:16s} recipe={FAMILIES[c.family].recipe(c.preset)} sample_options={c.sample_options}")
first_third = 5 * 55_000 // 3 // 128  # steps of 128 images in the first third of the full budget: 716
init_share = {d: d ** first_third for d in (0.999, 0.995)}  # d^n: what is left of the initial weights
print("share of the initial weights left in an EMA without warm-up after", first_third, "steps:",
      {d: f"{v:.0%}" for d, v in init_share.items()})
assert init_share[0.999] > 0.45 and init_share[0.995] < 0.03

# %% [markdown]
# ## Run it
#
# `S.showdown` trains every contender for every seed in `STAGES` parts of the budget, scores the samples after
# each, and writes `results.json` as each run ends: run the cell again and it resumes. The command line does
# the same: `genedu showdown --images 275000 --seeds 3 --out showdown`.

# %%
results = S.showdown(contenders=contenders, images=IMAGES, seeds=SEEDS, n_samples=N_SAMPLES, stages=STAGES,
                     out=OUT, device=device, data_limit=DATA_LIMIT, ddim_steps=DDIM_STEPS,
                     ddim_samples=DDIM_SAMPLES, likelihood_n=LIKELIHOOD_N, likelihood_k=LIKELIHOOD_K)
summary = results["summary"]
assert len(results["runs"]) == len(contenders) * SEEDS
assert all(r["images_seen"] >= IMAGES for r in results["runs"])  # every model saw the same budget
assert set(summary) == {c.key for c in contenders}

# %% [markdown]
# ## The table
#
# Mean ± standard deviation over seeds of lesson 04's measures: FID and KID (lower is better), Inception Score
# (at most 10), precision (fidelity), recall (diversity), density, coverage, class KL, accuracy on requested
# classes; then sampling seconds per 1,000 images and the importance-weighted NLL (negative log-likelihood, in
# nats) where a family has one. The rows in italics calibrate the scale: real training images and noise.

# %%
display(Markdown(S.table_markdown(summary, results["calibration"])))
floor, ceiling = results["calibration"]
assert floor["fid"] < ceiling["fid"]
for v in summary.values():
    assert v["fid"]["mean"] > floor["fid"] * 0.5  # nothing trained on a budget beats real data by far
    assert 1.0 <= v["inception_score"]["mean"] <= 10.0 and 0 <= v["recall"]["mean"] <= 1

# %% [markdown]
# ## Samples on the same noise
#
# Every grid is drawn from the generator seeded 0, so differences come from the models, not the dice.

# %%
grids = {v["label"]: torch.load(OUT / "grids" / f"{v['family']}_{v['preset']}_seed0.pt", weights_only=True)
         for v in summary.values()}
plots.grids_side_by_side(grids, nrow=8, size=2.6)
plt.show()
assert all(g.shape == (64, 1, 28, 28) and g.min() >= -1 and g.max() <= 1 for g in grids.values())

# %% [markdown]
# ## Quality against training time
#
# FID after each stage of the budget. A curve still falling at the end says the family would profit from a
# longer budget; one that stalls or rises (a GAN's can) says more time is not what it lacks.

# %%
plots.quality_vs_time(results["runs"])
plt.show()
for r in results["runs"]:
    assert [c["images"] for c in r["curve"]] == sorted(c["images"] for c in r["curve"])

# %% [markdown]
# ## Sampler steps against quality and time
#
# The same DDPM drawn with more or fewer DDIM steps, the same flow with more or fewer Euler steps. Each step is
# one network evaluation, so time grows with the steps while quality saturates: the main cost of both
# families, and the knob that trades it.

# %%
step_runs = [r for r in results["runs"] if r.get("steps_curve")]  # the DDPM (DDIM steps) and the flow (Euler)
plots.steps_curve(step_runs)
plt.show()
for r in step_runs:
    print(f"{r['label']}, seed {r['seed']}: " + ", ".join(
        f"{c['steps']} steps FID {c['fid']:.1f} ({c['seconds_per_1000']:.1f} s/1000)" for c in r["steps_curve"]))
    assert [c["steps"] for c in r["steps_curve"]] == list(DDIM_STEPS)  # every step count was scored
assert {r["family"] for r in step_runs} == {"diffusion", "flow"}

# %% [markdown]
# **Like with like in network calls.** The DDPM and the flow both take 50 network calls per image. The
# next cell prints the flow's checkpoints under solvers of up to 50 calls, beside the DDPM at 50 steps. The
# calls buy much FID over 10 Euler steps; at 50 calls the solver (Euler, or midpoint and Heun at two calls a
# step) matters little.
# At equal calls the flow still trails the DDPM: at this budget, on the same network, the DDPM learnt more.

# %%
FLOW_SAMPLERS = results_file("flow_samplers.json")  # several solvers on the showdown's flow checkpoints
if FLOW_SAMPLERS is not None:
    fs = json.loads(FLOW_SAMPLERS.read_text())
    print("\n".join(SP.flow_sampler_lines(fs)))
    by = {row["sampler"]: row["fid_mean"] for row in fs["table"]}
    at_50 = [row["fid_mean"] for row in fs["table"] if row["network_calls"] == 50]
    assert max(at_50) < by["Euler 10"]  # more calls, better samples
    assert max(at_50) - min(at_50) < 0.1 * by["Euler 50"]  # the solver matters little at 50 calls
    assert min(at_50) > fs["ddpm_50_fid_mean"]  # the DDPM leads at equal calls, at this budget
calls = {c.family: c.sample_options["steps"] for c in S.CONTENDERS if c.key in ("diffusion/laptop", "flow/laptop")}
assert calls == {"diffusion": 50, "flow": 50}  # both drawn with 50 network calls (Euler: one call a step)

# %% [markdown]
# ## Verdicts, computed from the table
#
# For each criterion, the best and the worst contender by mean; the strengths and limitations table comes from
# the same rows. Nothing in either is written by hand.

# %%
print("\n".join(SP.verdict_lines(results["verdicts"])))
table = S.strengths_and_limitations(summary)
display(Markdown(SP.strengths_markdown(table)))
fid = {v["label"]: v["fid"]["mean"] for v in summary.values()}
best_fid = next(v for v in results["verdicts"] if v["metric"] == "fid")
assert best_fid["best"] == min(fid, key=fid.get) and math.isclose(best_fid["best_value"], min(fid.values()))
assert "no likelihood" in " ".join(table["GAN (laptop)"]["limitations"])  # a GAN has no density to evaluate
ratios = S.seed_ratios(summary)
print("FID of the seed preset / FID of the proper preset, same budget:", {k: round(v, 2) for k, v in ratios.items()})

# %% [markdown]
# ## Stability over seeds
#
# The spread of FID over seeds, as a share of its mean. When a result depends on the seed, one run of each
# family is not a comparison.

# %%
if SEEDS == 1:
    print("one seed: this run measures no spread (TRAIN_FROM_SCRATCH = True runs 3 seeds, fast mode 2)")
for v in summary.values():
    f = v["fid"]
    print(f"{v['label']:18s} FID {f['mean']:8.2f} ± {f['std']:6.2f} over {f['n']} seed(s) "
          f"({100 * f['std'] / f['mean']:.0f} % of the mean)")
assert all(v["fid"]["n"] == SEEDS for v in summary.values())

# %% [markdown]
# ## The full showdown, as the repository recorded it
#
# The repository keeps a showdown at the full budget of 275,000 images. The next cell prints its table and its
# targets: each proper recipe's FID 20 times better than its seed model's, DDIM at 50 steps within 1.3 times
# 1,000 ancestral steps' FID, class KL under 0.01. It also names any contender changed since.

# %%
RECORDED = results_file("showdown.json")  # the repository's record
if RECORDED is not None:
    rec = json.loads(RECORDED.read_text())
    display(Markdown(S.table_markdown(rec["summary"], rec["calibration"])))
    print("\n".join(SP.showdown_record_lines(rec)))  # machine, budget, seeds, command; the targets
    assert set(rec["summary"]) == {c.key for c in S.CONTENDERS}  # the record is of today's contenders...
    for key, what in S.changed_since(rec).items():  # ...made with their settings of its day
        print(f"NOTE: this record's {key} is not yet of today's contender: {what}")
    print(f"(read from {RECORDED.relative_to(RECORDED.parents[2])})")
else:
    print("benchmarks/results/showdown.json is not here (genedu installed without the repository): "
          "see the repository's copy")

# %% [markdown]
# ## The shipped references: what trained models look like
#
# genedu ships one trained model per family (`genedu/assets/references/`), made on a GPU with the bigger
# `reference` presets. The JSON beside each records how, and its evaluation on 10,000 samples; the table below
# reads them. `load_reference` loads one; `genedu sample --model diffusion --reference --n 10000 --out s.npz`
# samples one.

# %%
REF_FAMILIES = [f for f in ("vae", "gan", "diffusion", "flow") if has_reference(f)]
ref_info = {f: reference_info(f) for f in REF_FAMILIES}
display(Markdown(SP.references_table(ref_info)))
print("\n".join(SP.reference_record_lines(ref_info)))  # seed, budget, command; likelihood settings
for f, i in ref_info.items():
    assert i["trained"]["images"] > IMAGES  # every reference saw more images than any run above
    assert i["evaluation"]["n"] == 10_000  # scored by the protocol: 10,000 samples

# %% [markdown]
# ### Measured again here, beside your run
#
# Each reference is sampled here `N_REF` times, with its record's sampler and balanced requested labels, beside
# your short run of its family. FID on fewer samples is biased upwards: compare FIDs at equal sample counts.

# %%
ref_rows, ref_grids = {}, {}
for family in REF_FAMILIES:
    model = load_reference(family, device=device)
    steps = 5 if FAST and "steps" in sample_options(family) else None  # fast mode: fewer sampler steps
    opts = {**sample_options(family), **({"steps": steps} if steps else {})}  # the sampler it was scored with
    ref_rows[family] = S.sample_and_score(model, opts, N_REF, seed=0)
    ref_grids[f"{family} reference"] = sample_reference(model, family, 64, steps=steps)

# %%
PROPER = {f: f"{f}/laptop" for f in REF_FAMILIES}  # each family's proper contender
display(Markdown(SP.references_beside_yours(summary, ref_info, ref_rows, n_samples=N_SAMPLES, n_ref=N_REF)))
for family, rep in ref_rows.items():  # a trained reference beats both of your models of its family
    assert rep["fid"] < summary[PROPER[family]]["fid"]["mean"]
    if f"{family}/seed" in summary:
        assert rep["fid"] < summary[f"{family}/seed"]["fid"]["mean"]
if ref_grids:
    plots.grids_side_by_side(ref_grids, nrow=8, size=3)
    plt.show()

# %% [markdown]
# ### Like with like: every reference drawn without a label
#
# The diffusion and flow references are class-conditional: scored with requested labels, their task is easier
# and their class shares are fixed. So every reference was also drawn **without a label** (the conditional
# networks with their null label) on 10,000 samples, ranking the four networks like with like. The findings
# below are written from those figures, and the next cell asserts their claims.
#
# Your short run cannot rank the families: after half an epoch, a ranking says which network learns fastest.

# %%
HAVE_ALL = set(ref_info) == {"vae", "gan", "diffusion", "flow"}  # the findings need all four references
if HAVE_ALL:
    uncond = {f: reference_info(f"{f}_uncond") for f in ("diffusion", "flow") if has_reference(f"{f}_uncond")}
    display(Markdown(SP.reference_findings(ref_info, uncond if len(uncond) == 2 else None)))  # from the figures
    ev = {f: i["evaluation"] for f, i in ref_info.items()}  # each with the sampler it was made for
    unc = {f: i["unconditional"] for f, i in ref_info.items()}  # each without a label: like with like
    fid_r = {f: e["fid"] for f, e in ev.items()}
    vae_nll, priors = ref_info["vae"]["likelihood"], ref_info["vae"]["priors"]
    ddpm_bound = ref_info["diffusion"]["variational_bound"]  # on 8-bit greys
    ddpm_binary = ref_info["diffusion"]["variational_bound_binarised"]  # on the VAE bound's binarised images
    p_uncond = ref_info["diffusion"]["config"]["p_uncond"]  # the share of batches trained without their label
else:
    print("this install lacks some references: the findings need all four")

# %%
if HAVE_ALL:  # each finding above, checked against the figures it quotes
    for f in ("vae", "gan"):  # unconditional models: drawn again the same way, the same figure within noise
        assert abs(unc[f]["fid"] - fid_r[f]) < 0.1 * fid_r[f] and unc[f]["n"] == ev[f]["n"] == 10_000
    for f in ("diffusion", "flow"):  # the requested label helps, a lot: their recorded FIDs are not like with like
        assert 2 * fid_r[f] < unc[f]["fid"] and unc[f]["n"] == 10_000
        assert ref_info[f]["config"]["p_uncond"] == p_uncond < 0.5  # most batches kept their label
    assert priors["normal"]["fid"] > 2 * priors["mixture"]["fid"] and priors["mixture"]["fid"] == fid_r["vae"]
    assert ev["diffusion"]["network_calls"] > 1 and ev["flow"]["network_calls"] > 1
    assert 0 < ddpm_bound["bits_per_dim_8bit"] < 8 and "8-bit" in ddpm_bound["setting"]
    assert ddpm_binary["vae_iwae_nats_same_images"] == vae_nll["iwae_nll_nats"] and "binarised" in ddpm_binary["setting"]
    assert ddpm_binary["bits_per_dim"] > ddpm_binary["vae_bits_per_dim_same_images"]  # the model made for them wins
    assert "conditional_accuracy" not in ev["vae"] and "conditional_accuracy" not in ev["gan"]
    assert unc["vae"]["sharpness"] < 0.8 < unc["gan"]["sharpness"]  # the words below: a blurred VAE, a sharp GAN
    if SEEDS == 1 and not TRAIN_FROM_SCRATCH:
        shortfall = {f: summary[PROPER[f]]["fid"]["mean"] / ref_rows[f]["fid"] for f in ref_rows}
        print("your short run's FID / the reference's FID here:", {f: round(r, 1) for f, r in shortfall.items()})

# %% [markdown]
# ### Trained without labels
# `diffusion_uncond` and `flow_uncond` are the same networks and recipes with no labels: now all four
# families meet unconditionally.

# %%
if HAVE_ALL and len(uncond) == 2:
    names = {"vae": "vae", "gan": "gan", "diffusion": "diffusion_uncond", "flow": "flow_uncond"}
    display(Markdown(SP.references_table({f: reference_info(n) for f, n in names.items()})))
    plots.grids_side_by_side({n: sample_reference(load_reference(n, device=device), n, 32, steps=5 if FAST and
                              "uncond" in n else None) for n in names.values()}, nrow=8, size=3)
    for f in ("diffusion", "flow"):  # no labels, 10,000 samples; far better than the null label
        assert uncond[f]["config"]["num_classes"] == 0 and 3 * uncond[f]["evaluation"]["fid"] < unc[f]["fid"]
        assert uncond[f]["evaluation"]["fid"] > fid_r[f]  # behind its conditional twin given labels

# %% [markdown]
# ## Strengths and limitations, in words
#
# - **VAE**: a likelihood bound, an encoder, one pass per sample; but blurred samples (which its precision
#   hides), much worse without its learned prior.
# - **GAN**: sharp digits in one pass; but no likelihood, no encoder, and a game that can fail (the original's
#   GAN draws one digit, lesson 02).
# - **Diffusion and flow matching**: one network for conditional and unconditional samples, labels they follow
#   (more so with guidance, lesson 03), a stable regression objective; but tens of network passes per sample,
#   fewer for a flow's straighter paths (lesson 03b).
#
# ## Exercises
#
# 1. Rerun with `minutes=` instead of `images=`: which family gains from a wall-clock budget, and why
#    (hint: parameters and passes per step)?
# 2. Add `S.Contender("gan", "dcgan", "GAN (dcgan)")`, the same network without the stabilisers: do they change
#    the spread over seeds, or only the mean? *Hint: `contenders = [*S.CONTENDERS, ...]`, `seeds=3`; compare
#    max minus min of FID.*
# 3. Draw the DDPM with `{"sampler": "ddim", "steps": 10}`: how much FID does it lose, and how much time win?
#    *Hint: `new = replace(c, sample_options={**c.sample_options, "steps": 10})`, then `S.rescore(OUT, new)`
#    rescores the finished runs from their checkpoints.*
# 4. Add the `cvae` and `cgan` presets (`S.Contender("vae", "cvae", "CVAE")`, ...): do they follow requested
#    labels as well as the DDPM? (Conditional accuracy: the share of samples the classifier reads as the
#    requested digit.)

# %% [markdown]
# ## Recap
#
# - A fair comparison fixes data, budget (images seen), noise and yardstick, and runs several seeds.
# - At equal budget each proper recipe beats the original's model of its family by far; a short budget measures
#   the budget, not the family.
# - An EMA of the weights needs a warm-up, or it stays close to the random initial weights.
# - An undertrained DDPM samples better with $\eta = 1$; sampler steps trade time for quality, so DDPM and flow
#   are compared at equal network calls.
# - Conditional and unconditional models are ranked only when all are drawn without a label.
# - The references show each family at its best; which is best at what is the findings' list, from numbers.
