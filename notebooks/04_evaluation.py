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
# # 04 · How we measure: an offline, honest yardstick for generative models
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genedu-course/genedu/blob/main/notebooks/04_evaluation.ipynb)
#
# **What you will learn**
# - why we judge generators with numbers, not by eye, and why ImageNet-Inception FID misleads on 28x28 digits;
# - the feature classifier genedu ships, and the metrics measured in its feature space:
#   FID, KID, classifier Inception Score, class KL, precision/recall, density/coverage, memorisation;
# - what each metric sees, on constructed sets whose failure we know (blur, mode collapse, copying, noise),
#   and why a pixel-space sharpness measure sits beside the classifier's metrics;
# - the calibration rows (floor and ceiling) that give every number its scale;
# - how many samples FID needs before it can be trusted.

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
FAST = fast_mode()
N = 600 if FAST else 5000               # images per constructed set (the protocol uses 10,000 samples)
FID_COUNTS = [100, 250, 500, 1000] if FAST else [100, 250, 500, 1000, 2000, 5000]
print(f"FAST={FAST}: {N} images per set")

# %% [markdown]
# ## Why numbers, and why not Inception FID
#
# Looking at a grid of 64 samples tells you whether a model works at all, but not whether it is
# better than another one: the eye is drawn to the best digits, cannot see that a class is missing
# in 1 % of samples, and cannot tell a copied training image from a new one. So genedu measures.
#
# The usual yardstick, FID with ImageNet Inception-v3 features, is a poor fit here: the network
# expects 299x299 colour photographs, so 28x28 grey digits are upsampled far outside what it was
# trained on, its 2048 features describe textures and objects that digits do not have, and the
# weights are a download that an offline classroom cannot make. genedu instead trains a small
# MNIST CNN (`genedu evaluate train-classifier`, deterministic, recorded beside the weights) and
# measures everything in its 128-d penultimate layer.

# %%
from genedu import evaluate as E

clf = E.load_classifier()
info = E.classifier_info()
print({k: info[k] for k in ("command", "seed", "epochs", "test_accuracy", "parameters", "torch_version")})
test = genedu.load_mnist("test")
acc = (E.predict_labels(test.float()) == test.labels).double().mean().item()
print(f"test accuracy measured now: {acc:.4f}")
assert acc >= 0.993 and abs(acc - info["test_accuracy"]) < 1e-3

# %% [markdown]
# ## The metrics, as the code computes them (`genedu/evaluate/metrics.py`)
#
# With $\phi(x)\in\mathbb{R}^{128}$ the classifier features, real set $R$ (the 10,000 test images) and
# generated set $G$:
#
# - **FID**: fit a Gaussian to each set, $\mathrm{FID} = \|\mu_R-\mu_G\|^2 + \mathrm{Tr}\big(\Sigma_R+\Sigma_G-2(\Sigma_R\Sigma_G)^{1/2}\big)$.
#   One number for fidelity and diversity together; biased upwards for small sets.
# - **KID**: the unbiased estimate of $\mathrm{MMD}^2$ with kernel $k(x,y)=(x^\top y/d+1)^3$; its
#   expectation is exactly 0 when both sets come from one distribution, at any set size.
# - **Inception Score** (with our classifier): $\exp\,\mathbb{E}_x\,\mathrm{KL}(p(y|x)\,\|\,p(y))$, between 1 and 10:
#   high when each sample is confidently one digit *and* all digits appear.
# - **class KL**: $\mathrm{KL}(\hat p_G(y)\,\|\,p_R(y))$ between the predicted class histogram and the test prior.
# - **precision / recall** ($k=3$): the share of samples inside the $k$-NN ball of some real image
#   (fidelity), and of real images inside the ball of some sample (diversity).
# - **density / coverage** ($k=5$): how many real balls hold each sample (divided by $k$), and the share
#   of real balls that hold at least one sample; robust to outliers.
# - **memorisation**: each sample's distance $d$ to its nearest *training* image, against the same
#   distance for the test images, which no model trains on. `nn_ratio` is the median $d$ of the samples
#   divided by the median $d$ of the test images (about 1 for a model that generalises, well below 1 for
#   one that copies); `near_copy_share` is the share of samples closer than the 1 % quantile of the test
#   images' $d$, so about 0.01 for unseen images by construction, and near 1 for copies.

