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
#
# **What you will learn**
# - what makes a comparison of generative models fair: the same data, the same budget (images seen or
#   wall-clock time, never "epochs" or "steps"), the same noise for the pictures, several seeds, and
#   one yardstick (lesson 04) with its floor and ceiling printed beside every number;
# - the original notebook's experiment (its three models, its budget; a short version of it on a CPU)
#   reproduced beside genedu's proper model of each family, under the same budget;
# - where each family wins (quality, sampling speed, likelihood, controllability) and why, with every
#   conclusion read off a number;
# - how stable each result is over seeds, and what a trained model of each family looks like (the
#   reference checkpoints shipped with genedu).

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
from genedu.models.flow import Flow
from genedu.reference import has_reference, load_reference, reference_info, sample_options, sample_reference
from genedu.utils import default_device, fast_mode, seed_everything

device = default_device()
seed_everything(0)
print(f"genedu {genedu.__version__}, torch {torch.__version__}, device {device}")

# %% [markdown]
# ## Parameters
#
# The original notebook trained each model for 5 epochs of 60,000 images. genedu trains on the
# 55,000-image `train` split (5,000 are held out for validation), so its full budget is 5 x 55,000 =
# 275,000 **images seen** per model: the same for every family, whatever the batch size or the number of
# optimiser steps per batch (a GAN takes two).
#
# **`TRAIN_FROM_SCRATCH` is the one switch.** `True` (the default on a GPU) runs the full showdown: the
# original's budget, 3 seeds, 10,000 samples scored per run (2,000 if you force it on a CPU, where it
# takes hours). Even on a GPU that is a long run: on one H100, shared with the other lessons, it had
# finished 11 of its 21 training runs (the VAEs and GANs) after 7.9 minutes
# (`benchmarks/results/lesson_times_gpu.json`); rerun the lesson and it resumes from its checkpoints.
# `False` (the default on a CPU) runs a **short showdown** of a few minutes: the same seven contenders on about 25,000 images each (under half an epoch), one seed, 1,000 samples scored.
# A budget that short measures how far each model gets in half an epoch, not what its family can do:
# for that, the last part of the lesson loads the **reference models** genedu ships (trained on a GPU)
# and sets their table beside yours. `GENEDU_FAST=1` (the tests) shrinks everything to seconds: 8
# training steps on 2,048 images and 200 samples per score; it shows the machinery only.

# %%
FAST = fast_mode()
# True: the full showdown at the original's budget (275,000 images per model, 3 seeds), the default on a GPU;
# False (the default on a CPU): a short showdown of a few minutes (about 25,000 images per model, 1 seed)
TRAIN_FROM_SCRATCH = device.type == "cuda"
if FAST:  # the tests: the machinery in seconds
    IMAGES, SEEDS, N_SAMPLES, STAGES, DDIM_STEPS, N_REF = 1024, 2, 200, 2, (2, 5), 300
    LIKELIHOOD_N, LIKELIHOOD_K = 100, 5
elif TRAIN_FROM_SCRATCH:  # the full showdown
    IMAGES, SEEDS, STAGES, DDIM_STEPS = 5 * 55_000, 3, 3, (10, 25, 50, 100)
    N_SAMPLES = N_REF = 10_000 if device.type == "cuda" else 2000  # protocol: 10,000 (the references' too)
    LIKELIHOOD_N, LIKELIHOOD_K = 2000, 100
else:  # the short showdown: a few minutes on a 2-core CPU
    IMAGES, SEEDS, N_SAMPLES, STAGES, DDIM_STEPS, N_REF = 200 * 128, 1, 1000, 2, (5, 10, 25), 500
    LIKELIHOOD_N, LIKELIHOOD_K = 1000, 20
DATA_LIMIT = 2048 if FAST else None          # fast mode trains on the first images only
DDIM_SAMPLES = min(N_SAMPLES, 500) if not TRAIN_FROM_SCRATCH else N_SAMPLES  # scored per point of the steps curve
# rerun to resume; fast mode starts afresh; each mode has its own folder (a showdown refuses other settings)
OUT = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints") / ("showdown" if TRAIN_FROM_SCRATCH else "showdown_short")
print(f"FAST={FAST}, TRAIN_FROM_SCRATCH={TRAIN_FROM_SCRATCH}: {IMAGES:,} images per run, {SEEDS} seed(s), "
      f"{N_SAMPLES:,} samples scored, {STAGES} stages, sampler steps {DDIM_STEPS}, {N_REF:,} reference samples, "
      f"out={OUT}")

