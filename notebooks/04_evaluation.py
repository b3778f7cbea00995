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
# **In one minute**
# - The eye cannot rank two generators, so we measure them.
# - We measure in the features of a small MNIST classifier genedu ships: offline, made for digits.
# - Sets whose failure we know (blur, one class, copies, noise) show which metric catches which.
# - Every number is read between a floor (real digits) and a ceiling (noise).
# - We measure how many samples FID needs.

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
# `GENEDU_FAST=1` (set by the tests) uses 600 images per set instead of 5,000.

# %%
FAST = fast_mode()
N = 600 if FAST else 5000               # images per constructed set (the protocol uses 10,000 samples)
FID_COUNTS = [100, 250, 500, 1000] if FAST else [100, 250, 500, 1000, 2000, 5000]
print(f"FAST={FAST}: {N} images per set")

# %% [markdown]
# ## Why numbers, and why not Inception FID
# A grid of samples shows whether a model works, not whether it beats another: the eye favours the best
# digits, misses a class absent from 1 % of samples, and cannot spot a copied training image.
#
# The usual FID, in ImageNet Inception-v3 features, fits digits badly: it expects 299×299 colour photos,
# its features describe textures digits lack, and it is a download. genedu measures in the 128-number
# penultimate layer of a small MNIST CNN instead.

# %%
from genedu import evaluate as E

info = E.classifier_info()  # how the shipped weights (E.load_classifier()) were made
test = genedu.load_mnist("test")
acc = (E.predict_labels(test.float()) == test.labels).double().mean().item()
print(f"test accuracy measured now: {acc:.4f}; recorded:",
      {k: info[k] for k in ("command", "seed", "epochs", "test_accuracy", "parameters", "torch_version")})
assert acc >= 0.993 and abs(acc - info["test_accuracy"]) < 1e-3

# %% [markdown]
# ## The metrics (`genedu/evaluate/metrics.py`)
# Let $\phi(x)\in\mathbb{R}^{128}$ be the classifier's features of an image $x$, $R$ the real set (the
# 10,000 test images) and $G$ the generated set; $\mu$ and $\Sigma$ are a set's feature mean and covariance.
#
# - **FID** fits a Gaussian to each set: $\mathrm{FID} = \|\mu_R-\mu_G\|^2 + \mathrm{Tr}\big(\Sigma_R+\Sigma_G-2(\Sigma_R\Sigma_G)^{1/2}\big)$.
#   It sees fidelity and diversity together; biased upwards for small sets.
# - **KID**: the unbiased $\mathrm{MMD}^2$ with kernel $(a^\top b/128+1)^3$ between features $a$, $b$; 0 on
#   average for two sets of one distribution, at any size.
# - **Inception Score** (our classifier): $\exp\,\mathbb{E}_x\,\mathrm{KL}(p(y|x)\,\|\,p(y))$, $y$ the digit class.
#   From 1 to 10: high when each sample is confidently one digit *and* all digits appear.
# - **class KL**: $\mathrm{KL}(\hat p_G(y)\,\|\,p_R(y))$, the predicted class histogram against the test prior.
# - **precision / recall** ($k=3$ nearest neighbours): the share of samples inside some real image's
#   $k$-NN ball (fidelity), and of real images inside some sample's ball (diversity).
# - **density / coverage** ($k=5$): real balls per sample (over $k$), and the share of real balls holding a
#   sample. Robust to outliers.
# - **memorisation**: $d$ is an image's distance to its nearest *training* image. `nn_ratio`, the samples'
#   median $d$ over the test images', is about 1 for a model that generalises, far below for a copier.
#   `near_copy_share`, the share of samples closer than the test images' 1 % quantile of $d$, is about 0.01
#   for new images, near 1 for copies.

# %% [markdown]
# ## What each metric sees: constructed sets
# We build `N`-image sets whose failure we know: real digits the memorisation test has not seen (`val`,
# held out of the `train` split it compares with), the same blurred, one class only (mode collapse),
# copies of training images, and uniform noise.

# %%
import warnings

import torch.nn.functional as F

from genedu import eval_plots, plots

warnings.filterwarnings("ignore", message=r"only \d+ samples")  # FID warns under 2,000; we compare equal sizes only
val, train = genedu.load_mnist("val"), genedu.load_mnist("train")
g = torch.Generator().manual_seed(0)
real = val.float(torch.randperm(len(val), generator=g)[:N])
k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
blurred = F.conv2d(real, torch.outer(k, k).view(1, 1, 5, 5) / 256, padding=2).clamp(-1, 1)  # a 5x5 binomial blur
ones = val.float(torch.nonzero(val.labels == 1).flatten())
one_class = ones[torch.randint(len(ones), (N,), generator=g)]  # one class (some images repeat)
copies = train.float(torch.randperm(len(train), generator=g)[:N])
noise = torch.rand(N, 1, 28, 28, generator=g) * 2 - 1
sets = {"real (unseen)": real, "blurred": blurred, "one class": one_class, "copies of train": copies, "noise": noise}
plots.grids_side_by_side({name: x[:16] for name, x in sets.items()}, nrow=4, size=2.2)
plt.show()

# %%
reports = {name: E.evaluate_samples(x, with_calibration=False, name=name).as_dict() for name, x in sets.items()}
print(eval_plots.metrics_table(reports))

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
assert abs(r["copies of train"]["fid"] - r["real (unseen)"]["fid"]) < 0.5 * r["blurred"]["fid"]  # FID misses copying
print("(precision, sharpness):", {s: (round(r[s]["precision"], 2), round(r[s]["sharpness"], 2)) for s in sets})
assert r["blurred"]["precision"] > 0.5 * r["real (unseen)"]["precision"]  # blur: precision keeps most of its value
assert r["blurred"]["sharpness"] < 0.5 < 0.8 < r["real (unseen)"]["sharpness"] < 1.25 < 5 < r["noise"]["sharpness"]

