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
# # 03b · Flow matching and rectified flow: from first principles to few-step sampling
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/03b_flow.ipynb)

# %% [markdown]
# ## In one minute
# - **The idea.** Learn a velocity field that carries noise to data; sample by solving its ODE.
# - **The training.** Plain regression onto a target you can compute, proved to learn the right field.
# - **What you build.** A flow and a DDPM in 2-D, every path drawn; then an MNIST flow, a straightened
#   copy of it (*reflow*), a few-step flow that draws in one or two calls, guidance, and a flow on a VAE's codes.
# - **What you measure.** Distance to the data and FID against solver steps; how reflow straightens paths;
#   quality per network call for every sampler in the course.

# %%
import subprocess
import sys

REPO_URL = "https://github.com/genedu-course/genedu"  # must equal genedu._version.REPO_URL (a test checks)
if "google.colab" in sys.modules:  # in Colab only: install genedu from the repository
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPO_URL}"], check=True)

import matplotlib.pyplot as plt
import torch

import genedu
from genedu import flow_plots  # this lesson's figures, widgets and two measuring helpers
from genedu.utils import count_parameters, default_device, fast_mode, seed_everything

device = default_device()
seed_everything(0)
print(f"genedu {genedu.__version__}, torch {torch.__version__}, device {device}")

# %% [markdown]
# ## Parameters
# `GENEDU_FAST=1` (set by the tests) shrinks every budget to a minute or two. **`TRAIN_FROM_SCRATCH`**
# trains the MNIST flow (minutes on a GPU). Off, the CPU default, the lesson loads the shipped flow, or
# trains one for 5 minutes if there is none.

# %%
import tempfile
import time
from pathlib import Path

FAST = fast_mode()
TRAIN_FROM_SCRATCH = device.type == "cuda"  # False on a CPU: load the shipped flow if there is one
TOY_STEPS, TOY_SOLVER_STEPS = (800 if FAST else 3000), [1, 2, 4, 8, 32]  # 2-D: optimiser steps; solver steps compared
FLOW_STEPS, FLOW_SECONDS = (30 if FAST else 6000), 300  # MNIST flow: steps of batch 128 (GPU, fast mode), or seconds (CPU)
EMA_DECAY = 0.9 if FAST else 0.999  # we sample from an average of the weights
N_FID = 100 if FAST else (1000 if TRAIN_FROM_SCRATCH else 500)  # samples per FID point (the protocol: 10,000)
FID_STEPS = [1, 2, 4] if FAST else ([1, 2, 4, 8, 16, 32] if TRAIN_FROM_SCRATCH else [1, 2, 4, 8, 16])
# reflow on MNIST: couplings, optimiser steps, images per step, Heun steps that make each coupling
N_PAIRS, REFLOW_STEPS, REFLOW_BATCH, COUPLING_STEPS = ((128, 20, 128, 8) if FAST else (10_000, 2_000, 128, 20)
                                                      if TRAIN_FROM_SCRATCH else (500, 60, 64, 10))
DDPM_STEPS = 30 if FAST else 3000  # a laptop DDPM, trained only when genedu ships no reference DDPM
LATENT_CODES, LATENT_STEPS = (2048, 200) if FAST else (20_000, 1500)  # latent flow: codes and optimiser steps
CKPT_DIR = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints")  # fast mode never reuses a checkpoint
print(f"fast mode: {FAST}; train from scratch: {TRAIN_FROM_SCRATCH}; {N_FID} samples per FID point; checkpoints in {CKPT_DIR}")

# %% [markdown]
# ## Part 1 · Theory: paths, fields and one regression
#
# **A probability path.** Join a data point $x_0$ and Gaussian noise $\varepsilon$ by a straight line,
# $x_t = (1 - t)\,x_0 + t\,\varepsilon$, with time $t$ from 0 (data) to 1 (noise). The density $p_t$ of $x_t$
# slides from data to Gaussian: the *probability path*. Each line moves at the constant *conditional
# velocity* $u_t = \varepsilon - x_0$ (`genedu.models.flow.path_sample`).
#
# **The field that moves the density.** The *marginal velocity* averages the lines through a point $x$:
#
# $$v^*(x, t) = \mathbb E\left[\varepsilon - x_0 \mid x_t = x\right].$$
#
# It satisfies the **continuity equation** $\partial_t p_t + \nabla \cdot (p_t\, v^*) = 0$: density changes
# only by what flows in or out. So solving $dx/dt = v^*$ backwards from noise ends on data.
#
# **The regression we can do.** A network $v_\theta$ (weights $\theta$) cannot regress onto $v^*$ directly:
# $v^*$ averages over the whole data set. Flow matching (Lipman et al. 2023) regresses onto the conditional
# velocity instead, with $t \sim U(0, 1)$:
#
# $$L_C(\theta) = \mathbb E\,\big\lVert v_\theta(x_t, t) - (\varepsilon - x_0)\big\rVert^2 .$$
#
# *Same gradient.* Let $L_M$ be the same loss with target $v^*$. Expand both squares: the $\lVert v_\theta\rVert^2$
# terms are equal, and conditioning on $x_t$ makes the cross terms equal:
#
# $$\mathbb E\big[v_\theta \cdot (\varepsilon - x_0)\big] = \mathbb E\big[v_\theta \cdot \mathbb E[\varepsilon - x_0 \mid x_t]\big] = \mathbb E\big[v_\theta \cdot v^*\big].$$
#
# The rest does not depend on $\theta$: $L_C = L_M + \text{const}$, same minimiser $v^*$. (The constant, the
# variance of $\varepsilon - x_0$ given $x_t$, keeps $L_C$ above 0.) With two data points $v^*$ is exact
# (`genedu.toy.marginal_velocity`), so we compare both gradients:

# %%
from genedu.toy import ToyFlow, marginal_velocity

g = lambda s=0: torch.Generator().manual_seed(s)  # noqa: E731  seeded noise, the same in every run
points = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])  # the whole "data set"
n, net = 50_000, ToyFlow()
x0, eps, t = points[torch.randint(0, 2, (n,), generator=g())], torch.randn(n, 2, generator=g(1)), torch.rand(n, generator=g(2))
x_t = (1 - t[:, None]) * x0 + t[:, None] * eps
grads = {}
for loss, target in (("L_C", eps - x0), ("L_M", marginal_velocity(x_t, t, points))):
    net.zero_grad()
    (net.velocity(x_t, t) - target).pow(2).sum(1).mean().backward()
    grads[loss] = torch.cat([p.grad.flatten() for p in net.parameters()])
cos = torch.cosine_similarity(grads["L_C"], grads["L_M"], dim=0).item()
rel = ((grads["L_C"] - grads["L_M"]).norm() / grads["L_M"].norm()).item()
print(f"{n:,} samples: cosine(grad L_C, grad L_M) = {cos:.4f}, relative difference {rel:.4f}")
assert cos > 0.99 and rel < 0.1  # the same gradient, up to Monte Carlo noise

# %% [markdown]
# **Straight paths need few steps.** Euler's method repeats $x \leftarrow x - h\,v(x, t)$ with step
# $h = 1/\text{steps}$ (`genedu.sampling.ode_solve`). On a straight line at constant speed, $v$ never changes,
# so **one Euler step is exact**. Marginal paths bend where lines cross. With one data point the exact path
# is straight; with two, paths must choose a side:

# %%
from genedu.sampling import ode_solve

noise = torch.randn(500, 2, generator=g(3))
for data_points in (points[:1], points):
    field = lambda x, t, p=data_points: marginal_velocity(x, t, p)  # noqa: E731
    miss = {k: torch.cdist(ode_solve(field, noise, steps=k), data_points).min(1).values.mean().item() for k in (1, 2, 8)}
    print(f"{len(data_points)} data point(s), distance of Euler's end points to the data by steps:", {k: round(d, 3) for k, d in miss.items()})
    if len(data_points) == 1:
        assert miss[1] < 1e-5  # straight path: one Euler step is exact
    else:
        assert miss[1] > 1.0 and miss[8] < 0.1  # curved paths: one step lands in between

# %% [markdown]
# ## Part 2 · A 2-D world where every path is visible
#
# Data: eight Gaussians on a circle. Two models share one small MLP: a **flow** trained with $L_C$, and a
# **DDPM** (lesson 03) sampled with DDIM.

# %%
from genedu.toy import ToyDiffusion, eight_gaussians, sliced_wasserstein, two_moons

toy_data, target = eight_gaussians(4000, g(10)), eight_gaussians(1000, g(11))  # training set; fresh samples to score
toy_eps = torch.randn(1000, 2, generator=g(12))  # one noise for every sampler below
floor = sliced_wasserstein(eight_gaussians(1000, g(13)), target)  # two real sample sets
t0, toy_flow, toy_ddpm = time.perf_counter(), ToyFlow(), ToyDiffusion("linear")
flow_losses, ddpm_losses = toy_flow.fit(toy_data, TOY_STEPS, seed=0), toy_ddpm.fit(toy_data, TOY_STEPS, seed=0)
mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
print(f"{TOY_STEPS} steps each in {time.perf_counter() - t0:.1f} s; loss, first -> last 50 steps: flow {mean(flow_losses[:50]):.3f} "
      f"-> {mean(flow_losses[-50:]):.3f}, DDPM {mean(ddpm_losses[:50]):.3f} -> {mean(ddpm_losses[-50:]):.3f}")
assert mean(flow_losses[-50:]) < mean(flow_losses[:50]) and mean(ddpm_losses[-50:]) < mean(ddpm_losses[:50])

# %% [markdown]
# The same 1,000 noise points go through both samplers. The score is the **sliced Wasserstein distance**
# (SW) to fresh data: project both point sets on random directions, compare the sorted projections. DDIM's
# first guess of the data divides by a tiny number, so we clip it to $[-3, 3]$.

# %%
samplers = {"flow (Euler)": lambda e, k: toy_flow.sample(e, steps=k, return_trajectory=True),
            "DDPM (DDIM)": lambda e, k: toy_ddpm.sample(e, steps=k, clip_x0=3.0, return_trajectory=True)}