# %% [markdown]
# ## The contenders
#
# | family | `seed` preset: the original notebook's model | proper preset: `laptop`, the recipe of lessons 01-03b |
# |---|---|---|
# | VAE | 784-400-20 MLP, tanh output, MSE + KL | residual convolutional encoder and decoder, Bernoulli likelihood, 16 latents, KL weight $\beta = 0.5$ (lesson 01); sampled from its learned prior (a 100-component mixture fitted to the training codes, lesson 01) |
# | GAN | MLP generator and discriminator, BCE, one shared fake batch | convolutional, hinge loss, spectral normalisation, two learning rates (lesson 02) |
# | diffusion | a 784-512-784 MLP predicting noise added once, no timestep | lesson 03's UNet with a time embedding, cosine schedule, v-prediction, trained unconditionally in batches of 64, sampled with 50 stochastic DDIM steps ($\eta = 1$, below) |
# | flow matching | (none: the original had no flow; its baseline is the DDPM) | the DDPM's UNet trained on the straight path of lesson 03b, the same way, sampled with 50 Euler steps (the DDPM's 50 network calls, below) |
#
# The proper presets train with their recipe (`Model.recipe(preset)`, printed three cells below): an
# exponential moving average (EMA, lesson 03) of the weights, which they are sampled from, and for the VAE, the DDPM
# and the flow a learning-rate warm-up and a cosine decay over the whole budget (for the VAE, at the images
# five minutes give on a 2-core CPU, it halved FID: 44.2 to 23.2 with the preset's earlier network,
# `benchmarks/results/recipe_trials.json`, seed 0, 2,000 samples; lesson 01 shows what its network and
# batch size were chosen by). The `seed` presets train as the
# original notebook did: no EMA, constant learning rate. These `laptop` presets are the small versions
# of the recipes whose `reference` presets made the shipped references (at the end of this lesson).
#
# Each is trained by the same `fit` loop, scored by the same `evaluate_samples`, and drawn from the same
# seeded noise for the picture. **Like is compared with like:** the VAE and the GAN are unconditional
# models, so the DDPM and the flow are too. Their `laptop` presets are class-conditional networks for
# guidance (lessons 03 and 03b) that learn the unconditional model only from the 10 % of batches whose
# labels are dropped; a `Contender`'s `config` overrides the preset, and here both train with
# `num_classes=0` (no label input: every update teaches the unconditional model) in batches of 64, the
# laptop VAE's (the laptop GAN's is 32). At this showdown's budget each change paid for itself: the next
# cell prints the trials.
# Every class histogram below is then what a model learnt, not what was requested.
#
# **A trap this comparison fell into once.** An exponential moving average of the weights (EMA) with
# decay $d$ averages over about $1/(1-d)$ steps, and starts from the random initial weights: after $n$
# steps a share $d^n$ of the average is still that initialisation. With $d = 0.999$ and the steps of 128
# images in the first third of the full budget, about half of the EMA model was still noise when that
# stage was scored (the third cell below computes the share), and its samples were far worse than the raw
# weights' (seen in this project before genedu's EMA had a warm-up; no results file kept those figures,
# so none is quoted). A shorter average helps ($d = 0.995$ averages over 200 steps, and leaves a few per
# cent), but genedu's fix is a **warm-up**:
# update $n$ uses the decay $d_n = \min(d, (1+n)/(10+n))$, so the first updates replace most of the
# average and the initial weights are forgotten within tens of steps whatever $d$ is. That is why the
# recipes here can keep $d = 0.999$ (checkpoints made before the warm-up averaged without it;
# `fit(ema_warmup=False)` reproduces them).

# %%
FAMILIES = {"vae": genedu.VAE, "gan": genedu.GAN, "diffusion": genedu.Diffusion, "flow": Flow}
for c in S.CONTENDERS:
    if c.config:  # the overrides are checked: each builds a model, unconditional
        model = FAMILIES[c.family].from_preset(c.preset, **c.config)
        assert not model.conditional and model.config.batch_size == 64
        print(f"{c.label}: the {c.key} preset with {c.config}")


