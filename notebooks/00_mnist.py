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
# Every lesson of this course trains generative models on the same 70,000 handwritten digits. Before
# we generate any, we look at what we are trying to imitate, and at how fast we can feed it to a model.
#
# **What you will learn**
# - what MNIST is, where it comes from and how genedu finds it (online or offline);
# - what the digits look like: per class, on average, and as pixel values;
# - why genedu serves images in $[-1, 1]$;
# - how much of a training epoch the original notebook spent *loading data*, measured, and what an
#   in-memory pipeline changes.

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
# `GENEDU_FAST=1` (set by the tests) shrinks the speed measurement from a full epoch to a few dozen
# batches. Everything else in this lesson is the same in both modes.

# %%
FAST = fast_mode()
SPEED_BATCHES = 40 if FAST else 469  # 469 batches of 128 = one epoch of 60,000 images (the last one holds 96)
print(f"fast mode: {FAST}; speed test over {SPEED_BATCHES} batches")

# %% [markdown]
# ## What MNIST is
#
# MNIST (LeCun, Cortes and Burges, 1998) is a set of 28×28 grey-scale images of handwritten digits:
# 60,000 for training and 10,000 for testing, written by about 500 people (census employees and
# high-school students), size-normalised and centred. It is small enough to train on a laptop CPU and
# rich enough that a model's failures are easy to see: a blurry 8, a GAN that only draws 1s.
#
# **Where genedu finds it.** `genedu.load_mnist(split)` looks in `<root>/MNIST/raw` (the root is an
# argument, else `$GENEDU_DATA`, else `./data`). If the files are missing it takes them from a local
# folder (`$GENEDU_MNIST_SOURCE`, for machines without a network) or lets torchvision download them.
# Every file is checked against its size and SHA-256, so a truncated download is caught, named, and
# never half-written.
#
# genedu's splits: `train` (55,000), `val` (5,000 held out of training, always the same ones),
# `train_full` (all 60,000) and `test` (10,000).

# %%
train = genedu.load_mnist("train_full")
test = genedu.load_mnist("test")
print(train, test)
print("storage:", train.images.dtype, tuple(train.images.shape),
      f"= {train.images.numel() / 1e6:.1f} MB in memory")
assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
assert train.images.dtype == torch.uint8

# %% [markdown]
# ## Browse the digits
# Pick a class and page through its images. Look for the variety a generative model has to capture:
# slanted and upright 1s, open and closed 4s, 7s with and without a bar.

# %%
from genedu.widgets import digit_browser

browser = digit_browser(train)
browser

# %% [markdown]
# ## Class balance
# A generative model should draw each digit about as often as the data has it. The test set's class
# shares are the *prior* the evaluation suite compares samples against (lesson 04).

# %%
from genedu import plots

counts = torch.bincount(train.labels, minlength=10)
plots.class_balance(train.labels, title="training images per class")
plt.show()
shares = counts / counts.sum()
print("shares:", [f"{s:.3f}" for s in shares.tolist()])
print(f"rarest: {shares.argmin().item()} ({shares.min():.1%}), commonest: {shares.argmax().item()} ({shares.max():.1%})")
print(f"the commonest class has {counts.max() / counts.min() - 1:.0%} more images than the rarest")
assert counts.sum() == 60_000 and counts.min() == 5421 and counts.max() == 6742  # 5s rarest, 1s commonest

# %% [markdown]
# Not perfectly balanced: there are about a quarter more 1s than 5s (the share printed above). A model that drew every class equally would be
# slightly *off* the data distribution; our class-KL metric measures exactly that.
#
# ## The mean image of each class
# Averaging all images of a class shows where the ink usually is. Note how blurry these are: the mean is
# what a model that minimises squared error with no latent information would draw. Keep this picture in
# mind for the VAE lesson.

# %%
plots.mean_images(train.images, train.labels)
plt.show()

# %% [markdown]
# ## Pixel values, and why $[-1, 1]$
# The raw pixels are bytes, 0 (paper) to 255 (ink). Most are exactly 0; a few are exactly 255; the rest
# are anti-aliased edges. genedu serves images as floats in $[-1, 1]$:
#
# $$x = \frac{\text{byte}}{127.5} - 1 ,$$
#
# the same as the original notebook's `Normalize((0.5,), (0.5,))` after `ToTensor()`. Two reasons:
# generators end in `tanh`, whose range is $(-1, 1)$; and diffusion adds Gaussian noise of unit variance,
# so pixels of magnitude about 1 are on the noise's scale. "Symmetric range" does not mean "centred":
# MNIST is mostly paper, which becomes $-1$, so the mean pixel is far below 0 (computed below), and
# the mean square $\mathbb E[x^2]$, the signal power that lesson 03 compares with the noise's, is close to 1.

# %%
plots.pixel_histogram(train.images[:10_000])
plt.show()
zero_share = (train.images == 0).float().mean().item()
x = train.float(torch.arange(1024))
print(f"share of pixels exactly 0: {zero_share:.1%}; served range [{x.min():.0f}, {x.max():.0f}], dtype {x.dtype}")
assert zero_share > 0.75  # MNIST is mostly background
assert x.min() == -1 and x.max() == 1 and x.shape == (1024, 1, 28, 28)

