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
    ({"prior_components": -1}, "prior_components must be >= 0"),
    ({"prior_covariance": "spherical"}, "prior_covariance must be one of"),
    ({"hidden2": -5}, "hidden2 must be >= 0"),
    ({"kl_warmup_steps": -1}, "kl_warmup_steps must be >= 0"),
    ({"pixel_layers": -1}, "pixel_layers must be >= 0"),
    ({"pixel_layers": 2, "pixel_channels": 0}, "pixel_channels must be at least 1"),
    ({"pixel_layers": 2}, "needs arch='resconv' and likelihood="),  # the mlp preset's arch
    ({"pixel_layers": 2, "arch": "resconv", "likelihood": "gaussian_sse"}, "needs arch='resconv' and likelihood="),
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


# ---- the learned prior (issue 11) and the new presets ---------------------------------------------

NEW_PRESETS = ["laptop", "reference", "mlp_reference"]


def test_em_recovers_a_known_two_component_mixture():
    from genedu.models.prior import GaussianMixture, fit_gmm

    g = torch.Generator().manual_seed(0)
    true_means = torch.tensor([[-4.0, 1.0, 0.0], [3.0, -2.0, 1.0]])
    n = torch.tensor([1500, 500])  # weights 0.75 / 0.25
    cov_b = torch.tensor([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.0, 0.0, 0.25]])
    a = true_means[0] + 0.5 * torch.randn(int(n[0]), 3, generator=g)
    b = true_means[1] + torch.randn(int(n[1]), 3, generator=g) @ torch.linalg.cholesky(cov_b).T
    x = torch.cat([a, b])[torch.randperm(2000, generator=g)]
    for cov in ("full", "diag"):
        w, m, L, info = fit_gmm(x, 2, iters=200, seed=1, covariance=cov)
        order = m[:, 0].argsort()
        w, m, L = w[order], m[order], L[order]
        torch.testing.assert_close(m, true_means, atol=0.15, rtol=0)
        torch.testing.assert_close(w, torch.tensor([0.75, 0.25]), atol=0.03, rtol=0)
        if cov == "full":
            torch.testing.assert_close(L[1] @ L[1].T, cov_b, atol=0.15, rtol=0)
        assert info["iters"] >= 1 and info["log_likelihood"] < 0
    # deterministic from the seed
    again = fit_gmm(x, 2, iters=200, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(fit_gmm(x, 2, iters=200, seed=1)[:3], again[:3]))
    # the module form samples what it holds
    gm = GaussianMixture(2, 3)
    gm.set(*fit_gmm(x, 2, seed=1)[:3])
    z = gm.sample(4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 3)
    assert gm.log_prob(z).mean() > gm.log_prob(torch.randn(4000, 3) * 6).mean()


@pytest.fixture(scope="module")
def fitted_laptop(small_train):
    torch.manual_seed(0)
    m = VAE.from_preset("laptop", channels=8, hidden=32, latent_dim=4, prior_components=3)
    opt = m.configure_optimizers()
    for batch in small_train.subset(torch.arange(512)).batches(128, seed=0):
        m.train_step(batch, opt)
    info = m.fit_prior(small_train.subset(torch.arange(600)), iters=20)
    assert info["iters"] >= 1 and m.prior_fitted
    return m


def test_mixture_sampling_is_reproducible_and_in_range(fitted_laptop):
    m = fitted_laptop
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = m.sample(16, generator=g(), prior="mixture")
    b = m.sample(16, generator=g(), prior="mixture")
    assert a.shape == (16, 1, 28, 28) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, m.sample(16, generator=g(), prior="normal"))
    z = m.sample_latents(5000, generator=g(), prior="mixture")  # the draws follow the mixture's moments
    w, mu = m.prior.weights, m.prior.means
    torch.testing.assert_close(z.mean(0), (w[:, None] * mu).sum(0), atol=0.1, rtol=0)
    with pytest.raises(ValueError, match="prior must be"):
        m.sample(2, prior="gmm")


def test_mixture_prior_before_fitting_raises(batch):
    m = VAE.from_preset("laptop", channels=8, hidden=32, latent_dim=4)
    assert not m.prior_fitted
    with pytest.raises(ValueError, match="not been fitted"):
        m.sample(2, prior="mixture")
    with pytest.raises(ValueError, match="prior_components=0"):
        VAE.from_preset("conv").sample(2, prior="mixture")
    with pytest.raises(ValueError, match="prior_components=0"):
        VAE.from_preset("mlp").fit_prior(batch[0])