# %%
from genedu.utils import results_file  # a file of the repository's benchmarks/results/, or None

TRIALS = results_file("recipe_trials.json")
if TRIALS is not None:  # the trials behind the overrides, as the repository recorded them
    trials = {label: t for label, t in json.loads(TRIALS.read_text())["trials"].items()
              if label.startswith("diffusion/laptop") and t["images"] == 275_072}  # this showdown's budget
    for label, t in sorted(trials.items(), key=lambda kv: -kv[1]["fid"]):
        print(f"FID {t['fid']:5.1f}  {label}: config {t.get('config', {})}, batch "
              f"{t['recipe'].get('batch_size', 128)}, seed {t['seed']}, {t['n']:,} samples, {t['machine']}")
    fid_of = {(t.get("config", {}).get("num_classes", 10), t["recipe"].get("batch_size", 128)): t["fid"]
              for t in trials.values()}
    assert fid_of[(0, 64)] < fid_of[(0, 128)] < fid_of[(10, 128)]  # each change paid for itself

# %% [markdown]
# **Which sampler for the DDPM.** DDIM with $\eta = 0$ is a deterministic solver of the diffusion's ODE, and
# lesson 03 uses it as the fast sampler: that holds for a well-trained model. This DDPM has seen 275,000
# images. On its checkpoints (three seeds), fresh noise at every step ($\eta = 1$) beat every deterministic
# sampler at the same or fewer network calls and came within a few per cent of 1,000 ancestral steps: a
# stochastic step forgets part of the error the network made at earlier steps, where a deterministic solver
# carries it to the end (Karras et al. 2022 discuss this trade). The next cell prints the comparison.

# %%
SAMPLERS = results_file("ddpm_samplers.json")  # benchmarks/ddpm_samplers.py on the showdown's DDPM checkpoints
if SAMPLERS is not None:
    cmp = json.loads(SAMPLERS.read_text())
    print(f"seeds {cmp['seeds']}, {cmp['n_per_seed']:,} samples each, {cmp['parts'][0]['machine']}; "
          f"1,000 ancestral steps: FID {cmp['ancestral_fid_mean']:.1f}")
    for r in cmp["table"]:
        print(f"  {r['sampler']:22s} FID {r['fid_mean']:5.1f} +/- {r['fid_std']:.1f} ({r['network_calls']} calls, "
              f"{r['over_ancestral']:.2f}x the ancestral FID)")
    best = next(r for r in cmp["table"] if r["sampler"] == cmp["best"])
    assert best["options"] == next(c for c in S.CONTENDERS if c.key == "diffusion/laptop").sample_options

# %%
contenders = S.CONTENDERS
if FAST:  # fewer DDIM steps: fast mode is about the machinery, not the quality
    contenders = [replace(c, sample_options={**c.sample_options, "steps": 5}) if c.sample_options else c
                  for c in contenders]
for c in contenders:  # each proper preset's recipe: its EMA decay, and its learning-rate schedule
    print(f"{c.label:22s} {c.key:16s} recipe={FAMILIES[c.family].recipe(c.preset)} sample_options={c.sample_options}")
first_third = 5 * 55_000 // 3 // 128  # steps of 128 in the first third of the full budget: 716
init_share = {d: d ** first_third for d in (0.999, 0.995)}
print("share of the initial weights left in the EMA after", first_third, "steps:",
      {d: f"{v:.0%}" for d, v in init_share.items()})
assert init_share[0.999] > 0.45 and init_share[0.995] < 0.03

# %% [markdown]
# ## Run it
#
# `genedu.showdown.showdown` trains every contender for every seed in `STAGES` equal parts of the
# budget, scores the samples after each part, and writes `results.json` as each run ends: stop the
# kernel (or lose the Colab session) and run the cell again, and it resumes where it stopped. The
# command line does the same: `genedu showdown --images 275000 --seeds 3 --out showdown`. With
# `TRAIN_FROM_SCRATCH = False` this is the short showdown: a few minutes on a 2-core CPU.

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
# Mean ± standard deviation over seeds. FID and KID (lower is better), classifier Inception Score (10
# is the most a 10-class classifier can give), precision (fidelity) and recall (diversity), density and
# coverage, class KL to the test set's class shares, accuracy on requested classes (conditional models
# only), sampling seconds per 1,000 images, and the importance-weighted NLL in nats where the family has a
# likelihood. The two rows in italics are the calibration of lesson 04, measured with the same number of
# images: real training images (what a perfect model would score) and noise.

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
# Every grid below was drawn from the generator seeded 0, so differences come from the models, not
# the dice. (All four families are unconditional models here.)

