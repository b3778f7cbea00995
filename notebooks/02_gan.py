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
# # Lesson 02: GANs, from the original notebook's collapsing GAN to a stable one
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/02_gan.ipynb)
#
# **What you will learn**
# - the minimax game, the optimal discriminator and its link to the Jensen-Shannon divergence;
# - why the saturating generator loss gives a vanishing gradient, measured;
# - the original notebook's MLP GAN (the `seed` preset, reproduced exactly) and what it draws after its 5 epochs;
# - a DCGAN, a class-conditional GAN, and how to read D outputs, losses that do not fall, and the spread over seeds.

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

# %%
import tempfile
from pathlib import Path

FAST = fast_mode()  # GENEDU_FAST=1 (the tests): a few hundred steps, enough to run every cell
SEED_BUDGET = dict(steps=300) if FAST else dict(epochs=5)  # the original: 5 epochs of 60,000 images, batch 128
DCGAN_BUDGET = dict(steps=60) if FAST else dict(epochs=5)  # the same images seen as the seed run
SEEDS = [0, 1] if FAST else [0, 1, 2]  # runs for the spread over seeds
SAMPLE_EVERY = 50 if FAST else 234  # steps between fixed-noise grids (234 = half an epoch)
CKPT = Path(tempfile.mkdtemp()) if FAST else Path("checkpoints")  # train_or_load reuses these; fast mode never does
print(f"FAST={FAST}; checkpoints in {CKPT}")

# %% [markdown]
# ## 1. The game
#
# A generator $G$ turns noise $z \sim \mathcal N(0, I)$ into an image; a discriminator $D$ outputs the
# probability that an image is real. Goodfellow et al. (2014, eq. 1) let them play
#
# $$\min_G \max_D \; V(D, G) = \mathbb E_{x \sim p_\text{data}}[\log D(x)] + \mathbb E_{z}[\log(1 - D(G(z)))].$$
#
# **The optimal discriminator.** For a fixed $G$ with sample density $p_g$, maximising the integrand
# $p_\text{data}(x)\log D + p_g(x)\log(1-D)$ pointwise gives
# $D^*(x) = \dfrac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}$.
#
# **The Jensen-Shannon link.** Putting $D^*$ back,
# $V(D^*, G) = -\log 4 + 2\,\mathrm{JS}(p_\text{data} \,\|\, p_g)$, so the generator minimises a
# Jensen-Shannon divergence, which is 0 only when $p_g = p_\text{data}$; there $D^* = 1/2$ everywhere,
# the D loss (two BCE terms) is $2\log 2 = 1.386$ and the non-saturating G loss is $\log 2 = 0.693$.
# Neither loss is "supposed" to fall to 0: each player's loss goes up when the other improves.
#
# **Why the saturating loss stalls.** With $D = \sigma(\ell)$, the minimax generator loss
# $\log(1 - D(G(z)))$ has gradient $-D(G(z))$ with respect to the logit: early in training $D$ rejects
# the fakes ($D(G(z)) \approx 0$) and $G$ gets almost nothing. The non-saturating loss
# $-\log D(G(z))$ has the same fixed point and gradient $-(1 - D(G(z)))$, largest exactly there.
# `genedu.losses.gan_d_loss` and `gan_g_loss` implement these per example ("minimax",
# "nonsaturating", and "hinge" for the spectrally normalised `sngan` preset).

# %%
from genedu import losses, plots

logit = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) = sigmoid(-6) = 0.0025
grads = {k: torch.autograd.grad(losses.gan_g_loss(logit, k).sum(), logit)[0].item()
         for k in ("minimax", "nonsaturating")}
print(grads)
assert abs(grads["minimax"]) < 0.003 and abs(grads["nonsaturating"]) > 0.99
plots.saturation_curves()
plt.show()

# %% [markdown]
# ## 2. The original notebook's GAN, exactly (`seed` preset)
#
# MLP $G$ 20-256-784 (tanh), MLP $D$ 784-256-1 (sigmoid), BCE, Adam 2e-4, batch 128; per batch one D step
# on the detached fake batch, then one G step on the *same* fake batch through the just-updated D.
# The tests check that `GAN.train_step` gives bit-identical weights to the original loop.
# (One difference: genedu drops the last incomplete batch of each epoch, 468 batches instead of 469.)

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
# D wins: $D(x)$ stays well above $D(G(z))$, far from the 1/2 of equilibrium. What does $G$ draw?
# Below, the same fixed noise through training.