def test_fit_prior_on_a_tensor_is_deterministic(fitted_laptop, batch):
    x, _ = batch
    m = fitted_laptop
    saved = {k: v.clone() for k, v in m.prior.state_dict().items()}
    try:
        m.fit_prior(x, iters=10, seed=4)
        first = {k: v.clone() for k, v in m.prior.state_dict().items()}
        m.fit_prior(x, iters=10, seed=4)
        assert all(torch.equal(first[k], v) for k, v in m.prior.state_dict().items())
    finally:
        m.prior.load_state_dict(saved)
    with pytest.raises(ValueError, match="MNIST split or images"):
        m.fit_prior(torch.zeros(10, 784))


def test_checkpoint_round_trip_keeps_the_fitted_prior(tmp_path, fitted_laptop):
    from genedu.checkpoint import load_checkpoint

    m = fitted_laptop
    path = save_checkpoint(tmp_path / "laptop.pt", m)
    m2 = load_model(path)  # weights_only=True inside
    assert m2.prior_fitted and m2.config == m.config
    for k, v in m.prior.state_dict().items():
        assert torch.equal(v, m2.prior.state_dict()[k])
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(m.sample(4, generator=g(), prior="mixture"), m2.sample(4, generator=g(), prior="mixture"))
    m3 = VAE(m.config)  # load_checkpoint into a fresh model of the same config
    assert not m3.prior_fitted
    load_checkpoint(path, m3)
    assert m3.prior_fitted


def test_old_presets_keep_their_checkpoint_layout(tmp_path):
    """The new config fields stay out of checkpoints while at their defaults, so old ones still match."""
    m = VAE.from_preset("conv")
    d = m.config_dict()
    assert not {"hidden2", "prior_components", "prior_covariance", "kl_warmup_steps"} & set(d)
    assert not any(k.startswith("prior") or k == "train_steps" for k in m.state_dict())
    path = save_checkpoint(tmp_path / "conv.pt", m)
    assert load_model(path).config == m.config


def test_prior_hole_stats(fitted_laptop, small_train):
    st = fitted_laptop.prior_hole_stats(small_train, n=200)
    assert st["kl_gaussian_fit"] >= 0 and 0 <= st["hole_fraction"] <= 1
    assert 0 <= st["hole_fraction_mixture"] <= 1 and 0 <= st["active_dims"] <= 4