# %%
grids = {v["label"]: torch.load(OUT / "grids" / f"{v['family']}_{v['preset']}_seed0.pt", weights_only=True)
         for v in summary.values()}
plots.grids_side_by_side(grids, nrow=8, size=2.6)
plt.show()
assert all(g.shape == (64, 1, 28, 28) and g.min() >= -1 and g.max() <= 1 for g in grids.values())

# %% [markdown]
# ## Quality against training time
#
# FID after each stage of the budget. A curve still falling at the end says the family would profit
# from a longer budget; one that stalls or rises (a GAN's can) says more time is not what it lacks.

# %%
plots.quality_vs_time(results["runs"])
plt.show()
for r in results["runs"]:
    assert [c["images"] for c in r["curve"]] == sorted(c["images"] for c in r["curve"])

# %% [markdown]
# ## Sampler steps against quality and time: DDPM and flow on one plot
#
# The same trained DDPM, sampled with fewer or more DDIM steps, and the same trained flow with fewer or
# more Euler steps: sampling time grows in proportion to the steps (one network evaluation each, two with
# guidance), while quality saturates. This is the main cost of both families, and the one knob that
# trades it; lesson 03b shows why the flow's straighter paths lose less at few steps.

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
# **Like with like in network calls.** The DDPM and the flow are both drawn with 50 network calls per
# image. The flow used to be drawn with 10 Euler steps (what a learner's five minutes use), which compared
# the two at unequal cost. The repository scored the flow's three showdown checkpoints with solvers of up
# to 50 calls, on the showdown's own samples and noise (`benchmarks/flow_samplers.py`, figures in
# `benchmarks/results/flow_samplers.json`), beside the DDPM's FID at 50 steps from the same record; the next
# cell prints them. Five times the calls buys the flow a much better FID, and a second-order solver
# (midpoint or Heun, two calls per step) does about as well as Euler at the same calls, so the showdown
# keeps Euler, whose steps are its calls on the plot above. Yet at 50 calls the flow still trails the DDPM:
# on the same network and the same 275,000 images, the DDPM has learnt more. That is a finding at this
# short budget, not a law of the two families.

# %%
FLOW_SAMPLERS = results_file("flow_samplers.json")  # benchmarks/flow_samplers.py on the showdown's flow checkpoints
if FLOW_SAMPLERS is not None:
    fs = json.loads(FLOW_SAMPLERS.read_text())
    print(f"DDPM, 50 steps {fs['parts'][0]['ddpm_50_steps']['sample_options']}: FID {fs['ddpm_50_fid_mean']:.1f} "
          f"+/- {fs['ddpm_50_fid_std']:.1f} ({fs['n_per_seed']:,} samples per seed, seeds {fs['seeds']})")
    for row in fs["table"]:
        print(f"flow, {row['sampler']:11s} ({row['network_calls']:2d} calls): FID {row['fid_mean']:.1f} "
              f"+/- {row['fid_std']:.1f}, class KL {row['class_kl_mean']:.3f}")
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
# For each criterion, the best and the worst contender by mean. The strengths and limitations table
# is derived from the same rows, so it changes when the numbers do: nothing in it is written by hand.

# %%
for v in results["verdicts"]:
    worst = f"worst: {v['worst']} ({v['worst_value']:.4g})" if v["worst"] else "the only one that has it"
    print(f"{v['criterion']:16s} best: {v['best']} ({v['best_value']:.4g} {v['unit']}); {worst}")
table = S.strengths_and_limitations(summary)
display(Markdown("| model | strengths | limitations |\n|---|---|---|\n" + "".join(
    f"| {k} | {'; '.join(v['strengths']) or '-'} | {'; '.join(v['limitations']) or '-'} |\n" for k, v in table.items())))
