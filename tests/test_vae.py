"""VAE family: presets, shapes and ranges, the seed's exactness, training, widgets, checkpoints, errors."""

import pytest
import torch

from genedu import VAE, load_mnist, load_model, save_checkpoint
from genedu.losses import gaussian_kl

PRESETS = ["seed", "mlp", "conv", "cvae"]


@pytest.fixture(scope="module")
def batch():
    d = load_mnist("test")
    return d.float(slice(0, 64)), d.labels[:64]


@pytest.mark.parametrize("preset", PRESETS)
def test_shapes_and_ranges(preset, batch):
    torch.manual_seed(0)
    m = VAE.from_preset(preset)
    x, y = batch
    mu, logvar = m.encode(x, y if m.conditional else None)
    assert mu.shape == logvar.shape == (64, m.config.latent_dim)
    labels = torch.arange(8) % 10 if m.conditional else None
    s = m.sample(8, labels=labels, generator=torch.Generator().manual_seed(0))
    assert s.shape == (8, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    s2 = m.sample(8, labels=labels, generator=torch.Generator().manual_seed(0))
    assert torch.equal(s, s2)
    parts = m.loss_per_example(x, y)
    assert all(v.shape == (64,) for v in parts.values())
    assert (parts["kl"] >= 0).all()


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref)


def test_seed_preset_is_the_original():
    m = VAE.from_preset("seed")
    sizes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert sizes == {"fc1.weight": (400, 784), "fc1.bias": (400,), "fc_mu.weight": (20, 400), "fc_mu.bias": (20,),
                     "fc_logvar.weight": (20, 400), "fc_logvar.bias": (20,), "fc2.weight": (400, 20),
                     "fc2.bias": (400,), "fc3.weight": (784, 400), "fc3.bias": (784,)}
    assert m.config.lr == 1e-3 and m.config.batch_size == 128 and m.config.beta == 1.0
    # the original loss: mse_loss(recon, x, reduction='sum') + KL, recomputed from the same noise
    x = load_mnist("test").float(slice(0, 16))
    torch.manual_seed(3)
    parts = m.loss_per_example(x)
    torch.manual_seed(3)
    mu, logvar = m.encode(x)
    recon = torch.tanh(m.fc3(torch.relu(m.fc2(mu + torch.randn_like(mu) * torch.exp(0.5 * logvar))))).view(-1, 784)
    ref = torch.nn.functional.mse_loss(recon, x.view(-1, 784), reduction="sum") \
        - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    torch.testing.assert_close(parts["loss"].sum(), ref)
    with pytest.raises(ValueError, match="Gaussian density"):
        m.log_px_given_z(torch.zeros(2, 1, 28, 28), torch.zeros(2, 20))


@pytest.mark.parametrize("preset", PRESETS)
def test_training_lowers_loss_on_fixed_batch(preset, batch):
    torch.manual_seed(0)
    m = VAE.from_preset(preset)
    opt = m.configure_optimizers()
    x, y = batch

    def loss():
        torch.manual_seed(1)  # the same eps and binarisation before and after
        with torch.no_grad():
            return m.loss_per_example(x, y)["loss"].mean().item()

    before = loss()
    for _ in range(3):
        out = m.train_step((x, y), opt)
    assert set(out) == {"loss", "recon", "kl"}
    assert loss() < before


def test_bernoulli_decoder_outputs_logits_and_mean_sample():
    torch.manual_seed(0)
    m = VAE.from_preset("mlp")
    z = torch.randn(4, 20)
    logits = m.decoder_output(z)
    torch.testing.assert_close(m.decode(z), 2 * torch.sigmoid(logits) - 1)
    x01 = torch.bernoulli(torch.full((4, 1, 28, 28), 0.3))
    ref = torch.distributions.Bernoulli(logits=logits).log_prob(x01).flatten(1).sum(1)
    torch.testing.assert_close(m.log_px_given_z(x01, z), ref)


def test_cvae_uses_labels(batch):
    torch.manual_seed(0)
    m = VAE.from_preset("cvae")
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    a = m.sample(4, labels=torch.zeros(4, dtype=torch.long), generator=g())
    b = m.sample(4, labels=torch.full((4,), 7), generator=g())
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="class-conditional"):
        m.sample(4)


def test_checkpoint_round_trip(tmp_path, batch):
    torch.manual_seed(0)
    m = VAE.from_preset("conv", latent_dim=4, channels=8)
    m.train_step(batch, m.configure_optimizers())
    path = save_checkpoint(tmp_path / "vae.pt", m)
    m2 = load_model(path)
    assert m2.config == m.config
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(m.sample(3, generator=g()), m2.sample(3, generator=g()))


@pytest.mark.parametrize("bad, match", [
    ({"latent_dim": 0}, "latent_dim must be at least 1"),
    ({"beta": -1.0}, "beta .* must be >= 0"),
    ({"arch": "transformer"}, "arch must be one of"),
    ({"likelihood": "poisson"}, "likelihood must be one of"),
])
def test_bad_settings_give_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        VAE.from_preset("mlp", **bad)


def test_kl_per_dim_and_reconstruct(batch):
    m = VAE.from_preset("mlp", latent_dim=5)
    x, _ = batch
    kl = m.kl_per_dim(x)
    assert kl.shape == (5,) and (kl >= 0).all()
    r = m.reconstruct(x)
    assert r.shape == x.shape and r.min() >= -1 and r.max() <= 1


# ---- widgets, driven headless --------------------------------------------------------------------

def test_latent_sliders_decode_as_they_move():
    from genedu.widgets import latent_sliders, shown_png

    torch.manual_seed(0)
    m = VAE.from_preset("mlp", latent_dim=2)
    w = latent_sliders(m)
    assert len(w.sliders) == 2
    img0, png0 = w.image.clone(), shown_png(w.output)
    w.sliders[0].value = 2.5
    assert not torch.equal(img0, w.image) and shown_png(w.output) != png0
    torch.testing.assert_close(w.image, m.decode(torch.tensor([[2.5, 0.0]])))


def test_interpolation_explorer_follows_the_picked_digits():
    from genedu.widgets import interpolation_explorer, shown_png

    torch.manual_seed(0)
    d = load_mnist("test").subset(slice(0, 50))
    m = VAE.from_preset("mlp")
    w = interpolation_explorer(m, d, frames=5)
    assert w.images.shape == (5, 1, 28, 28)
    first, png = w.images.clone(), shown_png(w.output)
    w.index_b.value = 7
    assert not torch.equal(first, w.images) and shown_png(w.output) != png
    # the ends of the strip decode the two posterior means
    mu, _ = m.encode(d.float([0, 7]))
    torch.testing.assert_close(w.images[[0, -1]], m.decode(mu))


def test_class_picker_drives_the_cvae():
    from genedu.widgets import class_picker

    torch.manual_seed(0)
    m = VAE.from_preset("cvae")
    w = class_picker(m, n=4)
    before = w.images.clone()
    w.digit.value = 3
    assert not torch.equal(before, w.images)
