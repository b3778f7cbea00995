"""GAN family: the seed preset is the original notebook's GAN, the steps update only their own
network, the losses equal hand-computed values, the collapse meter catches collapse, the lesson-02
widgets work headless, checkpoints round-trip."""

import math
import warnings

import pytest
import torch
from torch import nn, optim

import genedu
from genedu import losses
from genedu.models.gan import GAN, CollapseMeter, histogram_entropy, sample_diversity

PRESETS = sorted(GAN.PRESETS)


def _labels(model, n):
    return torch.arange(n) % 10 if model.conditional else None


# ---- shapes and ranges --------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS)
def test_shapes_ranges_and_reported_numbers(preset, small_train):
    torch.manual_seed(0)
    model = GAN.from_preset(preset)
    x, y = next(small_train.batches(32, seed=0))
    out = model.train_step((x, y), model.configure_optimizers())
    assert set(out) >= {"loss", "d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"}
    assert out["loss"] == out["g_loss"] and all(math.isfinite(v) for v in out.values())
    assert out["d_grad_norm"] > 0 and out["g_grad_norm"] > 0
    if model.config.loss != "hinge":  # reported as probabilities
        assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1
    model.eval()
    s = model.sample(6, labels=_labels(model, 6), generator=torch.Generator().manual_seed(0))
    assert s.shape == (6, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    z = torch.randn(3, model.config.latent_dim)
    assert model.generate(z, _labels(model, 3)).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="z must have shape"):
        model.generate(torch.randn(3, model.config.latent_dim + 1), _labels(model, 3))


def test_config_errors_teach():
    with pytest.raises(ValueError, match="hinge loss needs raw scores"):
        GAN.from_preset("seed", loss="hinge")
    with pytest.raises(ValueError, match="loss must be one of"):
        GAN.from_preset("seed", loss="wasserstein")
    with pytest.raises(ValueError, match="arch must be"):
        GAN.from_preset("seed", arch="transformer")


# ---- the seed preset is the original notebook's GAN --------------------------------------------

class OriginalGenerator(nn.Module):  # copied from the original notebook
    def __init__(self, latent_dim=20):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class OriginalDiscriminator(nn.Module):  # copied from the original notebook
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


def test_seed_preset_has_the_original_sizes():
    model = GAN.from_preset("seed")
    G, D = OriginalGenerator(), OriginalDiscriminator()
    assert {k: v.shape for k, v in model.G.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}
    assert {k: v.shape for k, v in model.D.state_dict().items()} == {k: v.shape for k, v in D.state_dict().items()}
    assert [type(m) for m in model.G.net] == [type(m) for m in G.net]
    assert [type(m) for m in model.D.net] == [type(m) for m in D.net]
    assert model.D.net[1].negative_slope == 0.2
    opts = model.configure_optimizers()
    for o in opts.values():
        assert o.defaults["lr"] == 2e-4 and o.defaults["betas"] == (0.9, 0.999)
    assert model.config.batch_size == 128


def test_seed_preset_reproduces_the_original_training_exactly(small_train):
    """The original's loop (D on the detached fake, then G on the same fake through the updated D)
    and genedu's train_step give bit-identical losses and weights from the same seed and batches."""
    torch.manual_seed(0)
    G, D = OriginalGenerator(), OriginalDiscriminator()
    torch.manual_seed(0)
    model = GAN.from_preset("seed")
    opt_G, opt_D = optim.Adam(G.parameters(), lr=2e-4), optim.Adam(D.parameters(), lr=2e-4)
    criterion = nn.BCELoss()
    batches = list(small_train.batches(128, seed=0))[:4]
    torch.manual_seed(1)
    reference = []
    for x, _ in batches:  # the original notebook's loop, verbatim but for the device
        x = x.view(-1, 784)
        bs = x.size(0)
        z = torch.randn(bs, 20)
        fake = G(z)
        real_loss = criterion(D(x), torch.ones(bs, 1))
        fake_loss = criterion(D(fake.detach()), torch.zeros(bs, 1))
        d_loss = real_loss + fake_loss
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        g_loss = criterion(D(fake), torch.ones(bs, 1))
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        reference.append((d_loss.item(), g_loss.item()))
    opts = model.configure_optimizers()
    torch.manual_seed(1)
    ours = [(o["d_loss"], o["g_loss"]) for o in (model.train_step(b, opts) for b in batches)]
    assert ours == reference
    for a, b in zip([*G.parameters(), *D.parameters()], [*model.G.parameters(), *model.D.parameters()]):
        assert torch.equal(a, b)