# %% [markdown]
# **Precision is blind to blur; sharpness is not.** The classifier recognises digits, not strokes. A blurred
# 3 is still a 3, so blurred digits keep most of their precision (printed above).
#
# `sharpness` measures in pixels: the mean squared response of the discrete Laplacian $\nabla^2 x$ (large on
# sharp strokes), divided by that of the test digits. Real digits score about 1, blurred ones below, noise
# far above.
#
# ## Which metric catches which failure
# From the table above (the asserts check each "yes"):
#
# | failure | FID / KID | IS | class KL | precision | recall / coverage | sharpness | memorisation |
# |---|---|---|---|---|---|---|---|
# | blur (low fidelity) | yes | a little | no | partly | partly | **yes** (below 1) | no |
# | one class (mode collapse) | yes | yes | yes | no (each digit is fine) | yes | no | no |
# | copies of training images | **no** | no | no | no | no | no | **yes** |
# | noise | yes | yes | yes | yes | yes | yes (far above 1) | no |
#
# No single number is enough: FID rewards a copier, precision a collapsed model.

# %% [markdown]
# ## Calibration rows: the floor and the ceiling
# A number needs a scale. Every report adds two rows at the same sample count: training images against the
# test set (the floor a perfect model reaches; memorisation rightly calls them copies) and uniform noise
# (the ceiling).

# %%
rep = E.evaluate_samples(real, name="real (unseen)")
print(rep.table())
floor, ceiling = rep.calibration
assert floor["fid"] < 0.05 * ceiling["fid"] and floor["precision"] > 0.6 > 0.05 > ceiling["precision"]

# %% [markdown]
# ## How many samples does FID need?
# FID estimates a 128×128 covariance, so few samples bias it upwards: fewer of the same real images score
# worse. KID is unbiased and stays near 0. Compare FIDs only at equal counts (genedu warns below 2,000).

# %%
test_f = E.real_features("test")[0]
val_f = E.classifier_outputs(val.float())[0]
fids, kids = [], []
for n in FID_COUNTS:
    idx = torch.randperm(len(val_f), generator=torch.Generator().manual_seed(n))[:n]
    fids.append(E.fid(test_f, val_f[idx]))
    kids.append(E.kid(test_f, val_f[idx], subsets=10, subset_size=min(n, 1000))[0])
    print(f"n = {n:5d}: FID {fids[-1]:7.3f}, KID {kids[-1]:+.4f}")
plots.measured_curve(FID_COUNTS, {"FID (real vs real)": fids}, xlabel="number of samples", left_label="FID",
                     title="the same real digits, scored with fewer samples", logx=True)
plt.show()
assert all(a > b for a, b in zip(fids, fids[1:]))  # biased upwards: fewer samples, worse FID
assert max(abs(v) for v in kids) < 0.01 * r["noise"]["kid"]  # KID stays near 0 on the scale of noise

# %% [markdown]
# ## Strengths and limitations, measured
# First, the time of one full report.

# %%
import time

t0 = time.perf_counter()
E.evaluate_samples(real, with_calibration=False)
seconds = time.perf_counter() - t0
print(f"one report on {N:,} images: {seconds:.1f} s on {device.type} (offline: no download, no Inception)")
print(f"FID of real digits: {fids[0]:.1f} at {FID_COUNTS[0]} samples, {fids[-1]:.2f} at {FID_COUNTS[-1]:,}")
assert fids[0] > 3 * fids[-1] and seconds < 600

# %% [markdown]
# **Strengths.** Offline and quick (the time above); each failure moves a different column; every number
# has its floor and ceiling.
#
# **Limitations.**
# - FID depends on the sample count; the protocol's figures use 10,000.
# - The features are not Inception's, so a paper's MNIST FID cannot be set beside these.
# - The classifier may miss pixel-level defects (hence `sharpness`), and sees copying only in feature space.
# - It trained on all 60,000 training images (as lesson 02's GANs did): only the test images are unseen by all.
#
# ## Exercises
# 1. Blur with a wider kernel (7×7, 9×9): which metrics move first?
#    *Hint: the width-7 binomial row is `[1, 6, 15, 20, 15, 6, 1]` (sum 64), `padding=3`; compare with the 5×5.*
# 2. Build a set with two classes only. How do class KL, recall and coverage change?
#    *Hint: `torch.nonzero((val.labels == 1) | (val.labels == 7)).flatten()`, drawn as `one_class` is.
#    Class KL is then about $\log 5$: why?*
# 3. Mix 10 % noise into real digits: which metric notices, and by how much?
#    *Hint: `torch.cat([real[: int(0.9 * N)], noise[: N - int(0.9 * N)]])`. Which metrics are averages over samples?*
# 4. Score samples from lessons 01-03 (`E.evaluate_samples(model.sample(N))`) between the floor and the ceiling.
#    *Hint: `genedu.reference.load_reference("vae")` (or `"gan"`, `"diffusion"`); use at least 2,000 samples.*
#
# ## Recap
# - genedu measures in its own MNIST classifier's features: offline, fit for digits.
# - No single metric is enough; the failure table says which catches what.
# - Precision misses blur, so `sharpness` sits beside it; only memorisation catches copying.
# - Read every number between the floor (train vs test) and the ceiling (noise).
# - FID is biased upwards at small sample counts, KID is not: compare at equal counts.
