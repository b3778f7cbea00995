"""The diffusion family: schedule values pinned, the forward process, the seed denoiser, training, checkpoints."""

import math

import numpy as np
import pytest
import torch

from genedu.checkpoint import load_model
from genedu.models.diffusion import (Diffusion, DiffusionConfig, NoiseSchedule, UNet, cosine_betas, eps_mse,
                                     linear_betas)
from genedu.train import fit, train_or_load


# ---- the schedule --------------------------------------------------------------------------------------

def test_linear_schedule_values_pinned():
    s = NoiseSchedule(1000, "linear")
    assert s.betas.dtype == torch.float32 and s.betas.shape == (1000,)
    assert s.betas[0].item() == pytest.approx(1e-4, rel=1e-6)
    assert s.betas[-1].item() == pytest.approx(0.02, rel=1e-6)
    assert s.alpha_bar[0].item() == pytest.approx(0.9999, rel=1e-7)
    assert s.alpha_bar[499].item() == pytest.approx(0.07858724288177824, rel=1e-5)
    assert s.alpha_bar[-1].item() == pytest.approx(4.035829765375676e-05, rel=1e-4)  # Ho et al.'s x_T is ~pure noise


def test_cosine_schedule_values_pinned():
    s = NoiseSchedule(1000, "cosine")
    assert s.betas[0].item() == pytest.approx(4.128422482196914e-05, rel=1e-5)
    assert s.betas[-1].item() == pytest.approx(0.999, rel=1e-6)  # clipped (Nichol & Dhariwal eq. 17)
    assert s.alpha_bar[499].item() == pytest.approx(0.49384359044063775, rel=1e-5)
    # the cosine schedule keeps more signal in the middle than the linear one
    assert s.alpha_bar[499] > NoiseSchedule(1000, "linear").alpha_bar[499]


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_is_computed_in_float64(kind):
    betas = linear_betas(1000) if kind == "linear" else cosine_betas(1000)
    assert betas.dtype == torch.float64
    ref = np.cumprod(1 - betas.numpy())  # float64 reference
    s = NoiseSchedule(1000, kind)
    assert torch.equal(s.alpha_bar, torch.from_numpy(ref).float())
    assert torch.all(s.alpha_bar[1:] < s.alpha_bar[:-1]) and torch.all(s.snr(torch.arange(1, 1000)) < s.snr(torch.arange(999)))


def test_q_sample_mean_and_variance():
    s = NoiseSchedule(1000, "linear")
    x0 = torch.full((20_000, 1, 1, 1), 0.5)
    t = torch.full((20_000,), 300)
    g = torch.Generator().manual_seed(0)
    x_t = s.q_sample(x0, t, torch.randn(x0.shape, generator=g))
    ab = s.alpha_bar[300].item()
    assert x_t.mean().item() == pytest.approx(math.sqrt(ab) * 0.5, abs=0.02)  # se 0.007
    assert x_t.var().item() == pytest.approx(1 - ab, rel=0.04)
    # and it inverts: x0_from_eps with the true noise gives x0 back
    eps = torch.randn(4, 1, 28, 28, generator=g)
    x0 = torch.rand(4, 1, 28, 28, generator=g) * 2 - 1
    tt = torch.tensor([0, 10, 500, 999])
    assert torch.allclose(s.x0_from_eps(s.q_sample(x0, tt, eps), tt, eps), x0, atol=2e-3)


# ---- the network and the seed --------------------------------------------------------------------------

def test_unet_shapes_and_null_class():
    torch.manual_seed(0)
    net = UNet((16, 32), 64, num_classes=10)
    torch.nn.init.normal_(net.out[-1].weight, std=0.3)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999])
    assert net(x, t, torch.tensor([1, 2, 3])).shape == (3, 1, 28, 28)
    assert torch.equal(net(x, t, None), net(x, t, torch.full((3,), 10)))  # None is the null class
    assert not torch.allclose(net(x, t, torch.tensor([1, 1, 1])), net(x, t, torch.tensor([7, 7, 7])))


def test_seed_preset_is_the_original_denoiser():
    model = Diffusion.from_preset("seed")
    layers = list(model.net)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear"]
    assert (layers[0].in_features, layers[0].out_features, layers[2].out_features) == (784, 512, 784)
    assert sum(p.numel() for p in model.parameters()) == 784 * 512 + 512 + 512 * 784 + 784
    assert model.schedule is None and model.config.lr == 1e-3 and model.config.batch_size == 128
    # its loss is the original's: mse_loss(net(x + noise), noise)
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    torch.manual_seed(5)
    loss = model.loss_per_example(x)["eps_mse"].mean()
    torch.manual_seed(5)
    noise = torch.randn(8, 784)
    ref = torch.nn.functional.mse_loss(model.net(x.view(8, 784) + noise), noise)
    assert torch.allclose(loss, ref)


def test_config_errors_teach():
    with pytest.raises(ValueError, match="architecture"):
        DiffusionConfig(architecture="transformer")
    with pytest.raises(ValueError, match="schedule"):
        DiffusionConfig(schedule="sigmoid")
    with pytest.raises(ValueError, match="multiples of 8"):
        DiffusionConfig(channels=(12, 24))
    with pytest.raises(ValueError, match="p_uncond"):
        DiffusionConfig(p_uncond=1.0)
    with pytest.raises(ValueError, match="no labels"):
        DiffusionConfig(architecture="seed_mlp", num_classes=10)


