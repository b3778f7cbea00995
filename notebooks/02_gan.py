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
# # Lesson 02: GANs, from a collapsing GAN to a stable one
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/02_gan.ipynb)

# %% [markdown]
# ## In one minute
# - A generator turns noise into images; a discriminator learns to spot the fakes; the generator learns to fool it.
# - The usual generator loss would rather drop a kind of digit than blur between kinds: mode collapse.
# - You build the GAN losses, the original MLP GAN, a DCGAN and a class-conditional GAN.
# - You measure what the discriminator outputs, the generator's gradient, sample variety and FID.

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
# `TRAIN_FROM_SCRATCH` is `True` on a GPU: every GAN trains 5 epochs, the original's budget. On a CPU it is
# `False`: the convolutional GANs train 250 steps only, and the shipped reference GAN stands in for a
# well-trained one.

# %%
import tempfile
from pathlib import Path

FAST = fast_mode()  # GENEDU_FAST=1 (the tests): a few hundred steps, enough to run every cell
TRAIN_FROM_SCRATCH = device.type == "cuda"  # THE SWITCH: True trains every GAN here at its full budget
SEED_BUDGET = dict(steps=300) if FAST else dict(epochs=5)  # the original: 5 epochs of 60,000 images, batch 128
DCGAN_BUDGET = dict(steps=60) if FAST else dict(epochs=5) if TRAIN_FROM_SCRATCH else dict(steps=250)
SEEDS = [0, 1] if FAST else [0, 1, 2]  # runs for the spread over seeds
SAMPLE_EVERY = 234 if TRAIN_FROM_SCRATCH and not FAST else 50  # steps between fixed-noise grids (234 = half an epoch)
N_FID = 500 if FAST else 2000  # samples per model scored against the test set at the end
CKPT = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints")  # train_or_load reuses these; fast mode never does
print(f"FAST={FAST}, TRAIN_FROM_SCRATCH={TRAIN_FROM_SCRATCH}: seed {SEED_BUDGET}, dcgan/cgan {DCGAN_BUDGET}, seeds {SEEDS}")

# %% [markdown]
# ## 1. The game
#
# A forger and a detective: each improves because the other does. The generator $G$ turns noise
# $z \sim \mathcal N(0, I)$ into an image $G(z)$; the discriminator gives the probability $D(x)$ that image $x$
# is real (drawn from the data density $p_\text{data}$). The game (Goodfellow et al. 2014):
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))].$$
#
# **Optimal D.** With $p_g$ the density of $G$'s samples, maximising $p_\text{data}\log D + p_g\log(1-D)$ at
# each $x$ gives $D^* = p_\text{data} / (p_\text{data} + p_g)$. Then
# $V(D^*, G) = -\log 4 + 2\,\mathrm{JS}(p_\text{data} \,\|\, p_g)$: $G$ minimises the Jensen-Shannon divergence,
# 0 only when $p_g = p_\text{data}$. There $D^* = 1/2$: the D loss is $2\log 2 = 1.386$, the non-saturating
# G loss $\log 2 = 0.693$. The losses trade; they are not meant to fall to 0.
#
# **Saturation.** Write $D = \sigma(\ell)$, $\ell$ the logit. The minimax G loss $\log(1 - D(G(z)))$ has
# gradient $-D(G(z))$ in $\ell$: while $D$ rejects the fakes, $G$ gets almost nothing. The non-saturating
# $-\log D(G(z))$ has the same fixed point and gradient $-(1 - D(G(z)))$, largest exactly there.
# `genedu.losses` has both, and "hinge" for `sngan`.

# %%
from genedu import gan_plots, losses, plots

logit = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) = sigmoid(-6) = 0.0025
grads = {k: torch.autograd.grad(losses.gan_g_loss(logit, k).sum(), logit)[0].item()
         for k in ("minimax", "nonsaturating")}
print(grads)
assert abs(grads["minimax"]) < 0.003 and abs(grads["nonsaturating"]) > 0.99
plots.saturation_curves()
plt.show()

# %% [markdown]
# ### The optimal discriminator, seen in 1-D
# $p_\text{data} = \mathcal N(0, 1)$, $p_g = \mathcal N(2, 1.5^2)$: $D^*$ on a grid, and a D trained on 5,000
# samples of each. Logistic regression on $1, x, x^2$ can be exactly optimal: $\log(p_\text{data}/p_g)$ is quadratic.