# ---- each step changes only its own network ----------------------------------------------------

def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("preset", ["seed", "dcgan"])
def test_d_and_g_steps_change_only_their_own_parameters(preset, small_train):
    torch.manual_seed(0)
    model = GAN.from_preset(preset)
    opts = model.configure_optimizers()
    ids = lambda o: {id(p) for g in o.param_groups for p in g["params"]}  # noqa: E731
    assert ids(opts["d"]) == {id(p) for p in model.D.parameters()}
    assert ids(opts["g"]) == {id(p) for p in model.G.parameters()}
    batch = next(small_train.batches(32, seed=0))
    # the G optimiser frozen (lr 0): only D may move
    g0, d0 = _params(model.G), _params(model.D)
    model.train_step(batch, {"d": opts["d"], "g": optim.SGD(model.G.parameters(), lr=0.0)})
    assert _same(_params(model.G), g0) and not _same(_params(model.D), d0)
    # the D optimiser frozen: only G may move
    g0, d0 = _params(model.G), _params(model.D)
    model.train_step(batch, {"d": optim.SGD(model.D.parameters(), lr=0.0), "g": opts["g"]})
    assert _same(_params(model.D), d0) and not _same(_params(model.G), g0)
    assert all(p.requires_grad for p in model.D.parameters())  # D is trainable again after the G step


# ---- losses against hand-computed values -------------------------------------------------------

def test_gan_losses_equal_hand_computed_values():
    p_real, p_fake = torch.tensor([0.8, 0.5]), torch.tensor([0.3, 0.5])
    lr, lf = losses.gan_d_loss(p_real, p_fake, "minimax", from_probs=True)
    assert torch.allclose(lr, torch.tensor([-math.log(0.8), math.log(2)]))
    assert torch.allclose(lf, torch.tensor([-math.log(0.7), math.log(2)]))
    assert torch.allclose(losses.gan_g_loss(p_fake, "minimax", from_probs=True),
                          torch.tensor([math.log(0.7), -math.log(2)]))
    assert torch.allclose(losses.gan_g_loss(p_fake, "nonsaturating", from_probs=True),
                          torch.tensor([-math.log(0.3), math.log(2)]))
    # the same on logits: logit(0.8) = log 4, logit(0.3) = log(3/7)
    r, f = torch.tensor([math.log(4.0)]), torch.tensor([math.log(3 / 7)])
    lr, lf = losses.gan_d_loss(r, f, "nonsaturating")
    assert torch.allclose(lr, torch.tensor([-math.log(0.8)])) and torch.allclose(lf, torch.tensor([-math.log(0.7)]))
    assert torch.allclose(losses.gan_g_loss(f, "minimax"), torch.tensor([math.log(0.7)]))
    assert torch.allclose(losses.gan_g_loss(f, "nonsaturating"), torch.tensor([-math.log(0.3)]))
    # hinge: relu(1 - 0.5) + relu(1 + (-0.2)) for D; -(-0.2) for G; (B, 1) inputs give (B,)
    lr, lf = losses.gan_d_loss(torch.tensor([[0.5], [2.0]]), torch.tensor([[-0.2], [-3.0]]), "hinge")
    assert torch.allclose(lr, torch.tensor([0.5, 0.0])) and torch.allclose(lf, torch.tensor([0.8, 0.0]))
    assert torch.allclose(losses.gan_g_loss(torch.tensor([-0.2]), "hinge"), torch.tensor([0.2]))
    with pytest.raises(ValueError, match="raw scores"):
        losses.gan_g_loss(p_fake, "hinge", from_probs=True)


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    logit = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) = sigmoid(-6) = 0.0025: D rejects the fake
    (g_mm,) = torch.autograd.grad(losses.gan_g_loss(logit, "minimax").sum(), logit)
    (g_ns,) = torch.autograd.grad(losses.gan_g_loss(logit, "nonsaturating").sum(), logit)
    d = torch.sigmoid(torch.tensor(-6.0))
    assert torch.allclose(g_mm, -d) and torch.allclose(g_ns, -(1 - d))  # -D and -(1 - D)
    assert abs(g_mm) < 0.003 < 0.99 < abs(g_ns)


