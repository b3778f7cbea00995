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
# # 00 · MNIST: the data, and why speed matters
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/00_mnist.ipynb)
#
# **In one minute**
# - Every lesson trains generative models on MNIST: 70,000 handwritten digits.
# - We look at what a model must imitate: classes, mean images, pixel values.
# - We see why genedu serves pixels in $[-1, 1]$.
# - We measure how fast two data pipelines feed the same model.

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
# `GENEDU_FAST=1` (set by the tests) shortens the speed test to 40 batches.

# %%
FAST = fast_mode()
SPEED_BATCHES = 40 if FAST else 469  # 469 batches of 128 = one epoch of 60,000 images (the last one holds 96)
print(f"fast mode: {FAST}; speed test over {SPEED_BATCHES} batches")

# %% [markdown]
# ## What MNIST is
# MNIST (LeCun, Cortes and Burges, 1998): 28×28 grey digits by about 500 writers, size-normalised and
# centred. It fits on a laptop, and failures are easy to see: a blurry 8, a GAN that only draws 1s.
#
# `genedu.load_mnist(split)` reads a data folder (an argument, else `$GENEDU_DATA`, else `./data`), filled
# from `$GENEDU_MNIST_SOURCE` (offline) or a download. It checks each file's size and SHA-256.
#
# Splits: `train` (55,000), `val` (the other 5,000), `train_full` (60,000), `test` (10,000).

# %%
train = genedu.load_mnist("train_full")
test = genedu.load_mnist("test")
print(train, test, f"storage: {train.images.dtype}, {train.images.numel() / 1e6:.1f} MB in memory")
assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
assert train.images.dtype == torch.uint8

# %% [markdown]
# ## Browse the digits
# A model must capture each class's variety: slanted and upright 1s, open and closed 4s, barred 7s.

# %%
from genedu.widgets import digit_browser

browser = digit_browser(train)
browser

# %% [markdown]
# ## Class balance
# A good model draws each digit as often as the data has it.

# %%
from genedu import plots

counts = torch.bincount(train.labels, minlength=10)
plots.class_balance(train.labels, title="training images per class")
plt.show()
print("shares:", [f"{s:.3f}" for s in (counts / counts.sum()).tolist()], f"commonest/rarest: {counts.max() / counts.min():.2f}")
assert counts.sum() == 60_000 and counts.min() == 5421 and counts.max() == 6742  # 5s rarest, 1s commonest

# %% [markdown]
# There are about a quarter more 1s than 5s. Lesson 04's class KL measures a model's gap to the test
# set's shares (the *prior*).
#
# ## The mean image of each class
# Averaging a class shows where the ink usually is.

# %%
plots.mean_images(train.images, train.labels)
plt.show()

# %% [markdown]
# The means are blurry: what a model minimising squared error alone would draw (lesson 01).
#
# ## Pixel values, and why $[-1, 1]$
# A raw pixel is a byte: 0 is paper, 255 is ink. genedu serves it as a float $x = \text{byte} / 127.5 - 1$
# (the textbook `Normalize((0.5,), (0.5,))`). Why: generators end in `tanh`, whose range is $(-1, 1)$, and
# diffusion adds noise of variance 1, a scale pixels should share.
#
# Symmetric is not centred: paper becomes $-1$, so the mean pixel is far below 0. But the mean square
# $\mathbb E[x^2]$ (lesson 03's signal power) is close to 1.

# %%
plots.pixel_histogram(train.images[:10_000])
plt.show()
zero_share = (train.images == 0).float().mean().item()
x = train.float(torch.arange(len(train)))  # all 60,000 training digits in [-1, 1], (60000, 1, 28, 28)
pixel_mean, pixel_power = x.mean().item(), x.pow(2).mean().item()
print(f"pixels exactly 0: {zero_share:.1%}; served as {x.dtype} in [{x.min():.0f}, {x.max():.0f}]; "
      f"mean {pixel_mean:.3f}, std {x.std():.3f}, E[x^2] {pixel_power:.3f}")