@pytest.mark.parametrize("preset", NEW_PRESETS)
def test_new_presets_train_and_bound(preset, small_train):
    from genedu.evaluate.likelihood import elbo, iwae_nll

    torch.manual_seed(0)
    shrink = {"reference": {"channels": 8, "hidden": 64}}.get(preset, {})  # same architecture, CPU-sized
    m = VAE.from_preset(preset, **shrink)
    x, y = next(small_train.batches(32, seed=0))
    opt = m.configure_optimizers()
    out = m.train_step((x, y), opt)
    assert {"loss", "recon", "kl"} <= set(out) and all(torch.isfinite(torch.tensor(v)) for v in out.values())
    if m.config.kl_warmup_steps:
        assert int(m.train_steps) == 1 and 0 < out["kl_weight"] < m.config.beta
    s = m.sample(4, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    x01 = genedu_binarize(small_train.float(slice(0, 16)))
    e = elbo(m, x01, reduce=False)
    lk = -iwae_nll(m, x01, k=16, reduce=False)
    assert lk.mean() >= e.mean()


def test_presets_as_documented():
    p = VAE.PRESETS
    assert p["laptop"].arch == "resconv" and p["laptop"].prior_components > 0 and p["laptop"].likelihood == "bernoulli"
    assert p["reference"].arch == "resconv" and p["reference"].prior_components > 0
    assert p["mlp_reference"].arch == "mlp" and p["mlp_reference"].hidden2 > 0
    m = VAE.from_preset("mlp_reference")
    assert m.fc1.out_features == 512 and m.fc1b.out_features == 256 and m.fc_mu.out_features == 50


def genedu_binarize(x):
    from genedu import binarize

    return binarize(x, generator=torch.Generator().manual_seed(0))


def test_vae_diagram_names_both_loss_terms_and_draws_the_images_given(batch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genedu.plots import vae_diagram

    x = batch[0][0]
    bare, with_images = vae_diagram(), vae_diagram(x, -x)
    texts = " ".join(t.get_text() for t in bare.axes[0].texts)
    for term in ("encoder", "decoder", "reparameterisation", "recon", "kl", "ELBO"):
        assert term in texts
    assert len(bare.axes[0].images) == 0 and len(with_images.axes[0].images) == 2
    shown = with_images.axes[0].images[0].get_array()
    assert torch.allclose(torch.as_tensor(shown.data), x.reshape(28, 28))  # the digit given, not a stand-in
    plt.close("all")


# ---- the PixelCNN decoder head (issue 11: the conv likelihood anchor) -----------------------------------

def _small_pixel(**kw):
    torch.manual_seed(0)
    m = VAE.from_preset("pixel", channels=8, hidden=32, latent_dim=4, pixel_channels=8, pixel_layers=2, **kw)
    for p in m.pixel.out.parameters():  # the head starts at zero: give it a say, as training would
        torch.nn.init.normal_(p, std=0.5)
    return m.eval()


def test_masked_conv_rejects_unknown_mask():
    from genedu.models.vae import MaskedConv2d

    with pytest.raises(ValueError, match="mask must be"):
        MaskedConv2d(1, 4, 3, "C")


def test_pixel_head_is_autoregressive_in_raster_order():
    m = _small_pixel()
    g = torch.Generator().manual_seed(0)
    x = torch.bernoulli(torch.full((2, 1, 28, 28), 0.3), generator=g)
    z = torch.randn(2, 4, generator=g)
    base = m.pixel_logits(x, z)
    for (i, j) in [(0, 0), (10, 5), (27, 27), (13, 0)]:
        flipped = x.clone()
        flipped[:, 0, i, j] = 1 - flipped[:, 0, i, j]
        d = (m.pixel_logits(flipped, z) - base).abs()[:, 0].flatten(1).amax(0)  # (784,)
        k = 28 * i + j
        assert d[:k + 1].max() == 0  # no pixel up to and including k sees pixel k
        if k < 783:
            assert d[k + 1] > 0  # the next pixel does
    # and it depends on z
    assert not torch.allclose(m.pixel_logits(x, z + 1), base)


def test_untrained_pixel_head_is_the_factorised_decoder(batch):
    torch.manual_seed(0)
    m = VAE.from_preset("pixel", channels=8, hidden=32, latent_dim=4, pixel_channels=8, pixel_layers=2)
    x01 = (batch[0][:4] > 0).float()
    z = torch.randn(4, 4)
    torch.testing.assert_close(m.pixel_logits(x01, z), m.decoder_output(z))


def test_drawn_pixels_follow_the_logits_of_the_whole_image():
    """draw_pixels runs the head on a window per pixel: each draw must be the one the whole image's
    teacher-forced logits give for the same uniforms (so the window loses nothing)."""
    m = _small_pixel()
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    x = m.draw_pixels(z, generator=torch.Generator().manual_seed(2))
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(2))
    assert torch.equal(x, (u < torch.sigmoid(m.pixel_logits(x, z))).float())
    assert 0 < x.mean() < 1


def test_pixel_vae_samples_trains_scores_and_reloads(tmp_path, batch):
    from genedu.evaluate.likelihood import iwae_nll

    m = _small_pixel(prior_components=0)
    s = m.sample(2, generator=torch.Generator().manual_seed(0))
    assert s.shape == (2, 1, 28, 28) and set(s.unique().tolist()) <= {-1.0, 1.0}  # binary draws
    assert torch.equal(s, m.sample(2, generator=torch.Generator().manual_seed(0)))
    x = batch[0][:32]
    m.train()
    opt = m.configure_optimizers()
    first = m.train_step((x, None), opt)["recon"]
    for _ in range(15):
        last = m.train_step((x, None), opt)["recon"]
    assert last < first
    m.eval()
    nll = iwae_nll(m, (x[:8] > 0).float(), k=4, batch_size=8)
    assert 0 < nll < 784 * 0.7  # nats, below a coin per pixel
    save_checkpoint(tmp_path / "p.pt", m)
    back = load_model(tmp_path / "p.pt")
    assert back.config.pixel_layers == 2 and back.config.pixel_channels == 8
    z = torch.randn(2, 4)
    torch.testing.assert_close(back.pixel_logits((x[:2] > 0).float(), z), m.pixel_logits((x[:2] > 0).float(), z))
    with pytest.raises(ValueError, match="PixelCNN decoder head"):
        VAE.from_preset("laptop").draw_pixels(torch.randn(1, 16))