fid = {v["label"]: v["fid"]["mean"] for v in summary.values()}
best_fid = next(v for v in results["verdicts"] if v["metric"] == "fid")
assert best_fid["best"] == min(fid, key=fid.get) and math.isclose(best_fid["best_value"], min(fid.values()))
assert "no likelihood" in " ".join(table["GAN (laptop)"]["limitations"])  # a GAN has no density to evaluate
ratios = S.seed_ratios(summary)
print("FID of the seed preset / FID of the proper preset, same budget:",
      {k: round(v, 2) for k, v in ratios.items()})

# %% [markdown]
# ## Stability over seeds
#
# The spread of FID over seeds, as a share of its mean. A family whose result depends on the seed
# needs several runs before one can say it beats another; a single run of each is not a comparison.

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
# Your run above used the budget your switch chose. The repository keeps the showdown at the original
# notebook's full budget, 275,000 images per model, in `benchmarks/results/showdown.json` (machine,
# seeds and sample count inside; made by the command it records). In a checkout of the repository the
# next cell prints its table and its targets: each proper recipe's FID against its seed model's at the
# same budget (the goal is at least 20 times better), and DDIM at 50 steps against 1,000 ancestral steps.
# A record is rerun when a contender changes, and that takes hours on a CPU: where a contender has changed
# since the record was made, the cell says so under the table.

# %%
RECORDED = results_file("showdown.json")  # the repository's record
if RECORDED is not None:
    rec = json.loads(RECORDED.read_text())
    print(f"{rec['machine']['description']}; {rec['settings']['images']:,} images per model; seeds "
          f"{rec['settings']['seeds']}; {rec['settings']['n_samples']:,} samples scored; {rec['command']}")
    display(Markdown(S.table_markdown(rec["summary"], rec["calibration"])))
    for name, t in rec["targets"].items():
        print(f"{'met    ' if t['met'] else 'missed '} {name}: " + ", ".join(f"{k} {v}" for k, v in t.items() if k != "met"))
    assert set(rec["summary"]) == {c.key for c in S.CONTENDERS}  # the record is of today's contenders...
    # ...but made with their settings of its day: say so where a contender (or its preset) changed since
    for key, what in S.changed_since(rec).items():
        print(f"NOTE: this record's {key} is not yet of today's contender: {what}")
    print(f"(read from {RECORDED.relative_to(RECORDED.parents[2])})")
else:
    print("benchmarks/results/showdown.json is not here (genedu installed without the repository): "
          "see the repository's copy")

# %% [markdown]
# ## What trained models look like: the references' table beside yours
#
# Every model above had a budget far too short to show what its family can do. genedu ships one
# trained model per family (`genedu/assets/references/`, under 10 MB each, half precision), each with
# a JSON file beside it recording the command, preset, budget, seed, machine and its evaluation on
# 10,000 samples. The table below is **read from those files, not typed**: it changes if the shipped
# references do. (They were trained with their `reference` presets, bigger than the presets above, on
# one GPU; the VAE samples from a mixture prior fitted to its training codes.) `load_reference` gives a
# model at once; `genedu sample --model diffusion --reference --n 10000 --out s.npz` samples it from the
# command line.

# %%
REF_FAMILIES = [f for f in ("vae", "gan", "diffusion", "flow") if has_reference(f)]
ref_info = {f: reference_info(f) for f in REF_FAMILIES}
ref_cols = ["fid", "inception_score", "precision", "recall", "class_kl", "conditional_accuracy", "seconds_per_1000"]


def ref_row(family, i):
    """One row of the references' table, from the family's JSON."""
    cells = [family, i["preset"], f"{i['trained']['images']:,}", f"{i['trained']['seconds']:.0f}",
             i["machine"].split(";")[0], str(i["sample_options"] or "one pass"), f"{i['evaluation']['n']:,}"]
    cells += [f"{i['evaluation'][c]:.4g}" if c in i["evaluation"] else "n/a" for c in ref_cols]
    cells.append(f"{i['likelihood']['iwae_nll_nats']:.1f}" if "likelihood" in i else "n/a")
    return "| " + " | ".join(cells) + " |\n"