# ---- the collapse meter ------------------------------------------------------------------------

class ImageBank(nn.Module):
    """A stand-in 'generator' that returns given images (all the same one: total collapse)."""

    family, conditional = "gan", False

    def __init__(self, images):
        super().__init__()
        self.images = images
        self.w = nn.Parameter(torch.zeros(1))
        self.config = GAN.PRESETS["seed"]

    def sample(self, n, *, labels=None, generator=None):
        idx = torch.randint(len(self.images), (n,), generator=generator)
        return self.images[idx]


def test_diversity_and_entropy_figures():
    assert histogram_entropy(torch.full((10,), 0.1)) == pytest.approx(math.log2(10))
    assert histogram_entropy(torch.tensor([1.0] + [0.0] * 9)) == 0.0
    one = torch.rand(1, 1, 28, 28).repeat(20, 1, 1, 1)
    assert sample_diversity(one) == pytest.approx(0.0, abs=1e-3)


def test_collapse_meter_flags_a_generator_that_outputs_one_image(train_data):
    one_image = ImageBank(train_data.float(torch.tensor([0])))  # every sample is the same digit
    varied = ImageBank(train_data.float(torch.arange(1000)))
    classify = lambda imgs: torch.zeros(len(imgs), dtype=torch.long)  # noqa: E731
    meter = CollapseMeter(every=1, n=200, on="log", classify=classify)
    msgs = meter.diagnose(meter.measure(one_image))
    assert any("nearly identical" in m for m in msgs)
    assert not any("nearly identical" in m for m in meter.diagnose(meter.measure(varied)))


def test_collapse_meter_with_the_evaluation_classifier(train_data):
    evaluate = pytest.importorskip("genedu.evaluate")
    if not hasattr(evaluate, "predict_labels"):
        pytest.skip("genedu.evaluate has no predict_labels yet")

    one_image = ImageBank(train_data.float(torch.tensor([0])))
    varied = ImageBank(train_data.float(torch.arange(1000)))
    meter = CollapseMeter(every=1, n=300, on="log")
    fig = meter.measure(one_image)
    digit = int(train_data.labels[0])
    assert fig["classes_covered"] == 1 and fig[f"class_share_{digit}"] == 1.0 and fig["class_entropy"] == 0.0
    assert any(m.startswith("mode collapse: samples cover only 1 of 10") for m in meter.diagnose(fig))
    fig = meter.measure(varied)
    assert fig["classes_covered"] == 10 and fig["class_entropy"] > 3.2 and fig["diversity"] > 0.6
    assert meter.diagnose(fig) == []


def test_collapse_meter_as_fit_callback_logs_warns_and_raises(small_train):
    classify = lambda imgs: torch.zeros(len(imgs), dtype=torch.long)  # noqa: E731  (says: all one class)
    torch.manual_seed(0)
    model = GAN.from_preset("seed")
    meter = CollapseMeter(every=2, n=50, on="warn", classify=classify)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = genedu.fit(model, small_train, steps=4, batch_size=64, device="cpu", progress=False, callbacks=(meter,))
    assert [s for s, _ in meter.events if "cover only 1 of 10" in _] == [2, 4]
    assert any("cover only 1 of 10" in str(w.message) for w in caught)
    col = h["classes_covered"]
    assert len(col) == 4 and math.isnan(col[0]) and col[1] == 1.0 and col[3] == 1.0
    assert h["class_share_0"][3] == 1.0 and len(meter.histograms) == 2
    with pytest.raises(genedu.TrainingDiverged, match="step 2: mode collapse"):
        genedu.fit(GAN.from_preset("seed"), small_train, steps=4, batch_size=64, device="cpu", progress=False,
                   callbacks=(CollapseMeter(every=2, n=50, on="raise", classify=classify),))