# %%
import math

import torch.nn.functional as F

x_grid = torch.linspace(-8, 10, 4001, dtype=torch.float64)  # fine enough to integrate on
data_dist, g_dist = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(2.0, 1.5)
log_pd, log_pg = data_dist.log_prob(x_grid), g_dist.log_prob(x_grid)
d_star = torch.exp(log_pd - torch.logaddexp(log_pd, log_pg))  # p_data / (p_data + p_g)

torch.manual_seed(0)
xs = torch.cat([data_dist.sample((5000,)), g_dist.sample((5000,))]).double()  # real, then fake
is_real = torch.cat([torch.ones(5000), torch.zeros(5000)]).double()
features = lambda v: torch.stack([torch.ones_like(v), v, v**2], 1)  # noqa: E731  (N, 3)
w_d = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # D(x) = sigmoid(features(x) @ w_d)
opt_d = torch.optim.Adam([w_d], lr=0.1)
for _ in range(500):
    loss = F.binary_cross_entropy_with_logits(features(xs) @ w_d, is_real)  # -log D(x) - log(1 - D(G(z)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()

# %%
d_trained = torch.sigmoid(features(x_grid) @ w_d).detach()
plots.optimal_discriminator_1d(x_grid, log_pd.exp(), log_pg.exp(), d_trained=d_trained)
plt.show()
gap = (d_trained - d_star)[(x_grid > -3) & (x_grid < 6)].abs().max().item()  # where there are samples
print(f"largest |D_trained - D*| on [-3, 6]: {gap:.3f}")
assert gap < 0.06  # the trained discriminator is the formula, up to sampling noise

# %% [markdown]
# The trained D follows the formula: 1/2 where the densities are equal, near 1 where only data lives.
#
# ### What the generator's loss minimises, and why it collapses
#
# With $m = (p_\text{data} + p_g)/2$ and KL the Kullback-Leibler divergence,
# $2\,\mathrm{JS} = \mathrm{KL}(p_\text{data}\,\|\,m) + \mathrm{KL}(p_g\,\|\,m)$, and at $D = D^*$
# (Arjovsky and Bottou 2017, Theorem 2.5):
#
# $$\mathbb{E}_{p_g}[-\log D^*] = \mathbb{E}_{p_g}\Big[\log\frac{p_g}{p_\text{data}}\Big] + \mathbb{E}_{p_g}\Big[\log\frac{p_\text{data} + p_g}{p_g}\Big]
#   = \mathrm{KL}(p_g\,\|\,p_\text{data}) + \log 2 - \mathrm{KL}(p_g\,\|\,m).$$
#
# and as $\mathrm{KL}(p_\text{data}\,\|\,m) = \log 2 + \mathbb{E}_{p_\text{data}}[\log D^*]$:
#
# $$\mathbb{E}_{p_g}[-\log D^*] = \mathrm{KL}(p_g\,\|\,p_\text{data}) - 2\,\mathrm{JS}(p_\text{data}\,\|\,p_g)
#   + \underbrace{\log 4 + \mathbb{E}_{p_\text{data}}[\log D^*]}_{\text{no generator samples}}.$$
#
# A G step holds $D$ fixed, so it follows $\mathrm{KL}(p_g\,\|\,p_\text{data}) - 2\,\mathrm{JS}$. This reverse KL is
# **mode-seeking**: huge where $G$ draws what the data lacks, small for data $G$ never draws. Dropping a mode is
# cheap; drawing between modes is not. The cell checks both identities on the grid.

# %%
from genedu.gan_plots import js, kl

log_d_star, log_1m_d_star = log_pd - torch.logaddexp(log_pd, log_pg), log_pg - torch.logaddexp(log_pd, log_pg)
V = torch.trapezoid(log_pd.exp() * log_d_star + log_pg.exp() * log_1m_d_star, x_grid)
print(f"V(D*, G) = {V:.6f};  -log 4 + 2 JS = {-math.log(4) + 2 * js(log_pd, log_pg, x_grid):.6f}")
g_nonsat = torch.trapezoid(log_pg.exp() * -log_d_star, x_grid)
split = kl(log_pg, log_pd, x_grid) - 2 * js(log_pd, log_pg, x_grid) + math.log(4) + torch.trapezoid(log_pd.exp() * log_d_star, x_grid)
print(f"E_pg[-log D*] = {g_nonsat:.6f};  KL(p_g || p_data) - 2 JS + log 4 + E_pdata[log D*] = {split:.6f}")
assert abs(V - (-math.log(4) + 2 * js(log_pd, log_pg, x_grid))) < 1e-5 and abs(g_nonsat - split) < 1e-5

