"""The DDPM's variational bound (genedu.evaluate.likelihood.diffusion_bound) against hand-computed values."""

import math

import pytest
import torch

from genedu.evaluate.likelihood import _discretized_gaussian_nll, diffusion_bound
from genedu.models.diffusion import Diffusion


def _digit(seed=0):
    """One 8-bit image in [-1, 1]: mostly background (-1), some ink, some greys."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 256, (1, 1, 28, 28), generator=g)
    k[..., :10, :] = 0  # background rows
    k[..., -3:, :] = 255  # saturated ink
    return k.double() / 255 * 2 - 1


class Oracle(Diffusion):
    """A DDPM whose noise prediction is exact for one known image: x0_pred(x_t, t) = x0 for every t."""

    def __init__(self, x0):
        super().__init__(Diffusion.PRESETS["ddpm_uncond"])
        self.x0 = x0.float()

    def eps_pred(self, x_t, t=None, y=None):
        ab = self.schedule._at(self.schedule.alpha_bar, t)
        return (x_t - ab.sqrt() * self.x0) / (1 - ab).sqrt()


def test_an_exact_denoiser_leaves_only_the_prior_and_the_decoder_terms():
    x0 = _digit()
    model = Oracle(x0)
    r = diffusion_bound(model, x0.repeat(4, 1, 1, 1), n=4, t_samples=3, batch_size=2)
    s = model.schedule
    a_T = s.alpha_bar.double()[-1]
    prior = 0.5 * (a_T * x0.pow(2) + (1 - a_T) - 1 - torch.log(1 - a_T)).sum()
    # the decoder: N(x0, beta_tilde_1) over each pixel's bin of width 2/255; the end bins are half-infinite
    var = s.posterior_var.double()[1]
    sd, half = var.sqrt(), 1 / 255
    phi = lambda z: 0.5 * (1 + torch.erf(z / math.sqrt(2)))  # noqa: E731
    inner = (x0 > -1 + 1e-3) & (x0 < 1 - 1e-3)
    p = torch.where(inner, phi(torch.tensor(half) / sd) - phi(-torch.tensor(half) / sd), phi(torch.tensor(half) / sd))
    decoder = -p.log().sum()
    assert r["prior"] == pytest.approx(float(prior), rel=1e-6)
    assert r["decoder"] == pytest.approx(float(decoder), rel=1e-3)
    # float32 rounding of x0_pred is all that is left of the diffusion terms: tiny against the decoder's
    assert 0 <= r["diffusion"] < 1e-3 * r["decoder"]
    assert r["bits_per_dim"] == pytest.approx(r["nats"] / (784 * math.log(2)))
    assert r["n"] == 4 and r["t_samples"] == 3


def test_a_wrong_denoiser_pays_in_every_diffusion_term():
    x0 = _digit()
    good = diffusion_bound(Oracle(x0), x0, n=1, t_samples=4)
    bad = diffusion_bound(Oracle(-x0), x0, n=1, t_samples=4)  # predicts the negative image
    assert bad["diffusion"] > 100 * max(good["diffusion"], 1e-3) and bad["decoder"] > good["decoder"]
    assert bad["prior"] == pytest.approx(good["prior"])  # the prior term does not involve the network


def test_the_bound_is_reproducible_and_its_estimate_has_an_error_bar():
    torch.manual_seed(0)
    model = Diffusion.from_preset("laptop")
    x = torch.stack([_digit(i)[0] for i in range(6)]).float()
    a = diffusion_bound(model, x, n=6, t_samples=2, seed=3)
    b = diffusion_bound(model, x, n=6, t_samples=2, seed=3)
    assert a == b and math.isfinite(a["bits_per_dim"]) and a["bits_per_dim_stderr"] > 0


def test_discretised_decoder_sums_to_one_over_the_grid():
    mean, var = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.02, dtype=torch.float64)
    grid = torch.arange(256, dtype=torch.float64) / 255 * 2 - 1
    probs = torch.stack([(-_discretized_gaussian_nll(v.view(1, 1, 1, 1), mean, var)).exp() for v in grid])
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-6)


def test_bad_input_is_refused():
    x = _digit().float()
    with pytest.raises(ValueError, match="seed preset"):
        diffusion_bound(Diffusion.from_preset("seed"), x)
    with pytest.raises(ValueError, match="at least 1"):
        diffusion_bound(Diffusion.from_preset("laptop"), x, t_samples=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        diffusion_bound(Diffusion.from_preset("laptop"), x * 255)