display(Markdown("| reference | preset | images seen | training s | machine | sampler | samples | "
                 + " | ".join(ref_cols) + " | NLL (nats) |\n|---|" + "---|" * (7 + len(ref_cols)) + "\n"
                 + "".join(ref_row(f, i) for f, i in ref_info.items())))
for f, i in ref_info.items():
    print(f"{f:9s} seed {i['seed']}, budget {i['budget']}, command: {i['command']}")
    assert i["trained"]["images"] > IMAGES  # every reference saw more images than any run above
    assert i["evaluation"]["n"] == 10_000  # scored by the protocol: 10,000 samples

# %% [markdown]
# Now each reference is **measured again here**, on `N_REF` samples, with the sampler it was scored
# with and class-balanced requested labels, as its recorded figures were (the showdown above sampled
# its conditional models unconditionally). FID computed on fewer samples is biased upwards, so a
# re-measured FID on 500 samples is higher than the recorded one on 10,000: compare FIDs only at the
# same sample count. Beside each: your own short run of that family (its proper preset) and of the
# original notebook's model (its `seed` preset).

# %%
PROPER = {f: f"{f}/laptop" for f in ("vae", "gan", "diffusion", "flow")}  # each family's proper contender
ref_rows, ref_grids = {}, {}
for family in REF_FAMILIES:
    info = ref_info[family]
    model = load_reference(family, device=device)
    steps = 5 if FAST and "steps" in sample_options(family) else None  # fast mode: fewer sampler steps
    opts = {**sample_options(family), **({"steps": steps} if steps else {})}  # the sampler it was scored with
    ref_rows[family] = S.sample_and_score(model, opts, N_REF, seed=0)
    ref_grids[f"{family} reference"] = sample_reference(model, family, 64, steps=steps)

# %%
side = ("| family | your run: proper preset | your FID | seed preset FID | your images seen | reference FID, "
        "recorded | reference FID, here | reference s per 1,000 here |\n|---|---|---|---|---|---|---|---|\n")
for family, rep in ref_rows.items():
    mine = summary[PROPER[family]]
    seed = summary.get(f"{family}/seed")
    seed_fid = f"{seed['fid']['mean']:.1f}" if seed else "none (no seed model)"
    side += (f"| {family} | {mine['label']} | {mine['fid']['mean']:.1f} ({N_SAMPLES:,} samples) | "
             f"{seed_fid} | {mine['images_seen']['mean']:,.0f} | "
             f"{ref_info[family]['evaluation']['fid']:.2f} ({ref_info[family]['evaluation']['n']:,}) | "
             f"{rep['fid']:.2f} ({N_REF:,}) | {rep['seconds_per_1000']:.2f} |\n")
display(Markdown(side))
for family, rep in ref_rows.items():
    # a trained reference beats both of your models of its family, the seed and the proper preset
    assert rep["fid"] < summary[PROPER[family]]["fid"]["mean"]
    if f"{family}/seed" in summary:
        assert rep["fid"] < summary[f"{family}/seed"]["fid"]["mean"]
if ref_grids:
    plots.grids_side_by_side(ref_grids, nrow=8, size=3)
    plt.show()

# %% [markdown]
# ## What the references' numbers say
#
# The findings below are written by the next cells from the references' recorded figures, with the figure
# behind each; what they claim is asserted, so a new set of references that changed one would stop the
# notebook here rather than leave the text wrong. **Like is compared with like**: a reference's main record
# uses the sampler it was made for, and the diffusion and flow references are class-conditional networks
# scored with balanced requested labels, which makes their task easier and fixes their class shares. So
# every reference was also drawn *without* a label (the diffusion and flow networks with their null label)
# and scored on 10,000 samples (`benchmarks/reference_unconditional.py`, on a 2-core CPU; the figures are in
# each reference's JSON under `unconditional`): those rank the four networks like with like (the findings
# say what that ranking does and does not tell about the families). Your short run cannot rank them:
# after half an epoch every model is still far from what it becomes, and the ranking at such budgets says
# more about which network learns fastest than about the family. (The repository's full-budget run,
# printed above from `benchmarks/results/showdown.json`, shows the same at 275,000 images: every proper
# model is still far from its reference.)

