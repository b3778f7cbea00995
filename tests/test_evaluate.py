"""The evaluation suite against references: closed forms, scipy, and the shipped classifier's accuracy."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import genedu
from genedu import evaluate as E


def _rand_psd(d, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sqrtm_matches_scipy(seed):
    a = _rand_psd(16, seed)
    ours = E.sqrtm_psd(a).numpy()
    ref = scipy.linalg.sqrtm(a.numpy()).real
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours @ ours, a.numpy(), atol=1e-9)


def test_frechet_distance_closed_form_against_scipy():
    mu1, mu2 = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    s1, s2 = _rand_psd(8, 3), _rand_psd(8, 4)  # non-commuting covariances
    ref = (float(((mu1 - mu2) ** 2).sum()) + float(torch.trace(s1 + s2))
           - 2 * np.trace(scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real))
    assert E.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)
    # diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(v1) - sqrt(v2))^2
    v1, v2 = torch.rand(8, dtype=torch.float64) + 0.5, torch.rand(8, dtype=torch.float64) + 0.5
    exact = float(((mu1 - mu2) ** 2).sum() + ((v1.sqrt() - v2.sqrt()) ** 2).sum())
    assert E.frechet_distance(mu1, torch.diag(v1), mu2, torch.diag(v2)) == pytest.approx(exact, rel=1e-10)


def test_fid_of_a_set_with_itself_is_zero_and_of_shifted_gaussians_is_the_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20_000, 4, generator=g, dtype=torch.float64)
    assert E.fid(x, x) == pytest.approx(0.0, abs=1e-8)
    y = torch.randn(20_000, 4, generator=g, dtype=torch.float64) + torch.tensor([3.0, 0, 0, 0], dtype=torch.float64)
    assert E.fid(x, y) == pytest.approx(9.0, abs=0.2)  # closed form: 3^2, up to sampling error


def test_kid_is_unbiased_and_detects_a_shift():
    g = torch.Generator().manual_seed(0)
    vals = [E.kid(torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g), subsets=2)[0] for _ in range(16)]
    mean, se = np.mean(vals), np.std(vals) / math.sqrt(len(vals))
    assert abs(mean) < 3 * se + 1e-4   # unbiased: its average over independent draws is 0
    assert min(vals) < 0                # a biased estimator would never go below 0
    shifted = E.kid(torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g) + 1, subsets=2)[0]
    assert shifted > 20 * se


def test_inception_score_limits():
    one = torch.zeros(100, 10)
    one[:, 3] = 1
    assert E.inception_score(one)[0] == pytest.approx(1.0, abs=1e-6)      # one repeated image
    eye = torch.eye(10).repeat(10, 1)
    assert E.inception_score(eye)[0] == pytest.approx(10.0, rel=1e-6)     # confident and balanced


def test_class_kl():
    balanced = torch.full((10,), 0.1)
    assert E.class_kl(balanced, balanced) == pytest.approx(0.0, abs=1e-12)
    collapsed = torch.zeros(10)
    collapsed[1] = 1
    assert E.class_kl(collapsed, balanced) == pytest.approx(math.log(10), rel=1e-3)


def test_precision_recall_density_coverage_of_a_set_with_itself_and_far_away():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1000, 8, generator=g)
    p, r = E.precision_recall(x, x, k=3)
    d, c = E.density_coverage(x, x, k=5)
    assert p == pytest.approx(1.0) and r == pytest.approx(1.0) and c == pytest.approx(1.0)
    assert d > 0.9
    far = x + 100
    assert E.precision_recall(x, far) == (0.0, 0.0)
    assert E.density_coverage(x, far) == (0.0, 0.0)
    # two independent draws of one distribution: high, not 1
    p2, r2 = E.precision_recall(x, torch.randn(1000, 8, generator=g))
    assert 0.6 < p2 < 1 and 0.6 < r2 < 1


def test_memorisation_flags_copies():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(2000, 8, generator=g), torch.randn(500, 8, generator=g)
    copies = E.memorisation(train, train[:300] + 1e-4, test)
    fresh = E.memorisation(train, torch.randn(300, 8, generator=g), test)
    assert copies["near_copy_share"] == 1.0 and copies["nn_ratio"] < 0.01
    assert fresh["near_copy_share"] < 0.05 and 0.7 < fresh["nn_ratio"] < 1.3


def test_sharpness_is_the_laplacian_energy_ratio_and_sees_blur():
    from genedu.evaluate.metrics import laplacian_energy, sharpness

    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0  # one bright pixel: the Laplacian is -4 there and 1 at its 4 neighbours
    assert laplacian_energy(x).item() == pytest.approx((16 + 4) / 25)
    assert laplacian_energy(torch.full((2, 1, 6, 6), 0.3)).tolist() == [0.0, 0.0]  # flat: no edges at all
    real = genedu.load_mnist("test").float(torch.arange(500))
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    blurred = torch.nn.functional.conv2d(real, (k[:, None] * k / 256).view(1, 1, 5, 5), padding=2)
    assert sharpness(real, real) == pytest.approx(1.0)
    assert sharpness(blurred, real) < 0.5 < 5 < sharpness(torch.rand(500, 1, 28, 28) * 2 - 1, real)
    e = laplacian_energy(real).mean().item()
    assert sharpness(blurred, real_energy=e) == pytest.approx(sharpness(blurred, real))
    with pytest.raises(ValueError, match="real_images or real_energy"):
        sharpness(real)


def test_shipped_classifier_reaches_recorded_accuracy():
    info = E.classifier_info()
    assert info["test_accuracy"] >= 0.993
    from genedu.evaluate.classifier import WEIGHTS
    assert WEIGHTS.stat().st_size < 1_000_000
    test = genedu.load_mnist("test")
    pred = E.predict_labels(test.float())
    acc = (pred == test.labels).double().mean().item()
    assert acc == pytest.approx(info["test_accuracy"], abs=1e-4)
    model = E.load_classifier()
    assert not model.training and model.features(test.float(torch.arange(4))).shape == (4, E.FEATURE_DIM)
    hist = E.class_histogram(test.float(torch.arange(1000)))
    assert hist.shape == (10,) and hist.sum().item() == pytest.approx(1.0)


def test_real_test_set_scores():
    f, probs, y = E.real_features("test")
    assert E.inception_score(probs)[0] > 9.7
    hist = torch.bincount(probs.argmax(1), minlength=10).double() / len(y)
    assert E.class_kl(hist, torch.bincount(y, minlength=10).double() / len(y)) < 0.005
    # two random halves of the test set (the file's halves differ: the second comes from other writers)
    idx = torch.randperm(len(f), generator=torch.Generator().manual_seed(0))
    a, b = f[idx[:5000]], f[idx[5000:]]
    mean, std = E.kid(a, b, subsets=10)
    noise_f = E.classifier_outputs(torch.rand(1000, 1, 28, 28) * 2 - 1)[0]
    assert abs(mean) < std < 0.01 * E.kid(a, noise_f, subsets=2)[0]  # near 0 on the scale of noise


def test_evaluate_samples_report_and_bad_inputs():
    test = genedu.load_mnist("test")
    x = test.float(torch.arange(2000))
    rep = E.evaluate_samples(x, labels=test.labels[:2000], sample_seconds=1.0)
    d = rep.as_dict()
    for k in ("fid", "kid", "inception_score", "class_kl", "precision", "recall", "density", "coverage",
              "near_copy_share", "nn_ratio", "conditional_accuracy", "seconds_per_1000"):
        assert k in d
    assert d["conditional_accuracy"] > 0.99 and d["seconds_per_1000"] == pytest.approx(0.5)
    floor, noise = rep.calibration
    assert d["fid"] < 0.2 * noise["fid"] and floor["fid"] < 0.2 * noise["fid"]
    assert noise["precision"] < 0.05 and d["precision"] > 0.6
    # sharpness: real test digits are the yardstick (about 1), training digits the same, noise far above
    assert 0.9 < d["sharpness"] < 1.1 and 0.9 < floor["sharpness"] < 1.1 and noise["sharpness"] > 5
    assert "sharpness" in rep.table()
    assert "train vs test (floor)" in rep.table() and "noise (ceiling)" in rep.table()
    with pytest.raises(ValueError, match="shape"):
        E.evaluate_samples(torch.zeros(10, 3, 28, 28))
    with pytest.raises(ValueError, match="NaN"):
        E.evaluate_samples(torch.full((10, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        E.evaluate_samples(torch.full((10, 1, 28, 28), 255.0))
    with pytest.warns(UserWarning, match="biased"):
        E.evaluate_samples(x[:100], with_calibration=False)
