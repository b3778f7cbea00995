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
# # 03 · Diffusion: from the original one-step denoiser to DDPM, DDIM and guidance
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/03_diffusion.ipynb)

# %% [markdown]
# ## In one minute
# - **Idea:** noise digits away in small steps, train a network to predict that noise, then generate by
#   removing it step by step.
# - **Why steps:** the original course's one-step denoiser, from pure noise, returns noise.
# - **You build:** $q(x_t \mid x_0)$, the loss $L_\text{simple}$, a DDIM step, the guidance mix.
# - **You measure:** sampler steps against quality and time; guidance against accuracy and diversity.

# %%
import subprocess
import sys

REPO_URL = "https://github.com/genedu-course/genedu"  # must equal genedu._version.REPO_URL (a test checks)
if "google.colab" in sys.modules:  # in Colab only: install genedu from the repository
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"], check=True)

import matplotlib.pyplot as plt
import torch

import genedu
from genedu.utils import default_device, fast_mode, seed_everything

device = default_device()
seed_everything(0)
print(f"genedu {genedu.__version__}, torch {torch.__version__}, device {device}")

# %% [markdown]
# ## Parameters
# **`TRAIN_FROM_SCRATCH`:** a good DDPM takes 6,000 steps of 128 images, minutes on a GPU, half an hour on a CPU.
# - `True` (default on a GPU): train at that budget; experiment on this model.
# - `False` (default on a CPU): train a minute to watch the loss fall; experiment on genedu's **shipped
#   reference DDPM**, with fewer samples.
#
# `GENEDU_FAST=1` (the tests) shrinks every budget; its tiny model draws blobs.

# %%
import tempfile
from pathlib import Path

from genedu.reference import has_reference

FAST = fast_mode()
TRAIN_FROM_SCRATCH = device.type == "cuda"  # THE SWITCH (see above)
USE_REFERENCE = not TRAIN_FROM_SCRATCH and not FAST and has_reference("diffusion")  # else the DDPM trained here
FULL = TRAIN_FROM_SCRATCH and not FAST  # the full budgets of the lesson's own DDPM
SEED_EPOCHS = 0.25 if FAST else 5  # the original trained its denoiser for 5 epochs
DDPM_STEPS = 30 if FAST else 6000 if TRAIN_FROM_SCRATCH else 200  # optimiser steps of 128 images
EMA_DECAY = 0.9 if FAST else 0.999 if TRAIN_FROM_SCRATCH else 0.99  # the weight average (Part 3)
N_EVAL = 100 if FAST else 2000 if FULL else 400  # samples per point of the steps curve
N_GUIDE = 100 if FAST else 2000 if FULL else 250  # samples per point of the guidance curve
DDIM_STEPS = [2, 5, 10] if FAST else [5, 10, 20, 50, 100] if FULL else [2, 5, 10, 20]
GUIDANCE = [0.0, 1.0, 3.0] if FAST else [0.0, 1.0, 2.0, 3.0, 5.0] if FULL else [0.0, 1.0, 2.0, 4.0]
GUIDANCE_STEPS = 5 if FAST else 20 if FULL else 10  # DDIM steps of the guidance curve and the per-class grid
N_DDPM = 4 if FAST else 100 if FULL else 8  # samples of the 1,000-step ancestral sampler
CKPT_DIR = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints")  # fast mode never reuses a checkpoint
print(f"fast mode {FAST}; TRAIN_FROM_SCRATCH {TRAIN_FROM_SCRATCH}; DDPM {DDPM_STEPS} steps; experiments on "
      f"{'the shipped reference' if USE_REFERENCE else 'the DDPM trained here'}; checkpoints in {CKPT_DIR}")

# %%
train = genedu.load_mnist("train")
test = genedu.load_mnist("test")
print(train, test)

# %% [markdown]
# ## Part 1 · The original "simplified diffusion"
# **Intuition:** add noise once and learn to guess it: a denoiser, not a generator.
#
# With $x$ a digit (pixels in $[-1, 1]$) and $\varepsilon$ Gaussian noise, the original trains an MLP
# $\mathrm{net}_\theta$ (784-512-784, weights $\theta$) on
#
# $$\tilde x = x + \varepsilon,\quad \varepsilon \sim \mathcal N(0, I), \qquad \min_\theta\ \mathbb E\,\lVert \mathrm{net}_\theta(\tilde x) - \varepsilon \rVert^2 .$$
#
# The best net is $\mathbb E[\varepsilon \mid \tilde x]$, so $\tilde x - \mathrm{net}(\tilde x) = \mathbb E[x \mid \tilde x]$: a **denoiser for
# one noise level**. It cannot generate:
# - it knows no timestep, so it cannot walk from noise to data in small steps;
# - its inputs are not pure noise: they keep the digits' mean pixel, far below 0;
# - a conditional mean is a blur of every digit that could hide behind the noise.
#
# genedu's `seed` preset is this model; its `sample` repeats $x \leftarrow x - \mathrm{net}(x)$ from noise.