# %%
plots.grid_timeline(seed_hist.grids, k=4)
plt.show()
g = torch.Generator().manual_seed(2024)
seed_samples = seed_gan.sample(500, generator=g)
assert seed_samples.shape == (500, 1, 28, 28) and seed_samples.min() >= -1 and seed_samples.max() <= 1
real_div = sample_diversity(test.float(torch.arange(500)))
seed_div = sample_diversity(seed_samples)
print(f"pairwise pixel distance (diversity): real test digits {real_div:.3f}, seed GAN {seed_div:.3f}")
assert seed_div < real_div  # its samples are less varied than real digits

# %% [markdown]
# **Measured for the full budget** (5 epochs, batch 128, this 2-core CPU, `benchmarks/gan_runs.py`):
# the seed GAN ends with $D(x) = 0.79$ and $D(G(z)) = 0.25$ (seed 0, mean of the last 100 steps). Its
# samples are near-identical blobs: pairwise pixel distance 0.124 for seeds 0, 1 and 2 alike, against 0.707
# for real test digits and 0.69-0.70 for the dcgan (1,000 samples each, `benchmarks/results/gan_diversity.json`).
# A quick MLP classifier (96 % test accuracy; a stand-in for the evaluation classifier) reads 100 % of them
# as one class, from step 702 on, for all three seeds (`benchmarks/results/gan_class_hist_quick_classifier.json`):
# total mode collapse. The evaluation suite agrees (10,000 samples against the 10,000 test images, seed 0):
# class histogram 100 % "8", classifier Inception Score 1.00 (max 10), FID 1022, precision 0.0006, recall 0.0;
# the dcgan under the same budget: FID 147, IS 5.25, class KL 0.29, precision 0.58, recall 0.47.
#
# The collapse meter `genedu.models.gan.CollapseMeter(every=N)` is a `fit` callback that logs the class
# histogram of samples through the evaluation classifier (`classes_covered`, `class_entropy`,
# `diversity`) and warns or stops with a message saying what happened (mode collapse, or a
# discriminator that has won).

# %% [markdown]
# ## 3. Saturating against non-saturating, measured
#
# The same seed preset, the same seed, only the generator loss changed to the minimax $\log(1 - D(G(z)))$.

# %%
mm_gan, mm_hist = train("seed", loss="minimax")
for name, h in (("non-saturating", seed_hist), ("minimax", mm_hist)):
    print(f"{name:>15}: last 50 steps D(G(z)) {h.mean('d_fake', last=50):.3f}, "
          f"G gradient norm {h.mean('g_grad_norm', last=50):.3f}")
plots.d_outputs(mm_hist, title="minimax (saturating) G loss: D(x) and D(G(z))")
plt.show()
assert mm_hist.mean("g_grad_norm", last=50) < seed_hist.mean("g_grad_norm", last=50)

# %% [markdown]
# Measured over 5 epochs (seed 0): with the minimax loss $D(G(z))$ falls to 0.025 and $D(x)$ rises to 0.98
# (mean of the last 100 steps): the discriminator has won and G's gradient is small, as the theory says.
# After 400 steps (seeds 0 and 1) the mean G gradient norm of the last 100 steps was 0.16 and 0.97 with the
# minimax loss against 2.6 and 2.7 with the non-saturating one.

# %% [markdown]
# ## 4. DCGAN
#
# Convolutional $G$ (project to 64x7x7, two stride-2 transposed convs, batch norm) and $D$ (two stride-2
# convs, LeakyReLU), the non-saturating loss on logits, Adam(2e-4, beta1 = 0.5): the `dcgan` preset.

# %%
dcgan, dc_hist = train("dcgan")
plots.gan_losses(dc_hist, smooth=10, title="dcgan: D and G losses")
plt.show()
plots.grid_timeline(dc_hist.grids, k=4)
plt.show()
dc_samples = dcgan.sample(500, generator=torch.Generator().manual_seed(2024))
dc_div = sample_diversity(dc_samples)
print(f"diversity: real {real_div:.3f}, seed GAN {seed_div:.3f}, dcgan {dc_div:.3f}")
assert dc_samples.shape == (500, 1, 28, 28) and dc_samples.abs().max() <= 1

# %% [markdown]
# Measured for the full budget (5 epochs, batch 128, seed 0, one thread, 482 s on this busy CPU against 21 s for
# the seed preset): the DCGAN draws varied, digit-shaped samples; $D(x) = 0.86$, $D(G(z)) = 0.14$ at the end;
# diversity 0.698 (real 0.707); all ten classes present, but unevenly (the quick classifier finds 23 % sevens
# and 1 % ones; the hinge + spectral-norm `sngan` is more even, 5-15 % per class).

# %% [markdown]
# ## 5. Stability: the spread over seeds