paths = {name: {k: s(toy_eps, k)[1] for k in TOY_SOLVER_STEPS} for name, s in samplers.items()}
toy_sw = {name: {k: sliced_wasserstein(p[-1], target) for k, p in ps.items()} for name, ps in paths.items()}
flow_plots.toy_paths(paths, target, distances=toy_sw)
for name, d in toy_sw.items():
    print(f"{name:>13}: " + "  ".join(f"{k} steps {v:.3f}" for k, v in d.items()) + f"  (floor {floor:.3f})")

# %%
flow_sw, ddim_sw = toy_sw["flow (Euler)"], toy_sw["DDPM (DDIM)"]
assert all(flow_sw[k] < ddim_sw[k] for k in (2, 4, 8))  # few steps: the flow is closer to the data
assert flow_sw[1] > 3 * floor and ddim_sw[1] > 3 * floor  # one step: both give a blurred average
assert flow_sw[32] < flow_sw[1] / 4 and ddim_sw[32] < ddim_sw[1] / 4  # many steps: both get close

# %% [markdown]
# At one step both land near the data's mean, the best guess from pure noise. From two steps on, the flow's
# straighter paths get there far sooner.
#
# **DDIM is an Euler solver too.** A DDPM noises data as $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon$,
# where $\bar\alpha_t$ is the share of signal left. Rescaled, $y = x_t / \sqrt{\bar\alpha_t} = x_0 + \sigma_t\,\varepsilon$
# with $\sigma_t = \sqrt{(1 - \bar\alpha_t) / \bar\alpha_t}$, and the probability-flow ODE is $dy/d\sigma = \varepsilon_\theta$,
# the predicted noise. DDIM with $\eta = 0$ (Song et al. 2021, eq. 12) is one Euler step of it per timestep:
# $y_{t'} = y_t + (\sigma_{t'} - \sigma_t)\,\varepsilon_\theta$. Our flow is the same with $\sigma = t / (1 - t)$: the
# two differ in path and time grid, not in solver. Checked:

# %%
from genedu.sampling import ddim_timesteps