def test_collapse_meter_says_when_the_discriminator_has_won():
    h = genedu.History()
    for s in range(10):
        h.log({"step": s + 1, "d_real": 0.999, "d_fake": 0.001})
    meter = CollapseMeter(every=5, n=10)
    figures = {"classes_covered": 10.0, "class_entropy": 3.3, "diversity": 0.4,
               **{f"class_share_{k}": 0.1 for k in range(10)}}
    msgs = meter.diagnose(figures, h)
    assert len(msgs) == 1 and msgs[0].startswith("the discriminator has won")
    assert meter.diagnose(figures, h, probabilities=False) == []  # hinge scores are not probabilities


# ---- checkpoint round trip ---------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["seed", "cgan"])
def test_checkpoint_round_trip_and_resume(preset, small_train, tmp_path):
    path = tmp_path / "gan.pt"

    def seeded():
        torch.manual_seed(0)  # the same initial weights for each run
        return GAN.from_preset(preset)

    straight = genedu.fit(seeded(), small_train, steps=6, batch_size=64, device="cpu",
                          progress=False, seed=3)
    genedu.fit(seeded(), small_train, steps=3, batch_size=64, device="cpu", progress=False,
               seed=3, checkpoint=path)
    resumed_model = seeded()
    resumed = genedu.fit(resumed_model, small_train, steps=6, batch_size=64, device="cpu", progress=False,
                         seed=3, checkpoint=path, resume=True)
    assert resumed["d_loss"] == straight["d_loss"] and resumed["g_loss"] == straight["g_loss"]
    loaded = genedu.load_model(path)
    assert isinstance(loaded, GAN) and loaded.config == resumed_model.config
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    labels = _labels(loaded, 8)
    assert torch.equal(loaded.sample(8, labels=labels, generator=g()),
                       resumed_model.eval().sample(8, labels=labels, generator=g()))


# ---- lesson-02 widgets and plots, driven headless ----------------------------------------------

def test_interpolate_latents_ends_and_norms():
    from genedu.models.gan import interpolate_latents

    g = torch.Generator().manual_seed(0)
    za, zb = torch.randn(64, generator=g), torch.randn(64, generator=g)
    for spherical in (True, False):
        path = interpolate_latents(za, zb, torch.linspace(0, 1, 5), spherical=spherical)
        assert path.shape == (5, 64)
        assert torch.allclose(path[0], za, atol=1e-5) and torch.allclose(path[-1], zb, atol=1e-5)
    mid_s = interpolate_latents(za, zb, 0.5).norm()
    mid_l = interpolate_latents(za, zb, 0.5, spherical=False).norm()
    assert mid_l < 0.85 * mid_s  # the straight line cuts through the low-norm middle; slerp does not
    assert abs(mid_s - (za.norm() + zb.norm()) / 2) < 0.1 * za.norm()