# %%
x_train = train.float(torch.arange(len(train)))  # every training digit, (55000, 1, 28, 28)
pixel_mean, pixel_power = x_train.mean().item(), x_train.pow(2).mean().item()
print(f"training digits: mean pixel {pixel_mean:.3f} (pure noise: 0), mean square E[x^2] {pixel_power:.3f} (noise: 1)")
assert pixel_mean < -0.5  # the seed's inputs x + eps are centred far from pure noise's 0
del x_train

# %%
from genedu import Diffusion
from genedu.plots import image_grid

seed_model = Diffusion.from_preset("seed")
seed_history = genedu.fit(seed_model, train, epochs=SEED_EPOCHS, seed=0)
first, last = seed_history.mean("loss", first=20), seed_history.mean("loss", last=20)
print(f"seed denoiser: eps-MSE {first:.3f} (first 20 steps) -> {last:.3f} (last 20)")
assert last < first  # the loss falls, as in the original ...

# %%
from genedu.diffusion_plots import image_rows, nearest_distance

g = lambda: torch.Generator().manual_seed(0)  # noqa: E731  one fixed noise for every grid below
x_real = test.float(torch.arange(8))
noisy = x_real + torch.randn(x_real.shape, generator=g())
with torch.no_grad():
    denoised = noisy - seed_model.eps_pred(noisy.to(seed_model.device)).cpu()
from_noise = {k: seed_model.sample(8, steps=k, generator=g()) for k in (1, 5, 20)}
image_rows({"x (test digits)": x_real, "x + eps (what it was trained on)": noisy,
            "x + eps - net(x + eps): it denoises": denoised,
            "from noise, 1 step of x - net(x)": from_noise[1], "from noise, 20 steps of x - net(x)": from_noise[20]})
plt.show()

# %% [markdown]
# It denoises a noisy digit; from pure noise it makes noise. Measured: distance to the nearest training digit.

# %%
train_digits = train.float(torch.arange(10_000))  # 10,000 training digits, about 1,000 per class
images = {"test digits": x_real, "noise": torch.randn(8, 1, 28, 28, generator=g()).clamp(-1, 1),
          **{f"seed, {k} step(s)": v for k, v in from_noise.items()}}
dist = {name: nearest_distance(x, train_digits).mean().item() for name, x in images.items()}
for name, d in dist.items():
    print(f"{name:>18}: mean distance to the nearest training digit {d:6.2f}")
assert all(dist[f"seed, {k} step(s)"] > 2 * dist["test digits"] for k in from_noise)

# %% [markdown]
# ## Part 2 · The forward process, in closed form
# **Intuition:** DDPM (Ho, Jain and Abbeel, 2020) noises a digit in $T = 1000$ small steps; one network learns
# every noise level.
#
# Step $t$ turns $x_{t-1}$ into $x_t$ ($x_0$: the clean digit) with a small noise variance $\beta_t$, the
# **schedule**: $q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{1 - \beta_t}\, x_{t-1}, \beta_t I)$. With
# $\alpha_t = 1 - \beta_t$ and $\bar\alpha_t = \prod_{s \le t} \alpha_s$ the steps compose into one jump (eq. 4;
# `NoiseSchedule.q_sample`):
#
# $$q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big)
# \quad\Longleftrightarrow\quad x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon .$$
#
# The **signal-to-noise ratio** $\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$ falls from about $10^4$ to
# nearly 0: $x_T$ is standard normal, where sampling starts.
#
# The **linear** schedule raises $\beta_t$ from $10^{-4}$ to $0.02$; the **cosine** one (Nichol and Dhariwal,
# 2021) destroys information more evenly. genedu counts $t$ from 0, the papers from 1.

# %%
from genedu.models.diffusion import NoiseSchedule
from genedu.plots import forward_process, schedule_curves

schedules = {"linear": NoiseSchedule(1000, "linear"), "cosine": NoiseSchedule(1000, "cosine")}
schedule_curves(schedules)
plt.show()
for name, s in schedules.items():
    print(f"{name}: alpha_bar_0 = {s.alpha_bar[0]:.4f}, alpha_bar_499 = {s.alpha_bar[499]:.4f}, "
          f"alpha_bar_999 = {s.alpha_bar[999]:.2e}; SNR(999) = {s.snr(999):.1e}")
lin = schedules["linear"]
assert lin.alpha_bar[999] < 1e-4 and lin.snr(0) > 1e3
assert schedules["cosine"].alpha_bar[499] > lin.alpha_bar[499]  # cosine keeps more signal mid-way