# %% [markdown]
# Three generators against a two-mode $p_\text{data}$: one mode only (collapse), one broad bump, and the data.
# Beside: the forward $\mathrm{KL}(p_\text{data}\,\|\,p_g)$ that maximum likelihood (a VAE) minimises.

# %%
x_wide = torch.linspace(-20, 40, 12001, dtype=torch.float64)
normal = lambda mu, sd: torch.distributions.Normal(mu, sd).log_prob(x_wide)  # noqa: E731
log_two_modes = torch.logaddexp(normal(-3.0, 0.7), normal(3.0, 0.7)) - math.log(2)
candidates = {"one mode (collapse)": normal(3.0, 0.7), "one broad bump over both": normal(0.0, 3.08),
              "both modes (the data)": log_two_modes}
seeking = gan_plots.mode_seeking_table(candidates, log_two_modes, x_wide)  # prints both columns
assert seeking["both modes (the data)"] < seeking["one mode (collapse)"] < seeking["one broad bump over both"]

# %% [markdown]
# The GAN ranks collapse *second*, far ahead of the broad bump; the forward KL ranks them the other way round.
# So GANs drop digits where VAEs blur (lesson 01).
#
# **Disjoint supports.** Early on, G's images and real digits lie on different thin sets of pixel space. Then
# $\mathrm{JS} = \log 2$ whatever $G$ does, and the minimax $G$ gets no gradient. Below, $p_g = \mathcal N(\mu, 1)$
# moves away from $p_\text{data} = \mathcal N(0, 1)$.

# %%
js_grad = gan_plots.js_against_distance([0.0, 1.0, 2.0, 4.0, 8.0, 16.0], x_wide)
assert abs(js_grad[16.0]) < 1e-9 < 0.1 < js_grad[1.0]  # far apart: JS = log 2 and no gradient for G

# %% [markdown]
# As predicted (and measured in section 3). The non-saturating loss keeps a gradient there, but a large, noisy
# one (Arjovsky and Bottou 2017): a D that wins outright hurts both, one reason for `sngan`'s spectral norm.
#
# ### Your turn: the two losses
# From D's logits, per example: the D loss $-\log D(x) - \log(1 - D(G(z)))$ and the G loss $-\log D(G(z))$.
# *Hint:* at $\ell = 50$, $\sigma(\ell)$ is 1 in float32 and $\log(1 - 1) = -\infty$; use
# $-\log\sigma(\ell) = \mathrm{softplus}(-\ell)$ and $-\log(1 - \sigma(\ell)) = \mathrm{softplus}(\ell)$.
# Replace the `raise`; the collapsed cell holds a solution.

# %%
def gan_losses(d_real, d_fake):
    """d_real, d_fake: (B,) D's logits on real and generated images. Returns (d_loss, g_loss), each (B,)."""
    raise NotImplementedError("write gan_losses: d_loss and g_loss from the logits")


# %% tags=["solution"] jupyter={"source_hidden": true}
def gan_losses_solution(d_real, d_fake):
    """A solution: what genedu's losses.gan_d_loss and gan_g_loss compute for kind='nonsaturating'."""
    d_loss = F.softplus(-d_real) + F.softplus(d_fake)  # -log sigmoid(r) - log(1 - sigmoid(f))
    g_loss = F.softplus(-d_fake)  # -log sigmoid(f): the non-saturating generator loss
    return d_loss, g_loss


# %%
from genedu import exercises

gan_fn = gan_losses if exercises.implemented(gan_losses) else gan_losses_solution
print(f"checking {gan_fn.__name__}")
exercises.check_gan_losses(gan_fn)  # raises AssertionError naming the output and input that differ

# %% [markdown]
# The checker against the saturating G loss $\log(1 - D(G(z)))$:

# %%
def gan_losses_saturating(d_real, d_fake):
    return F.softplus(-d_real) + F.softplus(d_fake), -F.softplus(d_fake)  # G loss log(1 - D(G(z)))


print(exercises.expect_rejection(exercises.check_gan_losses, gan_losses_saturating))
if FAST:  # the tests: the hidden solution passes, whatever a learner wrote in the stub
    exercises.check_gan_losses(gan_losses_solution, verbose=False)

# %% [markdown]
# ## 2. The original notebook's GAN, exactly (`seed` preset)
#
# MLP $G$ 20-256-784 (tanh), MLP $D$ 784-256-1 (sigmoid), BCE, Adam 2e-4, batch 128. Per batch, one D step on
# the detached fakes, then one G step on the *same* fakes through the updated D. A test checks bit-identical
# weights against the original loop (which kept each epoch's last incomplete batch; genedu drops it).

# %%
from genedu.models.gan import GAN, sample_diversity
from genedu.train import train_or_load

data = genedu.load_mnist("train_full")  # the original trained on all 60,000 images
test = genedu.load_mnist("test")


def train(preset, seed=0, **overrides):
    torch.manual_seed(seed)  # the same initial weights for a given seed
    model = GAN.from_preset(preset, **overrides)
    name = "-".join([preset, *map(str, overrides.values()), f"s{seed}", "fast" if FAST else "full"])
    budget = SEED_BUDGET if preset == "seed" else DCGAN_BUDGET
    history = train_or_load(model, data, checkpoint=CKPT / f"gan-{name}.pt", seed=seed, device=device,
                            sample_every=SAMPLE_EVERY, n_grid=64, **budget)
    return model.eval(), history


seed_gan, seed_hist = train("seed")
print(seed_gan.G, seed_gan.D, sep="\n")

# %%
plots.gan_losses(seed_hist, title="seed preset: D and G losses")
plt.show()
plots.d_outputs(seed_hist, title="seed preset: D(x) and D(G(z))")
plt.show()
assert seed_hist.mean("d_real", last=50) > seed_hist.mean("d_fake", last=50)  # D tells them apart
assert all(torch.isfinite(torch.tensor(seed_hist["d_loss"])))

# %% [markdown]
# D wins: $D(x)$ stays well above $D(G(z))$, far from 1/2. What does $G$ draw? Fixed noise through training,
# then the *diversity*: mean pixel distance between samples, near 0 when all look alike.

# %%
plots.grid_timeline(seed_hist.grids, k=4)
plt.show()
seed_samples = seed_gan.sample(500, generator=torch.Generator().manual_seed(2024))
assert seed_samples.shape == (500, 1, 28, 28) and seed_samples.min() >= -1 and seed_samples.max() <= 1
real_div = sample_diversity(test.float(torch.arange(500)))
seed_div = sample_diversity(seed_samples)
print(f"diversity: real test digits {real_div:.3f}, seed GAN {seed_div:.3f}")
assert seed_div < real_div  # its samples are less varied than real digits

# %% [markdown]
# **After 5 epochs it draws one digit**: diversity 0.124 (real digits 0.707), every sample an "8", every seed;
# FID 1014 (lower is better). The `laptop` recipe (hinge loss, spectral norm, two learning rates, batch 32)
# scores FID 40.4 on the same budget; the reference GAN below scales it up.
#
# <details><summary>Where these numbers come from</summary>
#
# `benchmarks/results/`: gan_dynamics, gan_diversity, gan_class_hist_quick_classifier, showdown (seed, laptop:
# IS 1.01, 7.06; precision 0.02, 0.54; recall 0.0, 0.88), five_minutes (laptop at batch 64: FID 47.9).
# </details>
#
# `genedu.models.gan.CollapseMeter` is a `fit` callback that warns or stops on collapse or a winning D.

# %% [markdown]
# ## 3. Saturating against non-saturating, measured
# The minimax G loss, same seed. Predicted: $D$ wins early and $G$'s gradient vanishes.

# %%
mm_gan, mm_hist = train("seed", loss="minimax")
for name, h in (("non-saturating", seed_hist), ("minimax", mm_hist)):
    print(f"{name:>15}: last 50 steps D(G(z)) {h.mean('d_fake', last=50):.3f}, "
          f"G gradient norm {h.mean('g_grad_norm', last=50):.3f}")