ab, ts = toy_ddpm.schedule.alpha_bar, ddim_timesteps(1000, 4)
sigma = lambda a: ((1 - a) / a).sqrt()  # noqa: E731  sigma_t = sqrt((1 - alpha_bar) / alpha_bar)
y = toy_eps / ab[ts[0]].sqrt()  # y = x / sqrt(alpha_bar)
with torch.no_grad():
    for i, t_i in enumerate(ts):
        ab_next = ab[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        eps_pred = toy_ddpm.eps_pred(y * ab[t_i].sqrt(), torch.full((len(y),), t_i))
        y = y + (sigma(ab_next) - sigma(ab[t_i])) * eps_pred  # one Euler step in sigma
ddim_x = toy_ddpm.sample(toy_eps, steps=4)
print(f"largest difference between DDIM and Euler in (sigma, y): {(y - ddim_x).abs().max():.2e}")
assert torch.allclose(y, ddim_x, atol=1e-3)

# %% [markdown]
# Explore: one slider sets both samplers' steps, on the same noise.

# %%
from genedu.widgets import shown_png

toy_explorer = flow_plots.toy_steps_explorer(samplers, toy_eps[:300], target, steps=2)
toy_explorer

# %% [markdown]
# ### Reflow in 2-D
# **Reflow** (Liu et al. 2023) straightens bent paths: solve the trained ODE from fresh noise, then train a
# copy of the flow on those fixed pairs (`genedu.toy.reflow`). ODE paths never cross, so the new pairs'
# lines cross much less. Two measures of a solved path from noise $x_1$ to its end $x_0$:
# - **straightness** $S = \mathbb E_t \lVert (x_1 - x_0) - v(x_t, t)\rVert^2$ per coordinate (eq. 5): 0 exactly
#   for straight lines at constant speed;
# - **length ratio**: path length over the distance between its ends, 1 for a straight line.

# %%
from genedu.toy import path_straightness, reflow

toy_flow2, _ = reflow(toy_flow, torch.randn(2000, 2, generator=g(14)), steps=TOY_STEPS // 2)
toy_straight = {"1-rectified": path_straightness(toy_flow, toy_eps),
                "2-rectified (reflow)": path_straightness(toy_flow2, toy_eps)}
flow_plots.straightness_bars(toy_straight)
print("; ".join(f"{name}: straightness {s['straightness']:.4f}, length ratio {s['length_ratio']:.3f}" for name, s in toy_straight.items()))
s1, s2 = toy_straight["1-rectified"], toy_straight["2-rectified (reflow)"]
assert s2["straightness"] < s1["straightness"] and s2["length_ratio"] < s1["length_ratio"]

# %%
reflow_paths = {"flow": {k: paths["flow (Euler)"][k] for k in (1, 2, 4)},
                "after reflow": {k: toy_flow2.sample(toy_eps, steps=k, return_trajectory=True)[1] for k in (1, 2, 4)}}
reflow_sw = {name: {k: sliced_wasserstein(p[-1], target) for k, p in ps.items()} for name, ps in reflow_paths.items()}
flow_plots.toy_paths(reflow_paths, target, distances=reflow_sw)
assert reflow_sw["after reflow"][1] < reflow_sw["flow"][1]  # one step now lands much nearer the data
assert reflow_sw["after reflow"][1] < ddim_sw[1]

# %% [markdown]
# After reflow, one step lands much nearer the data, and nearer than DDIM's one step.
#
# ### A flow between two distributions
# Nothing in $L_C$ needs Gaussian $\varepsilon$. Here it is the eight Gaussians, and $x_0$ two moons.

# %%
moons, start = two_moons(4000, g(20)), eight_gaussians(500, g(21))
bridge = ToyFlow()
bridge_losses = bridge.fit(moons, TOY_STEPS, source=toy_data, seed=0)
_, bridge_path = bridge.sample(start, steps=32, return_trajectory=True)
flow_plots.toy_paths({"8 Gaussians -> two moons": {32: bridge_path}}, two_moons(1000, g(22)), size=4)
moved = {"before": sliced_wasserstein(start, moons[:1000]), "after": sliced_wasserstein(bridge_path[-1], moons[:1000])}
print(f"distance to the moons: {moved['before']:.3f} at the start, {moved['after']:.3f} after the flow")
assert moved["after"] < moved["before"] / 2 and mean(bridge_losses[-50:]) < mean(bridge_losses[:50])

# %% [markdown]
# ## Part 3 · Flow matching on MNIST
#
# `genedu.models.flow.Flow` is the same recipe on images: $x_0$ is a digit in $[-1, 1]$, and $v_\theta$ is
# lesson 03's UNet, with labels and a null class for guidance.

# %%
from genedu.models.flow import Flow, path_straightness, reflow_couplings
from genedu.reference import has_reference, load_reference, reference_info
from genedu.train import train_or_load

train, test = genedu.load_mnist("train"), genedu.load_mnist("test")
if not TRAIN_FROM_SCRATCH and not FAST and has_reference("flow"):
    flow, flow_history = load_reference("flow", device=device), None
    print("loaded the shipped flow, made with:", reference_info("flow")["command"])
else:
    budget = {"steps": FLOW_STEPS} if FAST or TRAIN_FROM_SCRATCH else {"seconds": FLOW_SECONDS}
    flow_history = train_or_load(Flow.from_preset("laptop"), train, checkpoint=CKPT_DIR / "03b_flow.pt",
                                 ema=EMA_DECAY, seed=0, checkpoint_every=500, **budget)
    flow = flow_history.ema.module.eval()  # sample from the EMA weights
    print(f"{len(flow_history)} steps, {flow_history.last('seconds'):.0f} s of training ({budget})")

# %% [markdown]
# Did it learn? Its $L_C$ on held-out digits, against the same network untrained.

# %%
untrained = Flow(flow.config).to(device).eval()
mse = {name: flow_plots.heldout_flow_loss(m, test, n=512) for name, m in (("untrained", untrained), ("trained", flow))}
print(f"flow, {count_parameters(flow):,} parameters. L_C on 512 test digits (fixed t and eps): untrained {mse['untrained']:.3f}, trained {mse['trained']:.3f}")
assert mse["trained"] < mse["untrained"]
if flow_history is not None:
    flow_history.plot(["loss", "v_mse_q1", "v_mse_q4"], smooth=max(1, min(50, len(flow_history) // 10)))
    assert flow_history.mean("loss", last=10) < flow_history.mean("loss", first=10)

# %% [markdown]
# ### The interpolation, and what the network sees
# Since $x_t = x_0 + t\,(\varepsilon - x_0)$, one Euler step to $t = 0$ guesses the clean digit:
# $\hat x_0 = x_t - t\,v_\theta(x_t, t)$. Near $t = 0$ the guess is nearly exact; near 1 it is a blur, the
# average of the digits that could hide behind the noise.

# %%
interp = flow_plots.interpolation_slider(flow, test.float(torch.arange(1)), label=int(test.labels[0]), t=0.5)
interp

# %% [markdown]
# ## Part 4 · Flow against DDPM on MNIST, from the same noise
#
# The DDPM is genedu's shipped one (lesson 03) or one trained here; the budgets differ (printed). Both
# samplers start from the same noise.

# %%
if has_reference("diffusion"):
    ddpm, ddpm_budget = load_reference("diffusion", device=device), f"shipped, {reference_info('diffusion')['budget']}"
else:
    ddpm_history = train_or_load(genedu.Diffusion.from_preset("laptop"), train, checkpoint=CKPT_DIR / "03b_ddpm.pt",
                                 steps=DDPM_STEPS, ema=EMA_DECAY, seed=0)
    ddpm, ddpm_budget = ddpm_history.ema.module.eval(), f"a laptop DDPM trained here for {len(ddpm_history)} steps"
print(f"DDPM: {ddpm_budget}; flow: {len(flow_history) if flow_history is not None else 'shipped'} steps of training in this run")

# %%
n_show, labels_show = 10, torch.arange(10).to(device)
same_noise = torch.randn(n_show, 1, 28, 28, generator=g(40))
draw = {"flow, Euler": lambda k: flow.sample(n_show, labels=labels_show, noise=same_noise, steps=k, method="euler"),
        "DDPM, DDIM": lambda k: ddpm.sample(n_show, labels=labels_show, sampler="ddim", steps=k, generator=g(40))}
rows = {f"{name}, {k} step(s)": d(k).cpu() for k in (1, 2, 4, 8) for name, d in draw.items()}
rows["flow, Heun, 4 steps (8 calls)"] = flow.sample(n_show, labels=labels_show, noise=same_noise, steps=4, method="heun").cpu()
flow_plots.same_noise_rows(rows)
assert torch.equal(ddpm.randn(n_show, 1, 28, 28, generator=g(40)).cpu(), same_noise)  # the same starting noise
assert all(r.shape == (n_show, 1, 28, 28) and r.min() >= -1 and r.max() <= 1 for r in rows.values())

# %% [markdown]
# ### FID against the number of steps
# FID (lesson 04; lower is better) on `N_FID` class-balanced samples, against **network calls** (Heun: two
# per step). Few samples inflate FID, so compare equal counts only, and the floor of real digits.

# %%
import warnings

from genedu.evaluate import calibration, evaluate_samples

warnings.filterwarnings("ignore", message="only .* samples")  # FID's small-count warning: we compare equal counts only
lab = (torch.arange(N_FID) % 10).to(device)  # class-balanced labels
fid_of = lambda x: evaluate_samples(x.cpu(), labels=lab.cpu(), with_calibration=False)["fid"]  # noqa: E731
flow_at = lambda k, m: flow.sample(N_FID, labels=lab, steps=k, method=m, generator=g(50))  # noqa: E731
fid = {"flow, Euler": {k: fid_of(flow_at(k, "euler")) for k in FID_STEPS},
       "flow, Heun": {2 * k: fid_of(flow_at(k, "heun")) for k in FID_STEPS if 2 * k <= max(FID_STEPS)},
       "DDPM, DDIM": {k: fid_of(ddpm.sample(N_FID, labels=lab, sampler="ddim", steps=k, generator=g(50))) for k in FID_STEPS}}
fid_floor = calibration(N_FID)[0]["fid"]
flow_plots.metric_vs_steps({name: (list(d), list(d.values())) for name, d in fid.items()}, ylabel="FID (lower is better)",
                           floor=fid_floor, logy=True, title=f"FID against network calls ({N_FID} samples per point)")
for name, d in fid.items():
    print(f"{name:>12}: " + "  ".join(f"{k} calls {v:6.1f}" for k, v in d.items()) + f"   (floor {fid_floor:.1f})")
assert all(v > 0.5 * fid_floor for d in fid.values() for v in d.values())  # none beats real digits beyond noise
if has_reference("diffusion"):
    assert fid["DDPM, DDIM"][max(FID_STEPS)] < fid["DDPM, DDIM"][1]  # a trained DDPM needs its steps

# %% [markdown]
# ### Reflow on MNIST
# The 2-D recipe on images: `reflow_couplings` solves the flow's ODE from `N_PAIRS` noise images, and a copy
# of the flow trains briefly on those pairs (`fit` accepts them as data).

# %%
import copy

couplings = reflow_couplings(flow, N_PAIRS, steps=COUPLING_STEPS, method="heun", seed=1)
flow2 = copy.deepcopy(flow).requires_grad_(True)  # an EMA copy is frozen: unfreeze it to train
reflow_history = genedu.fit(flow2, couplings, steps=REFLOW_STEPS, seed=1, batch_size=min(REFLOW_BATCH, N_PAIRS))
flow2.eval()
mnist_straight = {name: path_straightness(m, 64 if FAST else 256, steps=20, seed=2)  # the same noise for both
                  for name, m in (("flow", flow), ("after reflow", flow2))}
flow_plots.straightness_bars(mnist_straight)
print(f"{N_PAIRS} couplings, {REFLOW_STEPS} reflow steps: " + "; ".join(
    f"{name} straightness {s['straightness']:.4f}, length ratio {s['length_ratio']:.3f}" for name, s in mnist_straight.items()))
assert mnist_straight["after reflow"]["straightness"] < mnist_straight["flow"]["straightness"]

# %%
rows = {f"{name}, {k} step(s)": m.sample(n_show, labels=labels_show, noise=same_noise, steps=k, method="euler").cpu()
        for name, m in (("flow", flow), ("after reflow", flow2)) for k in (1, 2, 4)}
flow_plots.same_noise_rows(rows)
one_step = {name: fid_of(m.sample(N_FID, labels=lab, steps=1, method="euler", generator=g(50)))
            for name, m in (("flow", flow), ("after reflow", flow2))}
print(f"FID at 1 Euler step ({N_FID} samples): " + ", ".join(f"{k} {v:.1f}" for k, v in one_step.items()))
assert all(r.shape == (n_show, 1, 28, 28) for r in rows.values())

# %% [markdown]
# **At full scale.** The shipped flow's record holds one full round, trained with $t$ uniform and with a
# U-shaped $p(t) \propto \cosh(4(t - \tfrac12))$. The U shape trains more near $t = 0$ and 1, where few-step
# samplers call the network (Lee et al. 2024).

# %%
if has_reference("flow"):
    rec = reference_info("flow")["reflow"]
    parent, variants = rec["parent"], rec["variants"]
    print(flow_plots.reflow_table(rec))
    for v in variants.values():  # what the text below says
        assert parent["straightness"] / v["straightness"] > 20 and v["fid_euler"]["1"] < parent["fid_euler"]["1"] / 10
        assert v["fid_euler"]["2"] <= 2 * parent["fid_euler"]["10"] < v["fid_euler"]["10"] * 2
        assert v["fid_euler"]["10"] > parent["fid_euler"]["10"]  # the price: a little quality at many steps
    u, uni = variants["u_shaped"]["fid_euler"], variants["uniform"]["fid_euler"]
    assert all(u[k] < uni[k] for k in u)

# %% [markdown]
# Reflow makes the paths over 20 times straighter. The 1-step FID falls from hundreds to about ten; 2
# steps come within twice the parent's 10-step FID. The price is a little quality at many steps: the copy
# learns the parent's samples, not the data. The U shape's small edge, in one seed, is a hint.

# %% [markdown]
# ### Few steps by distillation
# Even after reflow, one Euler step lands on an average of where paths go. So teach the network the jump
# itself. A *few-step flow* also sees the jump size $d$ and learns the velocity that lands where its
# teacher's accurate solution lands (a *shortcut model*, Frans et al. 2024, distilled as in Liu et al. 2023):
#
# $$v_\theta(x_t, t, d) \approx (x_t - x_{t-d}) / d,$$
#
# with $x_t$, $x_{t-d}$ two points of the teacher's solved path. $d = 1$ takes one call, $d = \tfrac12$ two.

# %%
from genedu.models.flow import few_step_student, teacher_paths

paths = teacher_paths(flow, N_PAIRS, segments=2, steps_per_segment=3, method="midpoint", seed=3)  # t = 1, 1/2, 0
student = few_step_student(flow, (1, 2), lr=1e-3)  # a copy of the teacher; its d input starts at zero
few_history = genedu.fit(student, paths, steps=REFLOW_STEPS, seed=3, batch_size=min(REFLOW_BATCH, N_PAIRS))
print(f"loss {few_history['loss'][0]:.3f} -> {few_history.mean('loss', last=5):.3f}")
assert few_history.mean("loss", last=5) < few_history["loss"][0]

# %% [markdown]
# **At full scale**, the shipped `flow_fewstep` learned from 100,000 of the shipped flow's paths. From the
# same noise, how far does each land from the teacher's accurate answer?

# %%
from genedu.reference import sample_options

fewstep, teacher = load_reference("flow_fewstep", device=device), load_reference("flow", device=device)
rows, gaps = flow_plots.few_step_gaps(fewstep, teacher, sample_options("flow"), n=32 if FAST else 200)
flow_plots.same_noise_rows({k: v[:n_show] for k, v in rows.items()})
print("mean squared distance (few-step, teacher Euler):", {k: tuple(round(v, 4) for v in p) for k, p in gaps.items()})
assert all(a < b / 2 for a, b in gaps.values())  # the jump it learned beats the teacher's own step

# %% [markdown]
# Every sampler in the course: FID of 10,000 samples against network calls per image, read from the
# records. Dashed lines: drawn without a label.

# %%
from genedu.sampler_costs import plot_quality_per_call, sampler_points

plot_quality_per_call(points := sampler_points())
rec = reference_info("flow_fewstep")["target"]
print(f"few-step FID by calls {rec['fid_by_calls']}; teacher {rec['parent_fid']:.2f} at {rec['parent_calls']} calls")
few = {p["calls"]: p["fid"] for p in points if p["series"] == "few-step flow (distilled)"}
assert few[1] > few[2] > few[4] and few[2] < 2 * rec["parent_fid"]  # two calls: within twice the teacher
assert few[2] < min(p["fid"] for p in points if p["calls"] <= 4 and p["series"] != "few-step flow (distilled)")

# %% [markdown]
# ### Guidance, both ends of the dial
# Classifier-free guidance trains with labels $y$, 10 % replaced by a null class $\varnothing$, then mixes two
# velocities with a scale $w$ (`genedu.sampling.guided_velocity`):
#
# $$v = v_\theta(x, t, \varnothing) + w\,\big(v_\theta(x, t, y) - v_\theta(x, t, \varnothing)\big).$$
#
# So $w = 0$ is unconditional, $w = 1$ conditional; $w > 1$ pushes further.

# %%
kw = dict(noise=same_noise[:8], steps=2, method="euler")
cond, uncond = flow.sample(8, labels=labels_show[:8], **kw), flow.sample(8, labels=None, **kw)
w1, w0 = (flow.sample(8, labels=labels_show[:8], guidance=w, **kw) for w in (1.0, 0.0))
print(f"|w=1 - conditional| max {(w1 - cond).abs().max():.1e}; |w=0 - unconditional| max {(w0 - uncond).abs().max():.1e}")
tol = 1e-4 if flow.device.type == "cpu" else 1e-2  # float rounding: ~1e-6 on a CPU, ~1e-3 in a GPU's TF32 convolutions
assert torch.allclose(w1, cond, atol=tol) and torch.allclose(w0, uncond, atol=tol)

# %% [markdown]
# ### Latent flow matching: a flow on the VAE's codes
# Codes drawn from $\mathcal N(0, I)$ often fall in holes between the VAE's codes of real digits (lesson
# 01). A flow trained on those codes is a learned prior: solve its ODE from noise, then decode. This is the
# idea behind latent diffusion (Rombach et al. 2022).

# %%
if has_reference("vae"):
    vae = load_reference("vae", device=device)
    mu, _ = vae.encode_dataset(train, n=LATENT_CODES)  # (n, 32) posterior means of training digits
    code_mean, code_std = mu.mean(0), mu.std(0).clamp(min=1e-3)
    torch.manual_seed(0)
    latent_flow = ToyFlow(hidden=512, layers=3, dim=mu.shape[1])  # the 2-D flow's MLP, wider, in 32 dimensions
    latent_losses = latent_flow.fit((mu - code_mean) / code_std, steps=LATENT_STEPS, batch_size=512, lr=1e-3)
    with torch.no_grad():
        z = latent_flow.sample(torch.randn(N_FID, mu.shape[1], generator=g(60)), steps=10, method="heun")
        latent = {"N(0, I) prior": vae.sample(N_FID, prior="normal", generator=g(60)).cpu(),
                  "latent flow": vae.decode((z * code_std + code_mean).to(device)).clamp(-1, 1).cpu(),
                  "mixture prior (lesson 01)": vae.sample(N_FID, prior="mixture", generator=g(60)).cpu()}
    latent_fid = {k: fid_of(v) for k, v in latent.items()}
    print(f"latent flow loss {latent_losses[0]:.1f} -> {latent_losses[-1]:.1f}; FID ({N_FID} samples):", {k: round(v, 1) for k, v in latent_fid.items()})
    flow_plots.same_noise_rows({k: v[:n_show] for k, v in latent.items()})
    assert latent_losses[-1] < latent_losses[0]
    if not FAST:  # what the text below says (fast mode's 200 steps prove nothing)
        assert latent_fid["latent flow"] < latent_fid["N(0, I) prior"] / 2
        assert latent_fid["mixture prior (lesson 01)"] < latent_fid["latent flow"]

# %% [markdown]
# The flow's codes decode to far better digits than $\mathcal N(0, I)$'s. The mixture prior still wins over
# this small MLP, also in the repository's longer run (next cell). The ODE costs little beside the decoder.

# %%
import json

from genedu.utils import results_file  # a file of the repository's benchmarks/results/, or None

if (record := results_file("latent_flow.json")) is not None:  # a longer run of the cells above
    priors = json.loads(record.read_text())["priors"]  # {prior: {"fid": ..., "n": samples, ...}}
    print(f"{record.name}: FID " + ", ".join(f"{k} prior {p['fid']:.1f} ({p['n']:,} samples)" for k, p in priors.items()))
    assert priors["normal"]["fid"] / priors["flow"]["fid"] > 3 and priors["mixture"]["fid"] < priors["flow"]["fid"]

# %% [markdown]
# ## Part 5 · Explore
# Steps, solver and guidance, on fixed noise. Try 1 step (a blur), 2, 4, 20; Euler against Heun at equal
# calls; guidance 0, 1, 3.

# %%
explorer = flow_plots.flow_sampler_explorer(flow, n=20, steps=4, max_steps=50)
explorer

# %% [markdown]
# ## Strengths and limitations
# **Strengths.** One stable regression, proved to train the right field. Any ODE solver samples it, and the
# step count is a dial set after training. Straight paths reach the data in few steps, and reflow
# straightens them further. A flow can join *any* two distributions you can sample.
#
# **Limitations.** Reflow costs a pass of ODE solves and a second training, and inherits the first flow's
# errors. Few-step samples are still blurred averages. Sampling loops over network calls, where a VAE or a
# GAN needs one. An exact likelihood needs a divergence integrated along the path. And here the flow and
# the DDPM had different budgets.

# %% [markdown]
# ## Exercises
# **Write the core yourself**: the training pair, one Euler step, and a few-step flow's target. The checker
# compares them with `path_sample`, `ode_solve` and `jump_velocity_target`; until you fill them in, it checks
# the hidden solution.
# - *Hint 1:* `t` has shape `(B,)`; reshape it to `(B, 1, ..., 1)` with `t.view(-1, *[1] * (x0.dim() - 1))`.
# - *Hint 2:* $t = 0$ is data, $t = 1$ is noise; the target is $\frac{d x_t}{dt}$.
# - *Hint 3:* sampling goes *backwards* in time: from $t$ to $t - h$.
# - *Hint 4:* a jump of size $d$ lands at $x_b = x_a - d\,v$; solve for $v$.

# %%
def flow_matching_target(x0, eps, t):
    """Return (x_t, u_t): the point on the straight path at times t (B,), and its velocity."""
    raise NotImplementedError("your turn: x_t = (1 - t) x0 + t eps, and u_t = d x_t / dt")


def euler_step(velocity, x, t, h):
    """One Euler step of dx/dt = velocity(x, t) from time t to t - h (h > 0); returns the new x."""
    raise NotImplementedError("your turn: move against the velocity for a time h")


def jump_target(x_a, x_b, d):
    """The velocity that carries x_a to x_b in one Euler jump of size d (B,), backwards in time."""
    raise NotImplementedError("your turn: x_b = x_a - d v")


# %% tags=["solution"] jupyter={"source_hidden": true}
def flow_matching_target_solution(x0, eps, t):
    t_ = t.view(-1, *[1] * (x0.dim() - 1))
    return (1 - t_) * x0 + t_ * eps, eps - x0


def euler_step_solution(velocity, x, t, h):
    return x - h * velocity(x, t)


def jump_target_solution(x_a, x_b, d):
    return (x_a - x_b) / d.view(-1, *[1] * (x_a.dim() - 1))


# %%
from genedu import exercises

target_fn = flow_matching_target if exercises.implemented(flow_matching_target) else flow_matching_target_solution
step_fn = euler_step if exercises.implemented(euler_step) else euler_step_solution
exercises.check_flow_target(target_fn)  # each raises AssertionError naming the input and what differs
exercises.check_euler_step(step_fn)
exercises.check_jump_target(jump_target if exercises.implemented(jump_target) else jump_target_solution)
print(exercises.expect_rejection(exercises.check_euler_step, lambda velocity, x, t, h:  # a classic slip:
                                 x + h * velocity(x, t)))  # forwards in time, towards the noise
if FAST:  # the tests: the hidden solutions pass, whatever a learner wrote in the stubs
    exercises.check_flow_target(flow_matching_target_solution, verbose=False)
    exercises.check_euler_step(euler_step_solution, verbose=False)
    exercises.check_jump_target(jump_target_solution, verbose=False)

# %% [markdown]
# **More exercises**
# 1. *Schedules.* Sample `ToyDiffusion("cosine")` with DDIM at 1 to 32 steps, with and without `clip_x0`.
#    Why does it need the clip more? (Hint: `schedule.alpha_bar[-1]`.)
# 2. *Solvers at equal cost.* In 2-D, is Euler with $2k$ steps or Heun with $k$ closer to the data, for
#    $k = 1, 2, 4$? (Hint: the same noise, and `sliced_wasserstein`.)
# 3. *Reflow twice.* Reflow `toy_flow2`. Do straightness and the 1-step distance keep falling? (Hint:
#    compare with the floor.)
# 4. *Guidance.* Measure `conditional_accuracy` and FID at three scales: where do digits stop improving?
#    (Hint: FID rises once guidance costs diversity.)
# 5. *Between distributions.* Flow from `checkerboard` to `two_moons`, then reflow: what happens to the
#    length ratio? (Hint: `path_straightness` takes the start points as `eps`.)

# %% [markdown]
# ## Recap
# - Straight lines from data to noise have an average velocity $v^*$; solving its ODE from noise gives data.
# - Regressing onto $\varepsilon - x_0$ has the same gradient as regressing onto $v^*$.
# - One Euler step is exact on a straight path; reflow straightens learned paths, so few steps suffice.
# - A few-step flow learns the jump itself, $(x_t - x_{t-d})/d$ on its teacher's paths: two calls come
#   within twice the 20-call teacher's FID.
# - DDIM is an Euler solver of the diffusion's ODE; in 2-D the flow beat it at 2 to 8 steps.
# - Guidance mixes two velocities; a flow on a VAE's codes is a learned prior.
# - Next: lesson 04 evaluates every family with one protocol; lesson 05 compares them.

# %% [markdown]
# ## Checks the tests run (you can skip this)

# %%
png_before, sw_before = shown_png(toy_explorer.output), dict(toy_explorer.distances)
toy_explorer.steps.value = 16
assert shown_png(toy_explorer.output) != png_before  # the slider redrew the paths
assert toy_explorer.paths["flow (Euler)"].shape == (17, 300, 2)
assert toy_explorer.distances["DDPM (DDIM)"] < sw_before["DDPM (DDIM)"]  # more steps: DDIM catches up

# %%
interp.t.value = 0.0
assert interp.error < 1e-6  # t = 0: x_t is the digit, and x_t - 0 * v is too
interp.t.value = 1.0
assert torch.allclose(interp.x_t, torch.randn(1, 1, 28, 28, generator=g(0)))  # t = 1: x_t is the noise

# %%
before = explorer.samples.clone()
explorer.steps.value = 1
assert explorer.samples.shape == (20, 1, 28, 28) and not torch.equal(explorer.samples, before)
explorer.method.value, explorer.guidance.value = "heun", 3.0
assert explorer.samples.min() >= -1 and explorer.samples.max() <= 1