# %% [markdown]
# ## What each metric sees: constructed sets
#
# We build sets whose failure we know, all of size `N` unless stated:
# real digits the memorisation test has not seen (the 5,000 validation images: they are held out of the
# 55,000-image `train` split that the memorisation test compares with, and that lessons 01 and 03 train on;
# lesson 02's GANs and the feature classifier itself train on all 60,000 `train_full` images, so for them
# these are not unseen, and the test images are the only set nothing trains on),
# the same digits blurred, one digit class only (mode collapse), exact copies of training images,
# and uniform noise.

# %%
import torch.nn.functional as F

val = genedu.load_mnist("val")
g = torch.Generator().manual_seed(0)
real = val.float(torch.randperm(len(val), generator=g)[:N])
k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
kernel = (k[:, None] * k[None, :] / 256).view(1, 1, 5, 5)
blurred = F.conv2d(real, kernel, padding=2).clamp(-1, 1)   # a 5x5 binomial blur
ones = val.float(torch.nonzero(val.labels == 1).flatten())
one_class = ones[torch.randint(len(ones), (N,), generator=g)]  # one class (some images repeat)
train = genedu.load_mnist("train")
copies = train.float(torch.randperm(len(train), generator=g)[:N])
noise = torch.rand(N, 1, 28, 28, generator=g) * 2 - 1
sets = {"real (unseen)": real, "blurred": blurred, "one class": one_class, "copies of train": copies,
        "noise": noise}

fig, axes = plt.subplots(1, len(sets), figsize=(2.2 * len(sets), 2.4))
for ax, (name, x) in zip(axes, sets.items()):
    ax.imshow(torch.cat([torch.cat(list(x[i * 4:(i + 1) * 4, 0]), 1) for i in range(4)], 0), cmap="gray")
    ax.set_title(name, fontsize=9)
    ax.axis("off")
plt.show()

# %%
import warnings

reports = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # below 2,000 samples FID warns; we compare equal-sized sets only
    for name, x in sets.items():
        reports[name] = E.evaluate_samples(x, with_calibration=False, name=name).as_dict()
cols = ["fid", "kid", "inception_score", "class_kl", "precision", "recall", "density", "coverage",
        "sharpness", "near_copy_share", "nn_ratio"]
print(f"{'set':18s}" + "".join(f"{c[:10]:>11s}" for c in cols))
for name, r in reports.items():
    print(f"{name:18s}" + "".join(f"{r[c]:11.3f}" for c in cols))

# %%
r = reports
assert r["real (unseen)"]["fid"] < r["blurred"]["fid"] < r["noise"]["fid"]           # FID sees blur
assert r["real (unseen)"]["fid"] < r["one class"]["fid"]                              # ... and collapse
assert r["one class"]["class_kl"] > 1.5 and r["real (unseen)"]["class_kl"] < 0.05    # class KL sees collapse
assert r["one class"]["recall"] < 0.3 < r["real (unseen)"]["recall"]                  # recall sees collapse
assert r["one class"]["coverage"] < 0.5 * r["real (unseen)"]["coverage"]  # coverage sees collapse
assert r["one class"]["inception_score"] < 2 and r["real (unseen)"]["inception_score"] > 9
assert r["noise"]["precision"] < 0.05 and r["noise"]["density"] < 0.05                # precision sees noise
assert r["noise"]["inception_score"] < 2 and r["noise"]["class_kl"] > 1.5  # IS and class KL see noise (one class)
assert r["noise"]["recall"] < 0.1 and r["noise"]["coverage"] < 0.1         # ... and so do recall and coverage
assert r["copies of train"]["near_copy_share"] > 0.9 > 0.1 > r["real (unseen)"]["near_copy_share"]
assert r["copies of train"]["nn_ratio"] < 0.1 < 0.7 < r["real (unseen)"]["nn_ratio"]
# FID cannot tell copying from generalising: copies score as well as unseen real digits
assert abs(r["copies of train"]["fid"] - r["real (unseen)"]["fid"]) < 0.5 * r["blurred"]["fid"]
# blur: precision keeps most of its value (a blurred 3 still reads as a 3), sharpness does not
print(f"precision: real {r['real (unseen)']['precision']:.2f}, blurred {r['blurred']['precision']:.2f}; "
      f"sharpness: real {r['real (unseen)']['sharpness']:.2f}, blurred {r['blurred']['sharpness']:.2f}, "
      f"noise {r['noise']['sharpness']:.1f}")