plots.d_outputs(mm_hist, title="minimax (saturating) G loss: D(x) and D(G(z))")
plt.show()
assert mm_hist.mean("g_grad_norm", last=50) < seed_hist.mean("g_grad_norm", last=50)

# %% [markdown]
# Over 5 epochs (steps 301-400), G's gradient norm was 0.03 and 0.12 (seeds 0, 1) against 2.5 non-saturating.
# Seed 0 never recovered; seed 1 partly did. A strong tendency, not a certainty.
#
# ## 4. DCGAN
# Convolutions suit images. `dcgan`: $G$ projects $z$ to 64x7x7, then two stride-2 transposed convolutions
# with batch norm; $D$: two stride-2 convolutions, LeakyReLU; non-saturating loss; Adam(2e-4, beta1 = 0.5).

# %%
dcgan, dc_hist = train("dcgan")
print(f"dcgan: {int(dc_hist.last('step'))} steps, {dc_hist.last('seconds'):.0f} s on {device}")
plots.gan_losses(dc_hist, smooth=10, title="dcgan: D and G losses")
plt.show()
plots.grid_timeline(dc_hist.grids, k=4)
plt.show()
dc_samples = dcgan.sample(500, generator=torch.Generator().manual_seed(2024))
dc_div = sample_diversity(dc_samples)
print(f"diversity: real {real_div:.3f}, seed GAN {seed_div:.3f}, dcgan {dc_div:.3f}")
assert dc_samples.shape == (500, 1, 28, 28) and dc_samples.abs().max() <= 1

# %% [markdown]
# After 5 epochs it draws varied digits: diversity 0.698, $D(G(z)) = 0.14$.
# Every digit appears, unevenly (23 % sevens, 1 % ones); `sngan` is more even (5-15 %).
#
# ## 5. Stability: the spread over seeds
# One run proves little. Over `SEEDS`, every $D(G(z))$ must stay strictly between 0 and 1.

# %%
spread = {"seed": [seed_hist.mean("d_fake", last=50)], "dcgan": [dc_hist.mean("d_fake", last=50)]}  # seed 0
for s in SEEDS[1:]:
    for preset in spread:
        spread[preset].append(train(preset, seed=s)[1].mean("d_fake", last=50))
plots.metric_spread(spread, metric="D(G(z)), last 50 steps")
plt.show()
assert all(0 < v < 1 for vs in spread.values() for v in vs)

# %% [markdown]
# At 5 epochs, dcgan diversity spans 0.687-0.699 over seeds 0-2; `seed` collapses to 0.124 for all three.
#
# ## 6. Class-conditional GAN (`cgan`)
# Give both players the label $y$, then ask for any digit. $G(z, y)$ multiplies $z$ by an embedding of $y$.
# $D$ is a projection discriminator (Miyato & Koyama 2018): $D(x, y) = \psi(h(x)) + \langle e_y, h(x) \rangle$,
# with $h(x)$ D's features of $x$ ($64 \cdot 7 \cdot 7$ numbers), $\psi$ a linear "looks real" score, and $e_y$ a
# learned vector per label scoring "looks like a $y$".

# %%
cgan, c_hist = train("cgan")
labels = torch.arange(100) % 10
c_samples = cgan.sample(100, labels=labels, generator=torch.Generator().manual_seed(0))
plots.image_grid(c_samples, nrow=10, title="cgan: one column per digit 0..9")
plt.show()
assert c_samples.shape == (100, 1, 28, 28)

# %% [markdown]
# After 5 epochs, 83 % of its samples read as the requested digit.
#
# ## 7. Explore
# Scrub the saved grids, walk between two noise vectors of a well-trained $G$, pick a class.

# %%
from genedu.widgets import class_picker, grid_scrubber, latent_walk

scrubber = grid_scrubber(dc_hist.grids)
scrubber

# %%
from genedu.reference import has_reference, load_reference, reference_info, sample_reference

use_dcgan = TRAIN_FROM_SCRATCH or not has_reference("gan")  # else the shipped reference GAN (next section)
print("walking in the noise space of", "the dcgan trained above" if use_dcgan else "the shipped reference GAN")
walk = latent_walk(dcgan if use_dcgan else load_reference("gan", device=device), seed_a=0, seed_b=1)
walk

