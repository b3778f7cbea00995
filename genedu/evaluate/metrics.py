"""Sample-quality metrics as pure functions on feature tensors (no model, no data inside).

Every function takes features (N, D) or class probabilities (N, 10) already computed by the
feature classifier (`classifier.py`) and returns plain floats. Computation is in float64.

- FID (Heusel et al. 2017, eq. 6): ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}).
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic kernel k(x, y) = (x.y / d + 1)^3,
  averaged over random subsets.
- Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) || p(y)), here with the MNIST classifier.
- Precision / recall (Kynkaanniemi et al. 2019) with k-NN balls, k = 3.
- Density / coverage (Naeem et al. 2020), k = 5.
- Memorisation: each sample's distance to its nearest training image, against the same distance
  for held-out test images (a real image that was never trained on).
- Sharpness (the one pixel-space measure): the mean squared response of the discrete Laplacian, a
  standard focus / blur measure, as a ratio to the real images' (1 = as sharp as real digits, below 1
  blurred, far above 1 noisy). Classifier features are built to ignore such detail: a blurred digit
  still reads as its class, so precision barely moves; this number does.

The nearest-neighbour metrics never build the whole all-pairs distance matrix: they work on blocks of
`chunk` rows (float32), so 50,000 samples against 50,000 real images need a few hundred MB, not 10 GB.
"""

from __future__ import annotations

import math

import torch

from ..utils import eval_device


def _f64(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().to("cpu", torch.float64)


def sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix via its eigendecomposition."""
    a = _f64(a)
    a = (a + a.T) / 2
    w, v = torch.linalg.eigh(a)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor) -> float:
    """Tr((S1 S2)^{1/2}) for PSD S1, S2, computed stably as Tr((S1^{1/2} S2 S1^{1/2})^{1/2}),
    which has the same eigenvalues as S1 S2 but is symmetric."""
    r1 = sqrtm_psd(s1)
    m = r1 @ _f64(s2) @ r1
    w = torch.linalg.eigvalsh((m + m.T) / 2)
    return float(w.clamp(min=0).sqrt().sum())


def gaussian_stats(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D)."""
    f = _f64(features)
    if len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(f)}")
    mu = f.mean(0)
    c = f - mu
    return mu, c.T @ c / (len(f) - 1)


def frechet_distance(mu1, s1, mu2, s2) -> float:
    """Frechet distance between N(mu1, s1) and N(mu2, s2): the closed form FID evaluates."""
    mu1, mu2, s1, s2 = _f64(mu1), _f64(mu2), _f64(s1), _f64(s2)
    d = float(((mu1 - mu2) ** 2).sum()) + float(torch.trace(s1) + torch.trace(s2)) - 2 * trace_sqrt_product(s1, s2)
    return max(d, 0.0)


def fid(real_features, fake_features) -> float:
    """FID between two feature sets (N, D) and (M, D)."""
    return frechet_distance(*gaussian_stats(real_features), *gaussian_stats(fake_features))