# %%
HAVE_ALL = set(ref_info) == {"vae", "gan", "diffusion", "flow"}  # the findings need all four references
if HAVE_ALL:
    ev = {f: i["evaluation"] for f, i in ref_info.items()}  # each with the sampler it was made for
    unc = {f: i["unconditional"] for f, i in ref_info.items()}  # each without a label: like with like
    fid_r = {f: e["fid"] for f, e in ev.items()}
    vae_nll, priors = ref_info["vae"]["likelihood"], ref_info["vae"]["priors"]
    ddpm_bound = ref_info["diffusion"]["variational_bound"]  # measured on the shipped weights (its JSON says how)
    p_uncond = ref_info["diffusion"]["config"]["p_uncond"]  # the share of batches trained without their label
    ddpm_binary = ref_info["diffusion"]["variational_bound_binarised"]  # on the VAE bound's own binarised images
    ranked = lambda key, best_first_low=True: sorted(unc, key=lambda f: unc[f][key] if best_first_low else -unc[f][key])  # noqa: E731
    listed = lambda key, fmt: ", ".join(f"{f} {unc[f][key]:{fmt}}" for f in ranked(key, key in ("fid", "class_kl")))  # noqa: E731
    precise = ranked("precision", False)[0]
else:
    print("this install lacks some references: the findings need all four")

# %%
if HAVE_ALL:  # the findings, each written from the figures it quotes
    findings = [
        f"- **Quality, like with like** (every reference without a label, {unc['vae']['n']:,} samples each, its "
        f"own sampler), FID from best to worst: {listed('fid', '.2f')}. Asked for balanced labels, the diffusion "
        f"and flow references score {fid_r['diffusion']:.2f} and {fid_r['flow']:.2f}: the label helps, so those "
        f"figures do not rank them against the unconditional VAE and GAN.",
        f"- **Why the diffusion and flow references fall without a label:** they are class-conditional networks "
        f"that learned their unconditional model only from the {p_uncond:.0%} of batches whose label was dropped "
        f"(`p_uncond` in their config): FID {unc['diffusion']['fid']:.1f} and {unc['flow']['fid']:.1f} without a label, "
        f"against {fid_r['diffusion']:.2f} and {fid_r['flow']:.2f} with one. The showdown above met the same at a "
        f"small budget, which is why its DDPM and flow train without labels; genedu ships no unconditional diffusion "
        f"or flow reference, so this ranking is of these four networks as unconditional samplers, not of the "
        f"families at their best.",
        f"- **Coverage** (recall, highest first): {listed('recall', '.3f')}.",
        f"- **Fidelity takes two numbers.** Precision, in the classifier's features: {listed('precision', '.3f')}; "
        f"sharpness, in pixels (real digits score 1): " + ", ".join(f"{f} {unc[f]['sharpness']:.2f}" for f in unc)
        + (f". The {precise}'s precision flatters it: a sharpness of {unc[precise]['sharpness']:.2f} is blur, which "
           f"precision does not see (lesson 04)." if unc[precise]["sharpness"] < 0.8 else "."),
        f"- **Class balance** (class KL to the test set's shares, lowest first): {listed('class_kl', '.4f')}. The VAE's "
        f"learned prior matters here and for quality: sampling its codes from the normal prior instead scores FID "
        f"{priors['normal']['fid']:.1f}.",
    ]