def test_eps_mse_is_per_example():
    a, b = torch.zeros(3, 1, 28, 28), torch.ones(3, 1, 28, 28)
    b[1] = 2
    assert torch.equal(eps_mse(a, b), torch.tensor([1.0, 4.0, 1.0]))


# ---- training -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["ddpm", "seed"])
def test_one_training_step_lowers_the_loss(preset, small_train):
    torch.manual_seed(0)
    model = Diffusion.from_preset(preset)
    opt = model.configure_optimizers()
    x, y = next(small_train.batches(128, seed=0))
    t = torch.randint(0, model.config.T, (128,), generator=torch.Generator().manual_seed(1))

    def loss():
        torch.manual_seed(2)  # the same noise (and label dropout) before and after
        with torch.no_grad():
            return model.loss_per_example(x, y, t=t)["eps_mse"].mean().item()

    before = loss()
    model.train()
    out = model.train_step((x, y), opt)
    assert loss() < before
    if preset == "ddpm":
        assert {"loss", "eps_mse", "eps_mse_q1", "eps_mse_q2", "eps_mse_q3", "eps_mse_q4"} <= set(out)
        assert out["eps_mse_q1"] > out["eps_mse_q4"] * 0.5  # all finite floats; early on every quarter is near 1
    else:
        assert set(out) == {"loss", "eps_mse"}


def test_quarters_missing_from_a_small_batch_are_not_reported_as_nan(small_train):
    torch.manual_seed(0)
    model = Diffusion.from_preset("ddpm")
    x, y = next(small_train.batches(2, seed=0))
    out = model.train_step((x, y), model.configure_optimizers())
    assert all(math.isfinite(v) for v in out.values())
    assert sum(k.startswith("eps_mse_q") for k in out) <= 2


def test_fit_with_ema_and_checkpoint_round_trip(small_train, tmp_path):
    model = Diffusion.from_preset("ddpm", T=50)
    path = tmp_path / "ddpm.pt"
    h = fit(model, small_train, steps=3, batch_size=32, ema=0.9, checkpoint=path, progress=False)
    assert len(h) == 3 and h.ema is not None
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    labels = torch.arange(4)
    expected = h.ema.module.sample(4, labels=labels, steps=3, generator=g())
    loaded = load_model(path)  # the EMA weights
    assert torch.equal(loaded.sample(4, labels=labels, steps=3, generator=g()), expected)
    assert torch.equal(loaded.schedule.alpha_bar, model.schedule.alpha_bar)
    # train_or_load reloads instead of training
    again = Diffusion.from_preset("ddpm", T=50)
    h2 = train_or_load(again, small_train, checkpoint=path, steps=3, batch_size=32, ema=0.9, progress=False)
    assert torch.equal(h2.ema.module.sample(4, labels=labels, steps=3, generator=g()), expected)
    assert h2["eps_mse"] == h["eps_mse"]


# ---- per-timestep loss and the lesson's widgets, driven headless ------------------------------------

def _model(**kw):
    torch.manual_seed(0)
    model = Diffusion.from_preset("ddpm", **kw).eval()
    torch.nn.init.normal_(model.net.out[-1].weight, std=0.3)
    return model


def test_loss_per_timestep(small_train):
    model = _model(T=100)
    x, y = next(small_train.batches(8, seed=0))
    losses = model.loss_per_timestep(x, y, [0, 50, 99], generator=torch.Generator().manual_seed(0))
    assert losses.shape == (3,) and torch.all(losses > 0)
    with pytest.raises(ValueError, match="no timestep"):
        Diffusion.from_preset("seed").loss_per_timestep(x)


def test_noising_slider(small_train):
    from genedu.widgets import noising_slider, shown_png

    s = NoiseSchedule(1000, "linear")
    w = noising_slider(small_train.float(torch.arange(3)), s)
    w.t.value = 0
    first = shown_png(w.output)
    assert w.snr == pytest.approx(0.9999 / 0.0001, rel=1e-3)
    w.t.value = 999
    assert shown_png(w.output) != first and w.snr < 1e-4 and w.alpha_bar == pytest.approx(4.04e-5, rel=0.01)
    assert w.x_t.std() > 0.9  # nearly pure noise
    w.index.value = 2
    assert w.x_t.shape == (1, 1, 28, 28)


def test_trajectory_scrubber():
    from genedu.widgets import shown_png, trajectory_scrubber

    model = _model(T=20)
    _, traj = model.sample(4, labels=torch.arange(4), steps=5, return_trajectory=True,
                           generator=torch.Generator().manual_seed(0))
    w = trajectory_scrubber(traj, n=4)
    assert w.shown_t == 19
    first = shown_png(w.output)
    w.step.value = 4
    assert w.shown_t == 0 and shown_png(w.output) != first


def test_sampler_explorer():
    from genedu.widgets import sampler_explorer

    model = _model(T=20)
    w = sampler_explorer(model, n=4, steps=2, max_steps=5)
    a = w.samples.clone()
    assert a.shape == (4, 1, 28, 28)
    w.guidance.value = 0.0
    assert not torch.equal(w.samples, a)
    w.steps.value = 5
    assert w.samples.shape == (4, 1, 28, 28)
    uncond = sampler_explorer(_model(T=20, num_classes=0), n=4, steps=2)
    assert uncond.guidance.disabled