def kid(real_features, fake_features, *, subsets: int = 50, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD^2 with kernel (x.y/d + 1)^3 over random subsets; returns (mean, std over subsets).
    Unbiased: its expectation is 0 when both sets come from one distribution (so it can be negative)."""
    x, y = _f64(real_features), _f64(fake_features)
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError(f"KID needs at least 2 features per set, got {len(x)} and {len(y)}")
    g = torch.Generator().manual_seed(seed)
    vals = []
    for _ in range(subsets):
        a = x[torch.randperm(len(x), generator=g)[:m]]
        b = y[torch.randperm(len(y), generator=g)[:m]]
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        mmd = ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
               + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
        vals.append(float(mmd))
    t = torch.tensor(vals, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(vals) > 1 else 0.0


def inception_score(probs, *, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) from class probabilities (N, C); (mean, std over splits).
    1 when every image gets the same prediction; C when predictions are confident and classes balanced."""
    p = _f64(probs).clamp(min=1e-12)
    scores = []
    for part in torch.chunk(p, splits):
        py = part.mean(0, keepdim=True)
        kl = (part * (part.log() - py.log())).sum(1).mean()
        scores.append(math.exp(float(kl)))
    t = torch.tensor(scores, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if splits > 1 else 0.0


def class_kl(hist, prior, *, eps: float = 1e-6) -> float:
    """KL(hist || prior) in nats between two class histograms (shares)."""
    h, q = _f64(hist), _f64(prior)
    h = (h + eps) / (h + eps).sum()
    q = (q + eps) / (q + eps).sum()
    return float((h * (h / q).log()).sum())


CHUNK = 1024  # rows of a distance block: 1,024 x 50,000 float32 distances take 200 MB


def _blocks(a: torch.Tensor, b: torch.Tensor, chunk: int):
    """Yield (start, distances (chunk, len(b))) for row blocks of a: the all-pairs distance matrix one
    block at a time, so memory grows with chunk x len(b), never len(a) x len(b). The blocks live on
    `eval_device()`."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    dev = eval_device()
    a, b = a.to(dev, torch.float32), b.to(dev, torch.float32)  # float32: faster, precise enough here
    for i in range(0, len(a), chunk):
        yield i, torch.cdist(a[i:i + chunk], b)


def knn_radii(features, k: int, *, chunk: int = CHUNK) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    f = _f64(features)
    if len(f) < k + 1:
        raise ValueError(f"the k-th nearest neighbour (k = {k}) needs at least {k + 1} points, got {len(f)}")
    # +1: the point itself is at distance 0
    return torch.cat([d.kthvalue(k + 1, dim=1).values.cpu() for _, d in _blocks(f, f, chunk)])


def nearest_distances(a: torch.Tensor, b: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """Distance from each row of a to its nearest row of b, chunked to bound memory."""
    return torch.cat([d.min(1).values.cpu() for _, d in _blocks(_f64(a), _f64(b), chunk)])


def precision_recall(real_features, fake_features, *, k: int = 3, real_radii: torch.Tensor | None = None,
                     chunk: int = CHUNK) -> tuple[float, float]:
    """Precision: share of fakes inside some real k-NN ball (fidelity). Recall: share of reals inside
    some fake k-NN ball (diversity). `real_radii`: knn_radii(real_features, k), when already computed.
    Works on blocks of `chunk` fakes, so 50,000 against 50,000 fits in a few hundred MB."""
    r, f = _f64(real_features), _f64(fake_features)
    rr = knn_radii(r, k, chunk=chunk) if real_radii is None else real_radii
    fr = knn_radii(f, k, chunk=chunk)
    dev = eval_device()
    rr, fr = rr.to(dev, torch.float32), fr.to(dev, torch.float32)  # compared with float32 distances
    inside_real = torch.zeros(len(f), dtype=torch.bool, device=dev)  # fake i lies in some real ball
    inside_fake = torch.zeros(len(r), dtype=torch.bool, device=dev)  # real j lies in some fake ball
    for i, d in _blocks(f, r, chunk):                      # d: (chunk, N) fakes against reals
        inside_real[i:i + len(d)] = (d <= rr[None, :]).any(1)
        inside_fake |= (d <= fr[i:i + len(d), None]).any(0)
    return float(inside_real.double().mean()), float(inside_fake.double().mean())


def density_coverage(real_features, fake_features, *, k: int = 5, real_radii: torch.Tensor | None = None,
                     chunk: int = CHUNK) -> tuple[float, float]:
    """Density: mean count of real k-NN balls holding each fake, divided by k (about 1 for real data,
    above 1 when fakes crowd dense regions). Coverage: share of real balls that hold at least one fake.
    `real_radii`: knn_radii(real_features, k), when already computed. Works on blocks of `chunk` fakes."""
    r, f = _f64(real_features), _f64(fake_features)
    rr = knn_radii(r, k, chunk=chunk) if real_radii is None else real_radii
    dev = eval_device()
    rr = rr.to(dev, torch.float32)
    balls_holding = torch.zeros(len(f), dtype=torch.float64, device=dev)  # per fake: how many real balls hold it
    covered = torch.zeros(len(r), dtype=torch.bool, device=dev)           # per real ball: holds some fake
    for i, d in _blocks(f, r, chunk):                          # d: (chunk, N)
        inside = d <= rr[None, :]
        balls_holding[i:i + len(d)] = inside.sum(1).double()
        covered |= inside.any(0)
    return float(balls_holding.mean() / k), float(covered.double().mean())


def memorisation(train_features, fake_features, test_features, *, near_copy_quantile: float = 0.01,
                 test_nn: torch.Tensor | None = None, chunk: int = CHUNK) -> dict:
    """Nearest-training-image distances of samples against those of test images.

    A near-copy is a sample closer to its nearest training image than the `near_copy_quantile`
    quantile (1 %) of test images' nearest-training distances: by construction about 1 % of real
    unseen images fall there, far more means the model copies its training set.
    Returns nn_distance (median over samples), test_nn_distance (median over test images), their
    ratio (about 1 for an honest model, well below 1 for copying) and near_copy_share.
    `test_nn`: the test images' nearest-training distances, when already computed.
    """
    tr, fk, te = _f64(train_features), _f64(fake_features), _f64(test_features)
    d_fake = nearest_distances(fk, tr, chunk)
    d_test = nearest_distances(te, tr, chunk) if test_nn is None else test_nn  # test_nn: the same, computed before
    thresh = torch.quantile(d_test, near_copy_quantile)
    return {
        "nn_distance": float(d_fake.median()),
        "test_nn_distance": float(d_test.median()),
        "nn_ratio": float(d_fake.median() / d_test.median()),
        "near_copy_share": float((d_fake <= thresh).double().mean()),
    }


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def laplacian_energy(images: torch.Tensor) -> torch.Tensor:
    """Per image (N,): the mean over pixels of the squared discrete Laplacian (4 neighbours, edges
    replicated), of images (N, 1, H, W) in [-1, 1]. Large for sharp strokes, small for blurred ones."""
    x = torch.nn.functional.pad(images.float(), (1, 1, 1, 1), mode="replicate")
    return torch.nn.functional.conv2d(x, _LAPLACIAN.to(x.device)).pow(2).flatten(1).mean(1)


def sharpness(images: torch.Tensor, real_images: torch.Tensor | None = None, *, real_energy: float | None = None) -> float:
    """Mean Laplacian energy of `images` divided by that of `real_images` (or a precomputed `real_energy`):
    1 for images as sharp as the real ones, below 1 for blurred ones, far above 1 for noise."""
    if real_energy is None:
        if real_images is None:
            raise ValueError("sharpness needs real_images or real_energy to compare with")
        real_energy = float(laplacian_energy(real_images).mean())
    return float(laplacian_energy(images).mean()) / real_energy