# %%
if HAVE_ALL:
    findings += [
        f"- **Sampling cost:** the VAE and the GAN draw an image with one network pass; the diffusion and flow "
        f"references with {ev['diffusion']['network_calls']} and {ev['flow']['network_calls']} (their samplers: "
        f"{ev['diffusion']['sample_options']}, {ev['flow']['sample_options']}). The seconds per 1,000 samples "
        f"here are in the table above; on your machine, the steps curve of your short run shows the same trade.",
        f"- **Likelihood:** the VAE's importance-weighted bound is {vae_nll['iwae_nll_nats']:.1f} nats "
        f"({vae_nll['iwae_nll_nats'] / (784 * math.log(2)):.3f} bits per pixel; {vae_nll['setting']}); the DDPM's "
        f"variational bound is {ddpm_bound['bits_per_dim_8bit']:.2f} bits per pixel on its own data, 8-bit greys "
        f"({ddpm_bound['setting']}). On the same data, the VAE's very binarised images written as 8-bit images, "
        f"the DDPM's bound is {ddpm_binary['bits_per_dim']:.2f} bits per pixel against the VAE's "
        f"{ddpm_binary['vae_bits_per_dim_same_images']:.3f}: the DDPM spreads its probability over the 256 grey "
        f"levels it learned, where binary digits use 2, so on binary digits the model made for them wins. A "
        f"likelihood ranks models of the same data only; neither figure ranks the families. A flow has an exact "
        f"likelihood (integrating the divergence along its ODE), which genedu does not compute; a GAN defines no "
        f"density at all.",
        f"- **Control:** the diffusion and flow references follow a requested digit "
        f"{ev['diffusion']['conditional_accuracy']:.0%} and {ev['flow']['conditional_accuracy']:.0%} of the time "
        f"(classifier's reading); the VAE and GAN references are unconditional.",
    ]
    display(Markdown("\n".join(findings)))

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
# ## Strengths and limitations, in words
#
# Read off the references' figures above (trained models, not your short run); the ranking by quality,
# coverage and balance is the findings' (computed), these are what each family is:
#
# - **VAE**: a likelihood bound measured on binarised digits (importance-weighted, in nats; the DDPM's
#   bound is measured too, on 8-bit digits and on the same binarised ones), an encoder for free, one
#   decoder pass per sample; but blurred samples (a sharpness well below the real digits' 1, which its
#   high precision hides), and without its learned prior (codes from the normal prior) its samples are
#   much worse.
# - **GAN**: one generator pass per sample and sharp digits; but no likelihood and no encoder, and training
#   is a game that can fail: the original notebook's GAN draws one digit (lesson 02).
# - **Diffusion and flow matching**: one network for conditional and unconditional samples, labels they
#   follow (controllability, stronger still with classifier-free guidance in lesson 03), a stable regression
#   objective; but sampling takes one network pass per step (tens of them, against one for the VAE and the
#   GAN); lesson 03b shows why a flow's straighter paths lose less when the steps are few.
#
# ## Exercises
#
# 1. Rerun the showdown with `minutes=` instead of `images=`: which family gains from a wall-clock
#    budget on your machine, and why (hint: parameters and passes per step)?
# 2. Add `Contender("gan", "dcgan", "GAN (dcgan)")`, the same kind of network without the stabilisers
#    (non-saturating loss, no spectral normalisation, one learning rate): do the stabilisers change the
#    spread over seeds, or only the mean?
#    *Hint: `contenders = [*S.CONTENDERS, S.Contender("gan", "dcgan", "GAN (dcgan)")]` and at least
#    `seeds=3`; compare the spread of FID (max minus min over seeds) with the laptop GAN's, not only the mean.*
# 3. Swap the DDPM's sampler options for `{"sampler": "ddim", "steps": 10}`: how much FID does it lose,
#    and how much sampling time does it win?
#    *Hint: `new = replace(c, sample_options={**c.sample_options, "steps": 10})` for the diffusion contender
#    `c`, then `S.rescore(OUT, new)`: it samples and scores the finished runs again from their checkpoints
#    (no training), and `S.showdown(...)` with `new` in place of `c` reports them.*
# 4. Add the `cvae` and `cgan` presets: do the conditional models of the other families follow the
#    requested labels as well as the DDPM (conditional accuracy)?
#    *Hint: `S.Contender("vae", "cvae", "CVAE")` and `S.Contender("gan", "cgan", "cGAN")`; the conditional
#    accuracy column is the share of samples that the feature classifier reads as the requested digit.*
#
# ## Summary
#
# A fair comparison fixes the data, the budget in images or seconds, the noise for the pictures and
# the yardstick, and runs several seeds. Your run printed how far each proper model got against the
# original notebook's at the same budget (the ratios above); a short budget measures the budget, not
# the family. The trained references show what each family can do, compared like with like (all drawn
# without a label): the VAE a measured likelihood and one-pass sampling, with blur its precision hides;
# the GAN sharp one-pass sampling and no density; diffusion and flow matching control and a stable
# objective at the price of tens of network passes per sample. Which is best at what is the findings'
# table, computed from the numbers, not this paragraph.