assert zero_share > 0.75  # MNIST is mostly background
assert x.min() == -1 and x.max() == 1 and x.shape == (60_000, 1, 28, 28)
assert pixel_mean < -0.5  # not centred: most pixels are background at -1
assert 0.8 < pixel_power <= 1  # but on the scale of unit-variance noise
del x

# %% [markdown]
# ## Why speed matters: the textbook pipeline against genedu's
# The course's original notebook loaded MNIST the textbook way:
# ```python
# transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
# loader = DataLoader(datasets.MNIST("./data", train=True, transform=transform), batch_size=128, shuffle=True)
# ```
# Each image of each epoch becomes a PIL image, then a tensor: on a CPU with a small model, *loading*
# costs as much as *learning*. genedu decodes the files once into one uint8 tensor (47 MB); a
# batch is one indexing from a seeded permutation and one multiply.
#
# Below, that notebook's VAE (the `seed` preset) trains on the same images through each pipeline.

# %%
from genedu import speed

original = speed.original_pipeline_speed(max_batches=SPEED_BATCHES)
ours = speed.genedu_pipeline_speed(max_batches=SPEED_BATCHES)  # its time includes reading and checking the files
data_only = speed.data_only_speed(max_batches=SPEED_BATCHES)
ratio = ours["images_per_second"] / original["images_per_second"]
plots.speed_bars({"original DataLoader": original["images_per_second"], "genedu batches": ours["images_per_second"]},
                 title=f"training the seed VAE: {SPEED_BATCHES} batches of 128")
plt.show()
print(f"training: original {original['images_per_second']:,.0f} images/s, genedu {ours['images_per_second']:,.0f} ({ratio:.1f}x)")
print(f"data alone: original {data_only['original']:,.0f} images/s, genedu {data_only['genedu']:,.0f} images/s")
assert original["images"] == ours["images"] == min(SPEED_BATCHES * 128, 60_000)  # a fair race: only the data path differs

# %% [markdown]
# The data path alone is about a hundred times faster, so training time becomes the model's own. On a GPU,
# where genedu keeps the whole dataset, the gap grows.
#
# <details><summary>Where these numbers come from</summary>
# <code>benchmarks/pipeline.py</code>: one full epoch of each on a 2-core CPU, recorded in
# <code>benchmarks/results/pipeline.json</code>.
# </details>
#
# ## Strengths and limitations of MNIST as a testbed
# - **Strengths:** small, labelled, easy to judge by eye.
# - **Limitations:** near-binary, centred, one object: a winner here may lose on faces. Inception FID does
#   not fit it (lesson 04).
#
# ## Exercises
# 1. Find three digits you would misread. What might a model do with them?
#    *Hint: 4 and 9, 1 and 7; a model may draw shapes between two classes.*
# 2. Compare the test set's class means with the training ones. Same distribution?
#    *Hint: `plots.mean_images(test.images, test.labels)`; then the largest absolute difference per class.*
# 3. Re-run the speed test with `batch_size=32` in both `speed` calls. Which pipeline suffers more, and why?
#    *Hint: which costs are paid per image (decoding), which per batch (a loop step, the optimiser)?*
#
# ## Recap
# - MNIST: 70,000 grey 28×28 digits (60,000 train, 10,000 test), verified and kept in memory as bytes.
# - The classes are slightly imbalanced; a good model keeps that.
# - A class's mean image is blurry: what squared error alone would draw.
# - Pixels are served in $[-1, 1]$, the range of `tanh`; the mean pixel is far below 0.
# - In-memory batches let a CPU spend its time on the model, not the loader.
#
# Next: lesson 01, the variational autoencoder.

# %% [markdown]
# ## Checks the tests run (you can skip this)
# The browser, driven as a click would.

# %%
browser.digit.value = 7
assert (train.labels[browser.shown] == 7).all() and len(browser.shown) == 32