def test_grid_scrubber_latent_walk_and_class_picker_headless(small_train):
    from genedu.widgets import class_picker, grid_scrubber, latent_walk, shown_png

    torch.manual_seed(0)
    model = GAN.from_preset("seed")
    h = genedu.fit(model, small_train, steps=4, batch_size=64, device="cpu", progress=False, sample_every=2, n_grid=16)
    box = grid_scrubber(h.grids)
    assert box.step == 4 and box.slider.max == len(h.grids) - 1 == 2
    png = shown_png(box.output)
    box.slider.value = 0
    assert box.step == 0 and shown_png(box.output) != png and len(box.output.outputs) == 1

    walk = latent_walk(model, frames=5)
    at_half = walk.current.clone()
    walk.t.value = 0.0  # t = 0 shows G(z_a)
    za = torch.randn(model.config.latent_dim, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(walk.current, model.generate(za[None]), atol=1e-5)
    assert not torch.allclose(walk.current, at_half)
    png = shown_png(walk.output)
    walk.seed_a.value = 7
    assert shown_png(walk.output) != png

    with pytest.raises(ValueError, match="class-conditional"):
        class_picker(model)
    cgan = GAN.from_preset("cgan").eval()
    picker = class_picker(cgan, n=4)
    first = picker.images.clone()
    picker.digit.value = 3
    assert picker.images.shape == (4, 1, 28, 28) and not torch.equal(picker.images, first)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(picker.images, cgan.sample(4, labels=torch.full((4,), 3), generator=g))


def test_lesson_02_plots_return_figures(small_train):
    import matplotlib.pyplot as plt

    from genedu import plots

    h = genedu.fit(GAN.from_preset("seed"), small_train, steps=30, batch_size=64, device="cpu",
                   progress=False, sample_every=10, n_grid=16)
    figs = [plots.gan_losses(h), plots.d_outputs(h), plots.saturation_curves(), plots.grid_timeline(h.grids, k=3),
            plots.class_histograms({"a": torch.full((10,), 0.1), "b": torch.eye(10)[3]}),
            plots.class_histogram_over_time([(10, torch.full((10,), 0.1)), (20, torch.eye(10)[3])]),
            plots.metric_spread({"seed": [1.0, 2.0], "dcgan": [0.5, 0.6]}, metric="FID")]
    assert all(isinstance(f, plt.Figure) for f in figs)
    assert len(figs[3].axes) == 3
    plt.close("all")


# ---- stabilisers: R1, TTUR, d_steps; the laptop and reference presets --------------------------

class LinearD(nn.Module):
    """D(x) = w . x: its input gradient is w for every image, so ||grad_x D(x)||^2 = ||w||^2 exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x, y=None):
        return (x.flatten(1) * self.w).sum(1, keepdim=True)


def test_r1_penalty_equals_the_hand_computed_value():
    torch.manual_seed(0)
    w = torch.randn(784)
    D = LinearD(w)
    x = torch.randn(5, 1, 28, 28, requires_grad=True)
    r1 = losses.r1_penalty(D(x), x)
    assert r1.shape == (5,) and torch.allclose(r1, torch.full((5,), float(w.pow(2).sum())))
    # its gradient into D: d/dw ||w||^2 = 2w (create_graph keeps the graph for the D step)
    (gw,) = torch.autograd.grad(r1.mean(), D.w)
    assert torch.allclose(gw, 2 * w, atol=1e-5)
    with pytest.raises(ValueError, match="requires_grad"):
        losses.r1_penalty(D(x.detach()), x.detach())


def test_r1_in_the_d_step_matches_gamma_over_2_times_norm(small_train):
    """Inside train_step: r1 is reported as ||w||^2, and D's loss gradient gains gamma/2 * 2w."""
    torch.manual_seed(0)
    model = GAN.from_preset("laptop", r1_gamma=3.0)
    w = 0.01 * torch.randn(784)
    model.D = LinearD(w)
    x, y = next(small_train.batches(16, seed=0))
    opt_d = optim.SGD(model.D.parameters(), lr=1.0)
    opts = {"d": opt_d, "g": optim.SGD(model.G.parameters(), lr=0.0)}
    torch.manual_seed(1)
    out = model.train_step((x, y), opts)
    assert out["r1"] == pytest.approx(float(w.pow(2).sum()), rel=1e-5)
    # the same step by hand: hinge loss on w.x (all scores are small, so inside both hinges) + 3/2 ||w||^2
    torch.manual_seed(1)
    fake = model.G(torch.randn(16, model.config.latent_dim))  # G did not move (lr 0), same noise
    grad = (-x.flatten(1).mean(0) + fake.detach().flatten(1).mean(0)) + 3.0 * w
    assert torch.allclose(model.D.w.detach(), w - grad, atol=1e-5)


def test_r1_runs_in_float32_under_bf16_autocast(small_train):
    torch.manual_seed(0)
    model = GAN.from_preset("laptop", r1_gamma=1.0, width=8, latent_dim=8)
    batch = next(small_train.batches(16, seed=0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        real = batch[0].detach().float().requires_grad_(True)
        scores, r1 = model._d_scores_real(real, None)
        out = model.train_step(batch, model.configure_optimizers())
    assert scores.dtype == torch.float32 and r1.dtype == torch.float32
    assert math.isfinite(out["r1"]) and out["r1"] > 0


def test_seed_gan_bce_on_probabilities_runs_in_float32_under_autocast(small_train):
    """fit autocasts to bf16 on a GPU, where binary_cross_entropy on probabilities is refused as unsafe:
    the seed GAN's losses leave the autocast region and compute in float32 (same values as without it)."""
    from genedu import losses

    p = torch.tensor([0.2, 0.9, 1.0, 0.0]).to(torch.bfloat16)
    seed = GAN.from_preset("seed")
    plain = losses.gan_d_loss(p.float(), p.float(), from_probs=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d_real, d_fake = losses.gan_d_loss(p, p, from_probs=True)
        g = losses.gan_g_loss(p, from_probs=True)
        g_min = losses.gan_g_loss(p, "minimax", from_probs=True)
        out = seed.train_step(next(small_train.batches(16, seed=0)), seed.configure_optimizers())
    assert all(t.dtype == torch.float32 for t in (d_real, d_fake, g, g_min))
    assert torch.equal(d_real, plain[0]) and torch.equal(d_fake, plain[1])
    assert d_real[3].item() == 100.0  # log clamped at -100, as torch's BCELoss
    assert math.isfinite(out["loss"])


def test_ttur_learning_rates_land_in_the_optimisers():
    opts = GAN.from_preset("dcgan", lr_d=4e-4, lr_g=1e-4).configure_optimizers()
    assert opts["d"].param_groups[0]["lr"] == 4e-4 and opts["g"].param_groups[0]["lr"] == 1e-4
    opts = GAN.from_preset("dcgan", lr=3e-4).configure_optimizers()  # None: both use lr
    assert opts["d"].param_groups[0]["lr"] == opts["g"].param_groups[0]["lr"] == 3e-4
    ref = GAN.from_preset("reference").configure_optimizers()
    assert ref["d"].param_groups[0]["lr"] == 4e-4 and ref["g"].param_groups[0]["lr"] == 1e-4
    assert ref["d"].defaults["betas"] == ref["g"].defaults["betas"] == (0.0, 0.9)


def test_d_steps_takes_that_many_d_updates(small_train):
    torch.manual_seed(0)
    model = GAN.from_preset("laptop", d_steps=3, width=8, latent_dim=8)
    opts = model.configure_optimizers()
    model.train_step(next(small_train.batches(16, seed=0)), opts)
    assert opts["d"].state[next(model.D.parameters())]["step"] == 3
    assert opts["g"].state[next(model.G.parameters())]["step"] == 1


def test_bad_stabiliser_settings_say_what_was_expected():
    with pytest.raises(ValueError, match="r1_gamma must be >= 0"):
        GAN.from_preset("laptop", r1_gamma=-1.0)
    with pytest.raises(ValueError, match="lr_d must be a positive learning rate"):
        GAN.from_preset("laptop", lr_d=0.0)
    with pytest.raises(ValueError, match="lr_g must be a positive learning rate"):
        GAN.from_preset("laptop", lr_g=-1e-4)
    with pytest.raises(ValueError, match="d_steps must be a whole number >= 1"):
        GAN.from_preset("laptop", d_steps=0)
    with pytest.raises(ValueError, match="d_steps must be a whole number >= 1"):
        GAN.from_preset("laptop", d_steps=1.5)
    with pytest.raises(ValueError, match="R1 penalty is on D's raw scores"):
        GAN.from_preset("seed", r1_gamma=1.0)
    with pytest.raises(ValueError, match="batch norm in D"):
        GAN.from_preset("dcgan", r1_gamma=1.0)
    with pytest.raises(ValueError, match="conv discriminator only"):
        GAN.from_preset("reference", minibatch_std=True)
    with pytest.raises(ValueError, match="True or False"):
        GAN.from_preset("laptop", minibatch_std=1)


def test_minibatch_std_lets_d_see_a_batch_of_copies(tmp_path):
    """The score of an image depends on the batch it is in (and only through the batch's spread); the
    option stays out of the config while off, so checkpoints written before it still load."""
    from genedu import load_model, save_checkpoint

    torch.manual_seed(0)
    m = GAN.from_preset("laptop", minibatch_std=True).eval()  # eval: spectral norm's power step stays put
    assert m.D.head.in_features == 2 * 32 * 49 + 1
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    copies = x[:1].expand(8, -1, -1, -1)
    mixed = torch.cat([x[:1], x[1:]])
    assert not torch.allclose(m.D(copies)[0], m.D(mixed)[0])  # the same image, scored differently
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(m.D(mixed[perm]), m.D(mixed)[perm])  # the batch's order does not matter
    spread = (m.D.features(copies).var(0, unbiased=False) + 1e-8).sqrt().mean()
    assert spread < 1e-3  # copies have no spread
    save_checkpoint(tmp_path / "g.pt", m)
    assert load_model(tmp_path / "g.pt").config.minibatch_std is True
    assert "minibatch_std" not in GAN.from_preset("laptop").config_dict()


def test_new_presets_sizes_and_recipes():
    lap, ref = GAN.from_preset("laptop"), GAN.from_preset("reference")
    assert not lap.conditional and not ref.conditional
    assert lap.config.loss == ref.config.loss == "hinge" and lap.config.spectral_norm and ref.config.spectral_norm
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(lap) < n(ref)
    assert ref.config.arch == "resnet" and ref.config.latent_dim == 128 and 256 <= ref.config.batch_size <= 512
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ref.D.modules())  # spectral norm only in D


@pytest.mark.parametrize("preset, r1_gamma", [("laptop", 0.0), ("laptop", 1.0), ("reference", 0.0)])
def test_new_presets_train_on_real_data_and_d_learns(preset, r1_gamma, small_train):
    """A few steps on real digits: finite, bounded losses; D separates real from fake (hinge margin)."""
    torch.manual_seed(0)
    over = {"width": 16, "latent_dim": 32} if preset == "reference" else {}  # keep the test quick
    model = GAN.from_preset(preset, r1_gamma=r1_gamma, **over)
    opts = model.configure_optimizers()
    outs = [model.train_step(b, opts) for b in list(small_train.batches(32, seed=0))[:8]]
    assert all(math.isfinite(v) for o in outs for v in o.values())
    assert ("r1" in outs[0]) == (r1_gamma > 0)
    assert 0 <= outs[-1]["d_loss"] < outs[0]["d_loss"]  # the hinge D loss falls as D learns
    assert outs[-1]["d_real"] > outs[-1]["d_fake"]  # D scores real digits above fakes
    assert all(abs(o["g_loss"]) < 50 for o in outs)


def test_resnet_gan_samples_from_fit_ema_copy(small_train):
    """fit(ema=...) deep-copies the whole GAN (spectral norm parametrisations too): the copy samples."""
    torch.manual_seed(0)
    model = GAN.from_preset("reference", width=8, latent_dim=16)
    h = genedu.fit(model, small_train, steps=2, batch_size=32, device="cpu", progress=False, ema=0.9)
    ema = h.ema.module
    assert isinstance(ema, GAN) and not ema.training
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    s = ema.sample(4, generator=g())
    assert s.shape == (4, 1, 28, 28) and s.min() >= -1 and s.max() <= 1 and torch.equal(s, ema.sample(4, generator=g()))
    assert not torch.equal(s, model.eval().sample(4, generator=g()))  # the average differs from the last weights