# %%
forward_process(test.float(torch.arange(3)), lin, [0, 50, 100, 200, 300, 500, 700, 999], generator=g())
plt.show()

# %% [markdown]
# Where does a digit become unrecognisable to you (try the slider below)? For many, between SNR 0.3 and 0.1.
# The seed's input $x + \varepsilon = \sqrt 2\,x_t$ with $\bar\alpha_t = 1/2$ is one point of this curve: SNR 1
# (as a power ratio per pixel, $\mathbb E[x^2]$, also near 1).

# %%
snr_all = lin.snr(torch.arange(1000))  # (1000,), falling
band = torch.nonzero((snr_all >= 0.1) & (snr_all <= 0.3)).flatten()
t_seed = int((snr_all - 1.0).abs().argmin())
print(f"linear schedule: SNR from 0.3 down to 0.1 at t = {band.min().item()} to {band.max().item()}; the seed's "
      f"noise level: SNR = 1 at t = {t_seed}; as a power ratio, SNR = E[x^2] = {pixel_power:.2f}")
assert snr_all[band.min()] <= 0.3 and snr_all[band.max()] >= 0.1 and band.max() - band.min() + 1 == len(band)

# %%
from genedu.widgets import noising_slider

noiser = noising_slider(test.float(torch.arange(10)), lin)
noiser

# %% [markdown]
# ## Part 3 · The reverse process, and why predicting the noise works
# **Intuition:** generate by undoing the noise in small steps; each step needs only a guess of the noise in $x_t$.
#
# A reverse step is a Gaussian $p_\theta(x_{t-1} \mid x_t) = \mathcal N(\mu_\theta(x_t, t), \sigma_t^2 I)$ whose mean
# a network gives. Were $x_0$ known, the step back would be exact (eq. 6-7):
#
# $$q(x_{t-1} \mid x_t, x_0) = \mathcal N\Big(\tfrac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t} x_0
# + \tfrac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t} x_t,\ \tilde\beta_t I\Big),
# \qquad \tilde\beta_t = \tfrac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\beta_t .$$
#
# genedu fixes $\sigma_t^2 = \tilde\beta_t$ (`NoiseSchedule.posterior_var`). The noise $\varepsilon$ in $x_t$ would
# give $x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\varepsilon)/\sqrt{\bar\alpha_t}$ (eq. 15), so a network
# $\varepsilon_\theta(x_t, t)$ predicting the noise gives `x0_pred`, hence $\mu_\theta$. The variational bound then
# weights squared errors on $\varepsilon$; Ho et al. drop the weights (eq. 14):
#
# $$L_\text{simple} = \mathbb E_{t \sim U\{1..T\},\, x_0,\, \varepsilon}\ \big\lVert \varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t}\varepsilon,\ t)\big\rVert^2 .$$
#
# Unlike the seed, the network **is told $t$**, **trains at every noise level** and **samples in small steps**.
# The best $\varepsilon_\theta$ is $-\sqrt{1 - \bar\alpha_t}\,\nabla_{x_t} \log q(x_t)$, a scaled **score**: it points
# to where noisy data is more likely, which walks the chain from noise to digits.

# %% [markdown]
# **The network** (`genedu.models.diffusion.UNet`): 28×28 → 14×14 → 7×7 and back, skip connections, 16/32
# channels, residual blocks. Each block gets embeddings of $t$ (sinusoidal) and of the class $y$, or of a *null class*
# $\varnothing$ for the 10 % of labels training drops: one network learns $\varepsilon_\theta(x_t, t, y)$ and
# $\varepsilon_\theta(x_t, t, \varnothing)$, as guidance needs (Part 5). Preset `ddpm`: linear schedule, Adam at
# $10^{-3}$, gradients clipped at 1, batches of 128.
#
# We sample from an **exponential moving average (EMA)** of the weights,
# $\theta_\text{EMA} \leftarrow d\,\theta_\text{EMA} + (1 - d)\,\theta$ after each step ($d$ = `EMA_DECAY`): about the
# mean of the last $1/(1 - d)$ steps, smoothing out the noise of the latest updates.
#
# ### Your turn: the forward process and the loss
# Write `q_sample` ($x_t$ above, one $t$ per image) and `l_simple` (per-image squared error of the predicted
# noise). *Hint:* `alpha_bar[t].view(-1, 1, 1, 1)` gives each image its own $\bar\alpha_t$.

# %%
def q_sample(x0, t, eps, alpha_bar):
    """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps (Ho et al. eq. 4). x0, eps: (B, 1, 28, 28);
    t: (B,) integer timesteps; alpha_bar: (T,) the schedule. Returns (B, 1, 28, 28)."""
    raise NotImplementedError("write q_sample")