# %%
spread = {"seed": [], "dcgan": []}
for s in SEEDS:
    for preset in spread:
        m, h = (seed_gan, seed_hist) if (preset, s) == ("seed", 0) else (dcgan, dc_hist) if (preset, s) == ("dcgan", 0) \
            else train(preset, seed=s)
        spread[preset].append(h.mean("d_fake", last=50))
plots.metric_spread(spread, metric="D(G(z)), last 50 steps")
plt.show()
assert all(0 < v < 1 for vs in spread.values() for v in vs)

# %% [markdown]
# ## 6. Class-conditional GAN (`cgan`)
#
# $G(z, y)$ multiplies the noise by a label embedding; $D$ is a projection discriminator,
# $D(x, y) = \psi(h(x)) + \langle e_y, h(x) \rangle$ (Miyato & Koyama 2018).

# %%
cgan, c_hist = train("cgan")
labels = torch.arange(100) % 10
c_samples = cgan.sample(100, labels=labels, generator=torch.Generator().manual_seed(0))
plots.image_grid(c_samples, nrow=10, title="cgan: one column per digit 0..9")
plt.show()
assert c_samples.shape == (100, 1, 28, 28)

# %% [markdown]
# ## 7. Explore
# Scrub through the saved grids, walk between two noise vectors, pick a class.

# %%
from genedu.widgets import class_picker, grid_scrubber, latent_walk

scrubber = grid_scrubber(dc_hist.grids)
scrubber.slider.value = 0
assert scrubber.step == dc_hist.grids[0][0]
scrubber

# %%
walk = latent_walk(dcgan, seed_a=0, seed_b=1)
walk.t.value = 1.0
assert walk.current.shape == (1, 1, 28, 28)
walk

# %%
picker = class_picker(cgan)
picker.digit.value = 7
assert picker.images.shape == (16, 1, 28, 28)
picker

# %% [markdown]
# ## A trained one at once: the shipped reference DCGAN
#
# Training a DCGAN well takes longer than this lesson's budget on a CPU, so genedu ships one
# trained model per family (`genedu/assets/references/`), with the command, budget, seed and evaluation
# figures it was made with. `load_reference("gan")` gives it at once; the command in its record
# retrains it from scratch. Below: its samples, and a check that a trained model draws every digit.

# %%
from genedu.evaluate import predict_labels
from genedu.reference import has_reference, load_reference, reference_info, sample_reference

if has_reference("gan"):
    reference = load_reference("gan", device=device)
    info = reference_info("gan")
    print(info["command"])
    print({k: round(info["evaluation"][k], 3) for k in ("n", "fid", "inception_score", "precision", "recall", "class_kl")})
    ref_samples = sample_reference(reference, "gan", 200)
    plots.image_grid(ref_samples[:80], nrow=10, title="the reference DCGAN, trained by genedu")
    plt.show()
    assert ref_samples.shape == (200, 1, 28, 28) and ref_samples.min() >= -1 and ref_samples.max() <= 1
    classes = torch.bincount(predict_labels(ref_samples), minlength=10)
    print("samples per class (feature classifier):", classes.tolist())
    assert (classes > 0).sum() >= 9  # a trained model draws (nearly) every digit; the collapsed seed GAN draws one
else:
    print("no reference gan in this install")

# %% [markdown]
# ## 8. Strengths and limitations
#
# - **Sharp samples**: a GAN is not trained to average (no squared error), so strokes stay crisp where a
#   VAE blurs.
# - **Instability**: the losses do not fall, they trade; a D that wins (the minimax run above) stalls G,
#   and the original MLP GAN after its 5 epochs draws near-identical blobs. Numbers to watch:
#   $D(x)$, $D(G(z))$, the gradient norms, and the class histogram of samples.
# - **No likelihood**: a GAN defines samples, not a density, so there is no ELBO or NLL to report;
#   it is judged by sample statistics (FID, precision/recall, class histogram) only.
#
# ## Exercises
# 1. Train the `sngan` preset (hinge loss, spectral normalisation) and compare its D outputs with dcgan's.
# 2. Give the seed preset `betas=(0.5, 0.999)` and `hidden=512`: does it still collapse?
# 3. Add `CollapseMeter(every=200, on="warn")` to a `fit` call and make it fire.
# 4. Show that with D fixed at $D^*$ the D loss equals $2\log 2 - 2\,\mathrm{JS}$.
#
# ## Summary
# The original GAN is reproduced exactly and measured: D wins and the samples do not become digits in
# its 5 epochs. The non-saturating loss keeps G's gradient alive; a DCGAN under the same images seen
# draws varied digits; a projection cGAN draws the digit you ask for (83 % of its samples are read as the
# requested class by the quick classifier after 5 epochs; spread over seeds in section 5: dcgan's diversity
# 0.687-0.699 over seeds 0-2, the seed preset's 0.124 for all three).