# %%
picker = class_picker(cgan)
picker

# %% [markdown]
# ## A trained one at once: the shipped reference GAN
# Trained on a GPU: residual networks, hinge loss, spectral norm, two learning rates; the raw generator or its
# moving average, whichever scored best. Does it draw every digit? Its FID beside this lesson's GANs reads
# higher on `N_FID` samples than on its record's 10,000: compare the three.

# %%
from genedu.evaluate import evaluate_samples, predict_labels

if has_reference("gan"):  # the record: how it was trained, its scores, which weights ship and why
    reference, info = load_reference("gan", device=device), reference_info("gan")
    print(info["command"], {k: round(info["evaluation"][k], 3) for k in ("n", "fid", "precision", "recall", "class_kl")},
          "weights", info["trained"].get("weights", "ema"), {k: round(v["fid"], 2) for k, v in info.get("weights_scored", {}).items()})
    ref_samples = sample_reference(reference, "gan", 200)
    plots.image_grid(ref_samples[:80], nrow=10, title="the reference GAN, trained by genedu")
    plt.show()
    assert ref_samples.shape == (200, 1, 28, 28) and ref_samples.min() >= -1 and ref_samples.max() <= 1
    classes = torch.bincount(predict_labels(ref_samples), minlength=10)
    print("samples per class (feature classifier):", classes.tolist())
    assert (classes > 0).sum() >= 9  # a trained model draws (nearly) every digit; the collapsed seed GAN draws one

# %%
if has_reference("gan"):  # the reference against this lesson's two GANs, on the same number of samples
    fids = {}
    for name, m in [("reference", reference), ("dcgan (this lesson)", dcgan), ("seed (this lesson)", seed_gan)]:
        x = sample_reference(m, "gan", N_FID) if name == "reference" else m.sample(N_FID, generator=torch.Generator().manual_seed(0))
        fids[name] = evaluate_samples(x.cpu(), with_calibration=False)["fid"]
    print(f"FID on {N_FID} samples: " + ", ".join(f"{k} {v:.1f}" for k, v in fids.items()))
    assert fids["reference"] < min(fids["dcgan (this lesson)"], fids["seed (this lesson)"])  # the trained one is nearest

# %% [markdown]
# ## 8. Strengths and limitations
# - **Sharp**: not trained to average, strokes stay crisp where a VAE blurs.
# - **Unstable**: the losses trade; a winning D stalls $G$.
# - **No likelihood**: only sample statistics judge it (FID, precision/recall, class histogram).
#
# ## Exercises
# 1. Compare `train("sngan")`'s D outputs with dcgan's. *Hint: with the hinge loss D gives scores, not
#    probabilities: compare the gap between them.*
# 2. Does `train("seed", betas=(0.5, 0.999), hidden=512)` still collapse? *Hint: `sample_diversity`; does one
#    change suffice?*
# 3. Make `CollapseMeter(every=200, on="warn")` fire. *Hint: `genedu.fit(GAN.from_preset("seed"), data,
#    epochs=2, callbacks=(...,))`.*
# 4. Show that at $D^*$ the D loss, $-V$, is $2\log 2 - 2\,\mathrm{JS}$. *Hint: KL divergences to $m$; check
#    with `js`, `log_d_star`, `log_1m_d_star`.*
#
# ## Recap
# - Against $D^*$ the game minimises a Jensen-Shannon divergence; at equilibrium $D^* = 1/2$.
# - The minimax G loss saturates when $D$ wins; the non-saturating loss keeps a gradient.
# - That loss follows a mode-seeking reverse KL: GANs drop digits where VAEs blur.
# - Compute the losses from logits with softplus.
# - The MLP GAN collapses onto one digit; a DCGAN draws varied digits; a cGAN draws the one you ask for.
# - Judge a GAN by $D$'s outputs, diversity, class histogram and FID, over seeds.

# %% [markdown]
# ## Checks the tests run (skip this)

# %%
scrubber.slider.value = 0
assert scrubber.step == dc_hist.grids[0][0]
walk.t.value = 1.0
assert walk.current.shape == (1, 1, 28, 28)
picker.digit.value = 7
assert picker.images.shape == (16, 1, 28, 28)