def l_simple(eps_model, x0, t, eps, alpha_bar):
    """L_simple per image (B,): mean over pixels of (eps_model(x_t, t) - eps)^2, with x_t = q_sample(x0, t, eps)."""
    raise NotImplementedError("write l_simple")


# %% jupyter={"source_hidden": true} tags=["solution"]
def q_sample_solution(x0, t, eps, alpha_bar):
    """A solution: genedu's NoiseSchedule.q_sample."""
    ab = alpha_bar[t].view(-1, 1, 1, 1)  # (B, 1, 1, 1): one alpha_bar per image
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def l_simple_solution(eps_model, x0, t, eps, alpha_bar):
    """A solution: genedu's Diffusion.loss_per_example (without the label dropout)."""
    x_t = q_sample_solution(x0, t, eps, alpha_bar)
    return (eps_model(x_t, t) - eps).pow(2).flatten(1).mean(1)  # (B,)


# %%
from genedu import exercises

q_fn = q_sample if exercises.implemented(q_sample) else q_sample_solution
l_fn = l_simple if exercises.implemented(l_simple) else l_simple_solution
exercises.check_q_sample(q_fn)  # each raises AssertionError naming the input and what differs
exercises.check_l_simple(l_fn)
print(exercises.expect_rejection(exercises.check_q_sample, lambda x0, t, eps, alpha_bar:  # a classic slip:
                                 alpha_bar[t].view(-1, 1, 1, 1) * x0 + (1 - alpha_bar[t].view(-1, 1, 1, 1)) * eps))
if FAST:  # the tests: the hidden solutions pass, whatever a learner wrote in the stubs
    exercises.check_q_sample(q_sample_solution, verbose=False)
    exercises.check_l_simple(l_simple_solution, verbose=False)

# %%
from genedu.train import train_or_load
from genedu.utils import count_parameters

ddpm = Diffusion.from_preset("ddpm")
history = train_or_load(ddpm, train, checkpoint=CKPT_DIR / "03_ddpm.pt", steps=DDPM_STEPS, ema=EMA_DECAY,
                        seed=0, checkpoint_every=500)
trained_here = history.ema.module.eval()  # sample from the EMA weights
first, last = history.mean("loss", first=10), history.mean("loss", last=10)
print(f"UNet, {count_parameters(ddpm):,} parameters: {len(history)} steps, {history.last('images'):,.0f} images, "
      f"{history.last('seconds'):.0f} s of training; eps-MSE {first:.3f} (first 10 steps) -> {last:.3f} (last 10)")
assert last < first