assert r["blurred"]["precision"] > 0.5 * r["real (unseen)"]["precision"]
assert r["blurred"]["sharpness"] < 0.5 < 0.8 < r["real (unseen)"]["sharpness"] < 1.25 < 5 < r["noise"]["sharpness"]

# %% [markdown]
# **Precision is blind to blur; sharpness is not.** The classifier's features are made to recognise a
# digit, not to judge its strokes: a blurred 3 is still a 3, so the blurred set keeps most of the real
# digits' precision (the line printed above). A VAE's blurred samples can therefore look "precise". `sharpness` measures in pixels instead: the mean squared response of
# the discrete Laplacian $\nabla^2 x$ (large on sharp strokes, small on soft ones), divided by that of the
# real test digits. Real digits score about 1, the blurred ones well below, noise far above. Read
# precision and sharpness together: high precision with sharpness near 1 is a faithful sample.

# %% [markdown]
# ## Which metric catches which failure
#
# Read from the table above (the asserts check each cell that says "yes"):
#
# | failure | FID / KID | IS | class KL | precision | recall / coverage | sharpness | memorisation |
# |---|---|---|---|---|---|---|---|
# | blur (low fidelity) | yes | a little | no | partly | partly | **yes** (below 1) | no |
# | one class (mode collapse) | yes | yes | yes | no (each digit is fine) | yes | no | no |
# | copies of training images | **no** | no | no | no | no | no | **yes** |
# | noise | yes | yes | yes | yes | yes | yes (far above 1) | no |
#
# No single number is enough: FID rewards a model that copies its training set, precision rewards
# a collapsed one. That is why every genedu report prints them all.

# %% [markdown]
# ## Calibration rows: the floor and the ceiling
#
# A number means little without its scale. Every report carries two rows measured the same way with
# the same sample count: training images against the test set (what a perfect model could reach;
# memorisation rightly calls them copies) and uniform noise (what no model should do worse than).

# %%
rep = E.evaluate_samples(real, name="real (unseen)") if N >= 2000 else None
if rep is None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = E.evaluate_samples(real, name="real (unseen)")
print(rep.table())
floor, ceiling = rep.calibration
assert floor["fid"] < 0.05 * ceiling["fid"] and floor["precision"] > 0.6 > 0.05 > ceiling["precision"]

# %% [markdown]
# ## How many samples does FID need?
#
# FID estimates a covariance of 128 x 128 numbers, so with few samples it is biased upwards:
# the same real images score worse when there are fewer of them. KID is unbiased and so
# stays near 0. Only compare FIDs measured with the same sample count (genedu warns below 2,000).

