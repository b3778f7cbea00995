"""Flow matching: the path and its target by hand, guidance limits, training, reflow couplings, checkpoints."""

import pytest
import torch

from genedu import fit, load_mnist
from genedu.checkpoint import load_model, save_checkpoint
from genedu.models.flow import Couplings, Flow, FlowConfig, path_sample, path_straightness, reflow_couplings


def _tiny(**kw):
    torch.manual_seed(0)
    return Flow(FlowConfig(channels=(8, 16), emb_dim=16, **kw))


def test_path_and_target_by_hand():
    x0 = torch.tensor([[1.0, -1.0]])
    eps = torch.tensor([[0.5, 2.0]])
    x_t, u = path_sample(x0, eps, torch.tensor([0.25]))
    assert torch.allclose(x_t, torch.tensor([[0.75 * 1 + 0.25 * 0.5, 0.75 * -1 + 0.25 * 2.0]]))
    assert torch.allclose(u, torch.tensor([[0.5 - 1.0, 2.0 + 1.0]]))  # eps - x0, whatever t
    x_0, _ = path_sample(x0, eps, torch.tensor([0.0]))
    x_1, _ = path_sample(x0, eps, torch.tensor([1.0]))
    assert torch.equal(x_0, x0) and torch.equal(x_1, eps)  # t = 0 is data, t = 1 is noise


def test_loss_is_the_mse_to_the_target_velocity():
    model = _tiny(num_classes=0)
    x0 = torch.rand(4, 1, 28, 28) * 2 - 1
    eps, t = torch.randn(4, 1, 28, 28), torch.rand(4)
    x_t, u = path_sample(x0, eps, t)
    want = (model.velocity(x_t, t) - u).pow(2).flatten(1).mean(1)
    got = model.loss_per_example(x0, None, t=t, eps=eps)["v_mse"]
    assert torch.allclose(got, want, atol=1e-6)


def test_guidance_0_is_unconditional_and_1_is_conditional():
    model = _tiny()
    torch.nn.init.normal_(model.net.out[-1].weight, std=0.3)  # a network whose labels matter
    labels = torch.arange(4)
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    uncond = model.sample(4, generator=g(), steps=3, method="euler")
    cond = model.sample(4, labels=labels, generator=g(), steps=3, method="euler")
    assert not torch.allclose(uncond, cond)
    assert torch.allclose(model.sample(4, labels=labels, generator=g(), steps=3, method="euler", guidance=0.0),
                          uncond, atol=1e-5)
    assert torch.allclose(model.sample(4, labels=labels, generator=g(), steps=3, method="euler", guidance=1.0),
                          cond, atol=1e-5)


def test_training_lowers_the_loss_on_real_digits():
    data = load_mnist("train").subset(torch.arange(256))
    model = _tiny(lr=3e-3)
    x, y = data.float(torch.arange(64)), data.labels[:64]
    t, eps = torch.rand(64, generator=torch.Generator().manual_seed(0)), torch.randn(64, 1, 28, 28)
    before = model.loss_per_example(x, None, t=t, eps=eps)["v_mse"].mean().item()
    fit(model, data, steps=30, batch_size=64, progress=False)
    after = model.loss_per_example(x, None, t=t, eps=eps)["v_mse"].mean().item()
    assert after < 0.8 * before, (before, after)


def test_samples_have_shape_range_and_trajectory():
    model = _tiny()
    x, traj = model.sample(3, labels=torch.tensor([1, 2, 3]), steps=4, method="heun", return_trajectory=True,
                           generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert traj["x_t"].shape == (5, 3, 1, 28, 28) and traj["t"][0] == 1 and traj["t"][-1] == 0


def test_reflow_couplings_reproduce_and_train():
    model = _tiny()
    a = reflow_couplings(model, 12, steps=2, seed=5, batch_size=5)
    b = reflow_couplings(model, 12, steps=2, seed=5, batch_size=5)
    assert torch.equal(a.x0, b.x0) and torch.equal(a.eps, b.eps) and torch.equal(a.labels, b.labels)
    assert a.labels.tolist() == [i % 10 for i in range(12)]
    # the pairs are the ODE's own: solving again from the same noise lands on the same images
    again = model.sample(12, labels=a.labels, noise=a.eps, steps=2, method="heun")
    assert torch.allclose(again, a.x0, atol=1e-6)
    history = fit(model, a, steps=2, batch_size=4, progress=False)  # fit trains on couplings like on MNIST
    assert len(history) == 2
    with pytest.raises(ValueError, match="one length"):
        Couplings(a.x0, a.labels[:3], a.eps)


def test_straightness_is_zero_for_a_straight_field():
    """A flow whose velocity is the same everywhere moves every point on a straight line: S = 0, ratio 1."""
    model = _tiny(num_classes=0)
    torch.nn.init.zeros_(model.net.out[-1].weight)
    torch.nn.init.constant_(model.net.out[-1].bias, 0.5)
    s = path_straightness(model, 4, steps=5)
    assert s["straightness"] < 1e-10 and s["length_ratio"] == pytest.approx(1.0, abs=1e-5)


def test_checkpoint_round_trip(tmp_path):
    model = _tiny()
    path = save_checkpoint(tmp_path / "flow.pt", model)
    loaded = load_model(path)
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    assert torch.equal(loaded.sample(2, generator=g(), steps=2), model.sample(2, generator=g(), steps=2))


def test_bad_settings_are_refused():
    model = _tiny()
    with pytest.raises(ValueError, match="at least 1"):
        model.sample(2, steps=0)
    with pytest.raises(ValueError, match="method"):
        model.sample(2, method="rk4")
    with pytest.raises(ValueError, match="guidance"):
        _tiny(num_classes=0).sample(2, guidance=2.0)
    with pytest.raises(ValueError, match="p_uncond"):
        FlowConfig(p_uncond=1.0)
    with pytest.raises(ValueError, match="channels"):
        FlowConfig(channels=(12, 16))


def test_u_shaped_times_follow_their_density():
    from genedu.models.flow import U_SHAPE, sample_times

    g = torch.Generator().manual_seed(0)
    t = sample_times(200_000, "u_shaped", generator=g)
    assert t.min() >= 0 and t.max() <= 1
    assert abs(t.mean().item() - 0.5) < 0.01  # symmetric about 1/2
    # p(t) ~ cosh(a (t - 1/2)): the outer tenth holds cosh-weight far above the middle tenth's
    hist = torch.histc(t, bins=10, min=0, max=1) / len(t)
    grid = torch.linspace(0, 1, 10_001)
    dens = torch.cosh(U_SHAPE * (grid - 0.5))
    dens = dens / dens.sum()
    expect = torch.stack([dens[(grid >= i / 10) & (grid < (i + 1) / 10)].sum() for i in range(10)])
    assert torch.allclose(hist, expect, atol=0.005), (hist, expect)
    u = sample_times(100_000, "uniform", generator=torch.Generator().manual_seed(0))
    assert (torch.histc(u, bins=10, min=0, max=1) / len(u) - 0.1).abs().max() < 0.005
    with pytest.raises(ValueError, match="time sampling must be one of"):
        sample_times(3, "gaussian")
    with pytest.raises(ValueError, match="time_sampling must be one of"):
        FlowConfig(time_sampling="logit")
    m = Flow.from_preset("laptop", time_sampling="u_shaped")  # the option reaches training
    x = torch.zeros(4, 1, 28, 28)
    assert m.loss_per_example(x, torch.arange(4))["t"].shape == (4,)