# %%
history.plot(["loss", "eps_mse_q1", "eps_mse_q2", "eps_mse_q3", "eps_mse_q4"], smooth=max(1, min(50, len(history) // 10)))
plt.show()

# %% [markdown]
# Per quarter of the timesteps, **q1** (the least noisy) stays highest: a faint speckle is hard to predict
# *exactly*, while at large $t$, $\varepsilon \approx x_t$ is an easy guess. Per timestep, on test digits:

# %%
from genedu.plots import loss_per_timestep

ts = torch.linspace(0, 999, 12).round().long()
x_eval, y_eval = test.float(torch.arange(256)), test.labels[:256]
per_t = {"DDPM (EMA)": trained_here.loss_per_timestep(x_eval, y_eval, ts, generator=g())}
loss_per_timestep(ts, per_t)
plt.show()
print({int(t): round(v, 4) for t, v in zip(ts, per_t["DDPM (EMA)"].tolist())})
assert per_t["DDPM (EMA)"][0] > per_t["DDPM (EMA)"][-1]  # the least noisy steps are the hardest to predict

# %% [markdown]
# ### Which model the rest of the lesson uses
# The EMA weights just trained, or, with `TRAIN_FROM_SCRATCH = False`, the **shipped reference**: a larger UNet
# with the **cosine** schedule and **v-prediction** (Salimans and Ho, 2022), predicting
# $v = \sqrt{\bar\alpha_t}\,\varepsilon - \sqrt{1 - \bar\alpha_t}\,x_0$. Its `eps_pred` converts back,
# $\varepsilon = \sqrt{\bar\alpha_t}\,v + \sqrt{1 - \bar\alpha_t}\,x_t$, so every sampler runs on it unchanged.

# %%
from genedu.reference import load_reference, reference_info

if USE_REFERENCE:
    sampler_model, info = load_reference("diffusion", device=device), reference_info("diffusion")
    cfg, MODEL_NAME = info["config"], "the shipped reference"
    print(f"{MODEL_NAME}: {info['parameters']:,} parameters, channels {cfg['channels']}, attention "
          f"{cfg['attention']}, {cfg['prediction']}-prediction, {cfg['schedule']} schedule, EMA {info['ema']}")
else:
    sampler_model, MODEL_NAME = trained_here, f"the DDPM trained here ({len(history)} steps)"
    print(f"{MODEL_NAME}: {count_parameters(sampler_model):,} parameters, EMA weights (decay {EMA_DECAY})")

# %% [markdown]
# ## Part 4 · Sampling: DDPM ancestral and DDIM
# **Intuition:** a *sampler* walks from noise to a digit with the network. Fewer steps are faster; at what cost?
#
# **DDPM ancestral** (Ho et al., Algorithm 2) takes Part 3's step 1,000 times from $x_T \sim \mathcal N(0, I)$:
# $x_{t-1} = \big(x_t - \tfrac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta\big)/\sqrt{\alpha_t} + \sigma_t z$,
# with fresh noise $z$. genedu first clips `x0_pred` to $[-1, 1]$, as Ho et al.'s code does (`clip_x0=False`
# does not).
#
# **DDIM** (Song, Meng and Ermon, 2021) keeps the network and changes the path (eq. 12):
#
# $$x_{t-1} = \sqrt{\bar\alpha_{t-1}}\ \hat x_0 + \sqrt{1 - \bar\alpha_{t-1} - \sigma_t^2}\ \varepsilon_\theta(x_t)
# + \sigma_t z,\qquad \sigma_t = \eta\sqrt{\tfrac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}}\sqrt{1 - \tfrac{\bar\alpha_t}{\bar\alpha_{t-1}}}$$
#
# $\hat x_0$ is `x0_pred`; $\eta$ sets the fresh noise ($\eta = 1$ is DDPM's). At $\eta = 0$ the path is
# **deterministic**: $x_T$ fixes the image, like a GAN's latent. DDIM keeps DDPM's $q(x_t \mid x_0)$, so the
# same network works, and a step may skip timesteps ($t - 1$: the next one visited): 10 to 100 network calls
# instead of 1,000. Pick one with `model.sample(n, sampler="ddim", steps=..., eta=..., guidance=...)`.

# %% [markdown]
# ### Your turn: one DDIM step
# Write the step at $\eta = 0$: `x0_pred`, then $\sqrt{\bar\alpha_{t-1}}\,\hat x_0 + \sqrt{1 - \bar\alpha_{t-1}}\,\varepsilon_\theta$.
# *Hint:* at the last step $\bar\alpha_{t-1} = 1$; do not clip `x0_pred`.

# %%
def ddim_step(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
    """One DDIM step with eta = 0 (Song et al. eq. 12). x_t, eps_pred: (B, 1, 28, 28);
    alpha_bar_t, alpha_bar_prev: 0-dim tensors (alpha_bar_prev = 1 at the last step). Returns x_prev (B, 1, 28, 28)."""
    raise NotImplementedError("write ddim_step: x0_pred, then x_prev")


# %% jupyter={"source_hidden": true} tags=["solution"]
def ddim_step_solution(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
    """A solution: one step of genedu.sampling.ddim_sample with eta = 0 and clip_x0=False."""
    x0_pred = (x_t - (1 - alpha_bar_t).sqrt() * eps_pred) / alpha_bar_t.sqrt()  # DDPM eq. 15
    return alpha_bar_prev.sqrt() * x0_pred + (1 - alpha_bar_prev).sqrt() * eps_pred  # "direction to x_t"


# %%
ddim_fn = ddim_step if exercises.implemented(ddim_step) else ddim_step_solution
exercises.check_ddim_step(ddim_fn)
print(exercises.expect_rejection(exercises.check_ddim_step, lambda x_t, eps_pred, alpha_bar_t, alpha_bar_prev:  # a slip:
                                 ((x_t - (1 - alpha_bar_t).sqrt() * eps_pred) / alpha_bar_t.sqrt()) * alpha_bar_prev.sqrt()))
if FAST:  # the tests: the hidden solution passes, whatever a learner wrote in the stub
    exercises.check_ddim_step(ddim_step_solution, verbose=False)

# %% [markdown]
# Your step *is* the sampler: looped, it draws genedu's digits (`clip_x0=False`) from the same noise.

# %%
from genedu.sampling import ddim_timesteps


@torch.no_grad()
def my_ddim_sample(model, labels, steps, generator):
    labels = labels.to(model.device)
    x = model.randn(len(labels), 1, 28, 28, generator=generator)  # x_T, the sampler's own first draw
    ts = ddim_timesteps(model.config.T, steps)  # e.g. 999, 888, ..., 0
    for i, t in enumerate(ts):
        alpha_bar_t = model.schedule.alpha_bar[t]
        alpha_bar_prev = model.schedule.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
        eps_pred = model.eps_pred(x, torch.full((len(x),), t, device=x.device), labels)
        x = ddim_fn(x, eps_pred, alpha_bar_t, alpha_bar_prev)
    return x.clamp(-1, 1).cpu()


mine = my_ddim_sample(sampler_model, torch.arange(10), 10, g())
genedus = sampler_model.sample(10, labels=torch.arange(10), sampler="ddim", steps=10, clip_x0=False, generator=g()).cpu()
print(f"your loop against genedu's sampler, 10 steps: largest pixel difference {(mine - genedus).abs().max():.1e}")
assert torch.allclose(mine, genedus, atol=1e-3 if sampler_model.device.type == "cpu" else 1e-2)  # GPU: TF32 rounding

# %%
from genedu.diffusion_plots import timed_sample
from genedu.plots import grids_side_by_side

labels = torch.arange(100) % 10
ddim_grid, ddim_seconds = timed_sample(sampler_model, 100, labels=labels, sampler="ddim", steps=20, generator=g())
ddpm_grid, ddpm_seconds = timed_sample(sampler_model, N_DDPM, labels=labels[:N_DDPM], sampler="ddpm", generator=g())
print(f"DDIM, 20 steps: {ddim_seconds / 100 * 1000:.1f} s per 1,000 images; "
      f"DDPM, 1,000 steps: {ddpm_seconds / N_DDPM * 1000:.0f} s per 1,000 images (on {device})")
assert ddim_grid.shape == (100, 1, 28, 28) and ddim_grid.min() >= -1 and ddim_grid.max() <= 1
assert ddpm_grid.shape == (N_DDPM, 1, 28, 28)
grids_side_by_side({"DDIM, 20 steps (columns: digits 0-9)": ddim_grid,
                    f"DDPM ancestral, 1,000 steps ({N_DDPM} samples)": ddpm_grid}, nrow=10, size=5)
plt.show()

# %% [markdown]
# ### The denoising trajectory
# Each step holds $x_t$ and a guess of the clean image, `x0_pred`: a blurry conditional mean at first, like
# Part 1's, then one digit. Scrub through it:

# %%
from genedu.plots import trajectory
from genedu.widgets import trajectory_scrubber

_, traj = sampler_model.sample(8, labels=torch.arange(8), sampler="ddim", steps=20, return_trajectory=True,
                               generator=g())
assert traj["x_t"].shape == (20, 8, 1, 28, 28) and int(traj["t"][0]) == 999 and int(traj["t"][-1]) == 0
trajectory(traj, index=3, k=10)
plt.show()
scrubber = trajectory_scrubber(traj, n=8)
scrubber

# %% [markdown]
# ### DDIM: steps against quality and time, measured
# Three numbers, from lesson 04's MNIST classifier (a black box here), judge `N_EVAL` class-balanced samples:
# - **FID**: distance between the features of samples and of real test digits (lower is better; real
#   training digits give the scale). Biased upwards at a few hundred images: compare equal counts only;
# - **class accuracy**: the share read as the class asked for;
# - **diversity**: the mean pixel distance between two samples of one class.

# %%
from genedu.diffusion_plots import plot_steps_rows, real_digits_row, sample_and_measure, sampler_table

real_row = real_digits_row(test.float(torch.arange(N_EVAL)), test.labels[:N_EVAL])  # the scale
steps_rows = {k: sample_and_measure(sampler_model, k, n=N_EVAL) for k in DDIM_STEPS}
steps_table = [(f"DDIM {k} steps", N_EVAL, r) for k, r in steps_rows.items()]
print(sampler_table(steps_table + [("real digits, same count", N_EVAL, real_row)]))
plot_steps_rows(steps_rows, real_row["fid"], title=f"DDIM on {MODEL_NAME} ({N_EVAL} samples, {device})")
plt.show()

# %% [markdown]
# Time grows linearly with steps. On a trained model, more steps lower the FID, and the fewest steps
# **under-disperse**: smoother, less varied digits (`tests/test_sampling.py` shows it on Gaussian data). A
# sampler can even beat real digits: its samples are exactly class-balanced, a random draw is not.

# %%
times = [r["s_per_1000"] for r in steps_rows.values()]
assert times[-1] > times[0]  # more steps cost more time, linearly
WELL_TRAINED = USE_REFERENCE or FULL  # not fast mode's 30-step DDPM (blobs) nor a 200-step demo: no claims on those
if WELL_TRAINED:  # what the text says about the steps curve
    fewest, most = steps_rows[DDIM_STEPS[0]], steps_rows[DDIM_STEPS[-1]]
    assert most["fid"] < fewest["fid"]  # more steps, better samples: judged by FID
    assert fewest["diversity"] < most["diversity"]  # few steps: smoother, less varied digits
    assert most["accuracy"] > 0.9  # digits of the class asked

# %% [markdown]
# ## Part 5 · Guidance: class accuracy against diversity
# **Intuition:** predict with and without the label, then push further the label's way: more like the class,
# less varied. Classifier-free guidance (Ho and Salimans, 2022), with a scale $w$:
#
# $$\tilde\varepsilon = \varepsilon_\theta(x_t, \varnothing) + w\,\big(\varepsilon_\theta(x_t, y) - \varepsilon_\theta(x_t, \varnothing)\big).$$
#
# $w = 0$ ignores the label, $w = 1$ is the conditional model, $w > 1$ guides. **Convention:** the paper's
# eq. 6 is $(1 + w')\,\varepsilon_\theta(x_t, y) - w'\,\varepsilon_\theta(x_t, \varnothing)$: genedu's $w$ (diffusers'
# `guidance_scale`) is their $w' + 1$.
#
# ### Your turn: the guidance mix
# Write `guided` in genedu's convention. *Hint:* $w = 0$ gives `eps_uncond`, $w = 1$ `eps_cond`.

# %%
def guided(eps_cond, eps_uncond, w):
    """Classifier-free guidance in genedu's convention: w = 0 unconditional, w = 1 conditional, w > 1 guided.
    eps_cond, eps_uncond: (B, 1, 28, 28); w: a float. Returns (B, 1, 28, 28)."""
    raise NotImplementedError("write guided")


# %% jupyter={"source_hidden": true} tags=["solution"]
def guided_solution(eps_cond, eps_uncond, w):
    """A solution: genedu.sampling.guided_eps."""
    return eps_uncond + w * (eps_cond - eps_uncond)


# %%
guided_fn = guided if exercises.implemented(guided) else guided_solution
exercises.check_guidance(guided_fn)
print(exercises.expect_rejection(exercises.check_guidance, lambda eps_cond, eps_uncond, w:  # Ho & Salimans' w
                                 (1 + w) * eps_cond - w * eps_uncond))
if FAST:  # the tests: the hidden solution passes, whatever a learner wrote in the stub
    exercises.check_guidance(guided_solution, verbose=False)

# %% [markdown]
# The trade-off, measured as above:

# %%
from genedu.diffusion_plots import plot_guidance_rows

guide_rows = {w: sample_and_measure(sampler_model, GUIDANCE_STEPS, guidance=w, n=N_GUIDE) for w in GUIDANCE}
guide_table = [(f"DDIM {GUIDANCE_STEPS} steps, guidance {w:g}", N_GUIDE, r) for w, r in guide_rows.items()]
print(sampler_table(guide_table))
plot_guidance_rows(guide_rows, real_row["diversity"], title=f"guidance on {MODEL_NAME} ({N_GUIDE} samples)")
plt.show()
assert all(0 <= r["accuracy"] <= 1 and r["diversity"] > 0 for r in guide_rows.values())
if WELL_TRAINED:  # guidance buys class accuracy with diversity
    w0, w1, w_max = guide_rows[0.0], guide_rows[1.0], guide_rows[GUIDANCE[-1]]
    assert w_max["accuracy"] >= w1["accuracy"] > w0["accuracy"] + 0.3  # w = 0 ignores the label
    assert w_max["diversity"] < w1["diversity"] and w_max["fid"] > w1["fid"]  # bought with diversity, and FID

# %% [markdown]
# On a trained model, $w$ buys class accuracy with diversity, and FID pays. Below, one digit per row
# (guidance 2 outside fast mode, the same noise in every row).

# %%
per_class = sampler_model.sample(100, labels=torch.arange(10).repeat_interleave(10), steps=GUIDANCE_STEPS,
                                 guidance=None if FAST else 2.0, generator=g())
image_grid(per_class, nrow=10, size=6, title=f"{MODEL_NAME}; rows: digits 0 to 9")
plt.show()

# %% [markdown]
# ## Part 6 · Explore
# Sliders for DDIM steps (try 1, 5, 20, 100) and guidance (0, 1, 3, 6), on the same noise. One step returns
# `x0_pred` at $t = 999$, where $x_T$ says almost nothing: a trained network draws about the class's mean
# digit, a blur like lesson 00's. The seed, never trained at that noise level, returns noise.

# %%
from genedu.widgets import sampler_explorer

explorer = sampler_explorer(sampler_model, n=20, steps=5 if FAST else 20, max_steps=100)
explorer

# %% [markdown]
# ## The shipped reference and its own sampler, DPM-Solver++
# `load_reference("diffusion")` loads the shipped model; its record names the command that retrains it. It
# was scored with **DPM-Solver++** (Lu et al., 2022), a second-order solver of DDIM's deterministic path
# (`sampler="dpm"`), which `sample_reference` uses. Does it draw every digit?

# %%
from genedu.evaluate import predict_labels
from genedu.reference import sample_reference

if has_reference("diffusion"):
    reference = sampler_model if USE_REFERENCE else load_reference("diffusion", device=device)
    info = reference_info("diffusion")
    print(f"recorded: `{info['command']}`, {info['budget']}, seed {info['seed']}, on {info['machine']}; "
          f"scored with {info['evaluation']['sample_options']}")
    print({k: round(info["evaluation"][k], 3) for k in ("n", "fid", "inception_score", "precision", "recall", "class_kl")})
    ref_samples = sample_reference(reference, "diffusion", 100, steps=10 if FAST else None)
    image_grid(ref_samples[:80], nrow=10, title=f"the reference DDPM, {info['evaluation']['sample_options']}")
    plt.show()
    assert ref_samples.shape == (100, 1, 28, 28) and ref_samples.min() >= -1 and ref_samples.max() <= 1
    classes = torch.bincount(predict_labels(ref_samples), minlength=10)
    print("samples per class (feature classifier):", classes.tolist())
    assert (classes > 0).sum() >= 9  # a trained model draws (nearly) every digit; the collapsed seed GAN draws one
else:
    print("no reference diffusion in this install")

# %% [markdown]
# ## Strengths and limitations, measured
# Everything this run measured, in one table (nan: too few samples for that figure).

# %%
ddpm_row = {"s_per_1000": ddpm_seconds / N_DDPM * 1000,
            "accuracy": (predict_labels(ddpm_grid) == labels[:N_DDPM]).float().mean().item()}
print(f"{MODEL_NAME}, on {device}; training here: {len(history)} steps, {history.last('seconds'):.0f} s")
print(sampler_table(steps_table + [("DDPM ancestral, 1,000 steps", N_DDPM, ddpm_row)] + guide_table
                    + [("real digits, same count", N_EVAL, real_row)]))
assert ddpm_row["s_per_1000"] > max(times)  # 1,000 calls per image

# %% [markdown]
# The ancestral sampler is by far the slowest; whether it is the best depends on the model (lesson 05).
#
# **Strengths.** A stable regression on the noise: no adversary, no collapse. One network draws with or
# without a label; guidance and steps are chosen after training. With labels, it has the lowest FID of
# genedu's references; without (lesson 05, like the VAE and GAN), it falls behind: it learned that only from
# the dropped labels.
#
# **Limitations.** Sampling loops: 10 to 1,000 network calls per image, against one for a VAE or GAN. Training
# needs many steps. Few DDIM steps under-disperse. There is only a likelihood bound.

# %% [markdown]
# ## Exercises
# 1. Retrain with `schedule="cosine"`. Which quarter of the loss per timestep changes? Does FID at 20 DDIM
#    steps improve? *Hint: `train_or_load` with another checkpoint; `evaluate_samples` (lesson 04).*
# 2. FID at 10 and 50 DDIM steps for `eta` 0 and 1: lesson 05's short-trained DDPM gains from `eta=1` at 50
#    steps; does this one? *Hint: `sample(n, ..., steps=k, eta=e)`, the same n for all four.*
# 3. Train `Diffusion.from_preset("ddpm")` with `T=2`. What do its samples look like, and why?
#    *Hint: print `NoiseSchedule(2).alpha_bar`: is $x_T$ near $\mathcal N(0, I)$?*
# 4. Guidance at $w = 8$: what happens to strokes and variety? Should precision or recall move (lesson 04)?
#    *Hint: `sample_and_measure(sampler_model, GUIDANCE_STEPS, guidance=8.0, n=N_GUIDE)`.*
# 5. Time DDPM ancestral for 100 images. How many VAE samples (`genedu.VAE.from_preset("conv").sample`, trained
#    or not) fit in that time? *Hint: `import time`, `time.perf_counter()`.*

# %% [markdown]
# ## Recap
# - The original "diffusion" denoises one noise level; from noise it makes noise.
# - The forward process has a closed form; the schedule sets how fast the SNR falls.
# - A DDPM is told $t$ and learns to predict the noise at every level ($L_\text{simple}$); small $t$ is hardest.
# - Samplers are separate from the network: DDPM takes 1,000 steps, DDIM any number. Fewer steps: faster,
#   smoother, less varied.
# - Guidance trades diversity for class accuracy at sampling time.
#
# Next: lesson 04 evaluates every family with one protocol; lesson 05 compares them.

# %% [markdown]
# ## Checks the tests run (you can skip this)
# The widgets above, driven as a learner's hand would.

# %%
noiser.t.value = 999
assert noiser.snr < 1e-4 and abs(noiser.x_t.std().item() - 1) < 0.1  # x_T is standard normal
noiser.t.value = 250
scrubber.step.value = 19
assert scrubber.shown_t == 0
before = explorer.samples.clone()
explorer.guidance.value = 3.0
assert explorer.samples.shape == (20, 1, 28, 28)
assert not torch.equal(explorer.samples, before)  # the slider redrew the digits, from the same noise
