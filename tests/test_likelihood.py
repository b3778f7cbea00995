"""ELBO and IWAE bounds in nats: exact cases, ordering, protocol."""

import math

import pytest
import torch

from genedu import VAE, load_mnist
from genedu.evaluate.likelihood import elbo, iwae_nll, log_weights


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = VAE.from_preset("mlp", latent_dim=4)
    d = load_mnist("train").subset(slice(0, 512))
    opt = m.configure_optimizers()
    for x, y in d.batches(128, seed=0):
        m.train_step((x, y), opt)
    return m


def test_iwae_bound_is_at_least_the_elbo(model):
    d = load_mnist("test")
    e = elbo(model, d, n=200, reduce=False)
    lk = -iwae_nll(model, d, k=64, n=200, reduce=False)
    assert e.shape == lk.shape == (200,)
    assert lk.mean() >= e.mean()  # Burda et al. (2016): L_1 <= L_K
    assert -lk.mean() > 0


def test_elbo_is_recon_plus_kl_in_expectation(model):
    """With the same binarisation, -ELBO (k large) is E[recon] + KL, which the training loss estimates."""
    x01 = torch.bernoulli(torch.full((8, 1, 28, 28), 0.2), generator=torch.Generator().manual_seed(0))
    lw = log_weights(model, x01, k=2000, generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(2 * x01 - 1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    z = mu + torch.randn(2000, *mu.shape, generator=torch.Generator().manual_seed(1)) * torch.exp(0.5 * logvar)
    recon = torch.stack([-model.log_px_given_z(x01, zi) for zi in z]).mean(0)
    torch.testing.assert_close(-lw.mean(1), recon + kl, rtol=0.02, atol=0.5)


def test_exact_when_the_posterior_is_the_prior():
    """A decoder that ignores z and an encoder that returns the prior: log w = log p(x) exactly."""

    class Const(torch.nn.Module):
        conditional = False

        def __init__(self):
            super().__init__()
            self.logit = torch.nn.Parameter(torch.zeros(()))

        def encode(self, x, y=None):
            return torch.zeros(len(x), 3), torch.zeros(len(x), 3)

        def log_px_given_z(self, x01, z, y=None):
            return torch.full((len(x01),), -784 * math.log(2.0))

    x01 = torch.ones(4, 1, 28, 28)
    m = Const()
    assert elbo(m, x01) == pytest.approx(-784 * math.log(2), rel=1e-6)
    assert iwae_nll(m, x01, k=10) == pytest.approx(784 * math.log(2), rel=1e-6)


def test_same_seed_same_figure_and_bad_inputs(model):
    d = load_mnist("test")
    assert elbo(model, d, n=100, seed=3) == elbo(model, d, n=100, seed=3)
    with pytest.raises(ValueError, match="binary"):
        elbo(model, d.float(slice(0, 4)))
    with pytest.raises(ValueError, match="k"):
        iwae_nll(model, d, k=0, n=10)
    with pytest.raises(ValueError, match="Gaussian density"):
        elbo(VAE.from_preset("seed"), d, n=10)