# %%
test_f = E.real_features("test")[0]
val_f = E.classifier_outputs(val.float())[0]
fids, kids = [], []
for n in FID_COUNTS:
    idx = torch.randperm(len(val_f), generator=torch.Generator().manual_seed(n))[:n]
    fids.append(E.fid(test_f, val_f[idx]))
    kids.append(E.kid(test_f, val_f[idx], subsets=10, subset_size=min(n, 1000))[0])
    print(f"n = {n:5d}: FID {fids[-1]:7.3f}, KID {kids[-1]:+.4f}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(FID_COUNTS, fids, "o-", label="FID (real vs real)")
ax.set_xscale("log")
ax.set_xlabel("number of samples")
ax.set_ylabel("FID")
ax.set_title("the same real digits, scored with fewer samples")
ax.legend()
plt.show()
assert all(a > b for a, b in zip(fids, fids[1:]))  # biased upwards: fewer samples, worse FID
assert max(abs(v) for v in kids) < 0.01 * r["noise"]["kid"]  # KID stays near 0 on the scale of noise

# %% [markdown]
# ## Strengths and limitations of this yardstick, measured
#
# The cell below times one full report and gathers the figures this lesson measured; each line it prints
# is asserted.

# %%
import time

t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    E.evaluate_samples(real, with_calibration=False)
seconds = time.perf_counter() - t0
print(f"one report on {N:,} images: {seconds:.1f} s on {device.type} (offline: no download, no Inception)")
print(f"FID of real digits: {fids[0]:.1f} at {FID_COUNTS[0]} samples, {fids[-1]:.2f} at {FID_COUNTS[-1]:,}")
print(f"copies of training images: FID {r['copies of train']['fid']:.2f} against unseen real digits' "
      f"{r['real (unseen)']['fid']:.2f}; near_copy_share {r['copies of train']['near_copy_share']:.2f}")
print(f"blur: precision {r['blurred']['precision']:.2f} (real {r['real (unseen)']['precision']:.2f}), "
      f"sharpness {r['blurred']['sharpness']:.2f}")
assert fids[0] > 3 * fids[-1] and seconds < 600

# %% [markdown]
# **Strengths.** Offline and quick (the time above, for every metric at once); features made for digits,
# so the numbers track what a reader of digits sees; one failure, one metric: blur, collapse, copying and
# noise each move a different column (the table above); every number comes with its floor and ceiling at
# the same sample count.
#
# **Limitations.**
# - FID depends on the sample count (the two FIDs printed above are the same real digits): compare only
#   at equal counts, and use 10,000 for the protocol's figures.
# - Its numbers are not the literature's: a classifier's features are not Inception's, so an MNIST FID
#   from a paper cannot be set beside these.
# - The classifier sees what separates classes: precision keeps most of its value on blurred digits
#   (printed above), hence the pixel-space `sharpness` beside it; other pixel-level defects it may miss.
# - FID cannot tell copying from generalising (copies score like unseen digits, above); only the
#   memorisation columns can, and only in the classifier's feature space.
# - The classifier trained on all 60,000 training images, as lesson 02's GANs did: for the metrics, only
#   the 10,000 test images are data that no part of the pipeline has seen.

# %% [markdown]
# ## Exercises
# 1. Blur with a wider kernel (7x7, 9x9): which metrics move first?
#    *Hint: the binomial row of width 7 is `[1, 6, 15, 20, 15, 6, 1]` (sum 64), with `padding=3`; build the
#    kernel as above and compare each metric's change relative to its value for the 5x5 blur.*
# 2. Build a set with two classes only. How do class KL, recall and coverage change from one class?
#    *Hint: the indices of ones and sevens, `torch.nonzero((val.labels == 1) | (val.labels == 7)).flatten()`,
#    then draw `N` of them as `one_class` does. Class KL of a two-class histogram is about $\log 5$; why?*
# 3. Mix 10 % noise into real digits: which metric notices, and by how much?
#    *Hint: `torch.cat([real[: int(0.9 * N)], noise[: N - int(0.9 * N)]])`. Which metrics are averages over
#    samples (they move by about a tenth of the way to the noise row) and which are not?*
# 4. Score samples from the models of lessons 01-03 (`E.evaluate_samples(model.sample(N))`) and place
#    them between the floor and the ceiling.
#    *Hint: the quickest trained models are the shipped references, `genedu.reference.load_reference("vae")`
#    (and `"gan"`, `"diffusion"`); use at least 2,000 samples, so FID is comparable with the table's.*
#
# ## Summary
# - genedu measures in the features of its own MNIST classifier (shipped, >= 99.3 % test accuracy): offline and fit for digits.
# - FID/KID see fidelity and diversity together; IS and class KL see class balance; precision and
#   density see fidelity; recall and coverage see diversity; only the memorisation test sees copying.
# - Always read a number against the floor (train vs test) and the ceiling (noise), at the same sample count.