# %%
x_all = train.float(torch.arange(len(train)))  # all 60,000 training digits in [-1, 1], (60000, 1, 28, 28)
pixel_mean, pixel_power = x_all.mean().item(), x_all.pow(2).mean().item()
print(f"served range [{x_all.min():.0f}, {x_all.max():.0f}] (width {x_all.max() - x_all.min():.0f}); "
      f"mean pixel {pixel_mean:.3f}; std {x_all.std():.3f}; E[x^2] {pixel_power:.3f}")
assert pixel_mean < -0.5  # not centred: most pixels are background at -1
assert 0.8 < pixel_power <= 1  # but on the scale of unit-variance noise
del x_all

# %% [markdown]
# ## Why speed matters: the original pipeline against genedu's
#
# The original notebook loaded MNIST the textbook way:
# ```python
# transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
# dataset = datasets.MNIST(root="./data", train=True, transform=transform, download=True)
# loader = DataLoader(dataset, batch_size=128, shuffle=True)
# ```
# Every image of every epoch becomes a PIL image, then a tensor, then a normalised tensor, one at a time,
# and the loader stacks 128 of them. On a GPU this hides behind the model; on a laptop CPU, with a model
# as small as the original MLP VAE, *loading* costs as much as *learning*.
#
# genedu decodes the files once into one uint8 tensor (47 MB) and slices each batch from a seeded
# permutation: one indexing operation and one multiply per batch.
#
# We train the same model, the original notebook's VAE (the `seed` preset), for the same number of
# batches through each pipeline. Only the data path differs. (genedu's time includes reading and
# checking the files from disk.)

# %%
from genedu import speed

original = speed.original_pipeline_speed(max_batches=SPEED_BATCHES)
ours = speed.genedu_pipeline_speed(max_batches=SPEED_BATCHES)
data_only = speed.data_only_speed(max_batches=SPEED_BATCHES)
ratio = ours["images_per_second"] / original["images_per_second"]
plots.speed_bars({"original DataLoader": original["images_per_second"], "genedu batches": ours["images_per_second"]},
                 title=f"training the seed VAE: {SPEED_BATCHES} batches of 128")
plt.show()
print(f"training, original pipeline: {original['images_per_second']:8,.0f} images/s")
print(f"training, genedu pipeline:   {ours['images_per_second']:8,.0f} images/s  ({ratio:.1f}x)")
print(f"data alone: original {data_only['original']:,.0f} images/s, genedu {data_only['genedu']:,.0f} images/s")
# a fair race: the same model trained on the same number of images, only the data path differs
assert original["images"] == ours["images"] == min(SPEED_BATCHES * 128, 60_000)

# %% [markdown]
# On this course's reference machine (a 2-core CPU), the benchmark `benchmarks/pipeline.py` measures a
# full epoch of each; its JSON in `benchmarks/results/` records the figures. The data path alone is
# about two orders of magnitude faster, so training time becomes the model's own time. On a GPU the gap
# is larger still, because genedu keeps the whole uint8 dataset on the device.
#
# ## Strengths and limitations of MNIST as a testbed
# - **Strengths:** small (training on a CPU is possible), labelled (we can measure class coverage and
#   conditional accuracy with a classifier), and easy to judge by eye.
# - **Limitations:** near-binary, centred, one object per image: far simpler than natural images. A model
#   that wins here may lose on faces or scenes, and the standard ImageNet-based metrics (Inception FID) do
#   not fit it (lesson 04 explains and replaces them).
#
# ## Exercises
# 1. Use the browser to find three digits you would misread. How might a generative model treat them?
#    *Hint: look at 4 against 9, 1 against 7, 3 against 5; a model trained on all of them learns the
#    ambiguous ones too, and may draw shapes between two classes.*
# 2. Compute the mean image of the *test* set per class and compare it with the training means. Are the
#    two sets drawn from the same distribution?
#    *Hint: `plots.mean_images(test.images, test.labels)`; for a number, the largest absolute difference
#    between the two sets' class means in $[0, 1]$ units, e.g. `(train.images[train.labels == c].float().mean(0)
#    - test.images[test.labels == c].float().mean(0)).abs().max() / 255` for each class `c`.*
# 3. Re-run the speed comparison with `batch_size=32` (`speed.original_pipeline_speed(batch_size=32)`).
#    Which pipeline suffers more from small batches, and why?
#    *Hint: pass the same `batch_size` to `speed.genedu_pipeline_speed`. Split each pipeline's cost into a
#    part paid per image (decoding, normalising) and a part paid per batch (stacking, a Python loop step,
#    the optimiser step): which part grows when batches shrink?*
#
# ## Summary
# MNIST is 70,000 small grey digits, slightly imbalanced, mostly background. genedu finds and verifies it
# offline or online, keeps it in memory as bytes, and serves $[-1, 1]$ batches fast enough that a CPU
# spends its time on the model, not on the loader. Next: lesson 01, the variational autoencoder.

# %% [markdown]
# ## Checks the tests run (you can skip this)
# The widget above, driven the way a click would drive it: it shows only images of the chosen class.

# %%
browser.digit.value = 7
assert (train.labels[browser.shown] == 7).all() and len(browser.shown) == 32
