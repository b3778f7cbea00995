"""genedu.toy: 2-D distributions, the toy flow and DDPM, straightness and distances (the exercise checkers are in test_exercises.py)."""

import pytest
import torch

from genedu.models.flow import path_sample
from genedu.sampling import ode_solve
from genedu.toy import (DISTRIBUTIONS, ToyDiffusion, ToyFlow,
                        marginal_velocity, mmd, path_straightness, reflow, sliced_wasserstein)


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distributions_have_shape_and_are_seeded(name):
    sample = DISTRIBUTIONS[name]
    a, b, c = sample(300, _g(1)), sample(300, _g(1)), sample(300, _g(2))
    assert a.shape == (300, 2) and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.abs().max() < 4  # all live in about [-3, 3]^2, where the figures look


def test_toy_flow_loss_falls_in_a_few_steps():
    torch.manual_seed(0)
    data = DISTRIBUTIONS["eight_gaussians"](1000, _g())
    losses = ToyFlow(hidden=64).fit(data, 150, batch_size=128, seed=0)
    assert len(losses) == 150
    assert sum(losses[-20:]) / 20 < sum(losses[:20]) / 20


def test_toy_flow_samples_and_trajectory_shapes():
    flow = ToyFlow(hidden=32)
    eps = torch.randn(7, 2, generator=_g())
    x, path = flow.sample(eps, steps=3, return_trajectory=True)
    assert x.shape == (7, 2) and path.shape == (4, 7, 2)
    assert torch.equal(path[0], eps) and torch.allclose(path[-1], x)


def test_toy_diffusion_trains_and_samples():
    torch.manual_seed(0)
    ddpm = ToyDiffusion("linear", hidden=32)
    losses = ddpm.fit(DISTRIBUTIONS["two_moons"](500, _g()), 60, batch_size=64)
    x, path = ddpm.sample(torch.randn(5, 2, generator=_g()), steps=4, clip_x0=3.0, return_trajectory=True)
    assert len(losses) == 60 and x.shape == (5, 2) and path.shape == (5, 5, 2)


def test_euler_on_an_exact_straight_field_is_exact():
    """One data point c: the exact field (x - c) / t moves every x on a straight line to c at constant speed."""
    c = torch.tensor([[1.5, -0.5]])
    eps = torch.randn(20, 2, generator=_g())
    for steps in (1, 2, 7):
        x = ode_solve(lambda x, t: marginal_velocity(x, t, c), eps, steps=steps, method="euler")
        assert torch.allclose(x, c.expand_as(x), atol=1e-5)


def test_marginal_velocity_is_the_conditional_one_for_one_point():
    c = torch.tensor([[2.0, 1.0]])
    x0, eps, t = c.expand(6, 2), torch.randn(6, 2, generator=_g()), torch.rand(6, generator=_g(1)) * 0.9 + 0.1
    x_t, u_t = path_sample(x0, eps, t)
    assert torch.allclose(marginal_velocity(x_t, t, c), u_t, atol=1e-4)


def test_straightness_zero_for_a_straight_field_and_reflow_runs():
    class Constant(ToyFlow):
        def velocity(self, x, t):
            return torch.ones_like(x)

    s = path_straightness(Constant(hidden=8), torch.randn(10, 2, generator=_g()), steps=5)
    assert s["straightness"] < 1e-10 and s["length_ratio"] == pytest.approx(1.0, abs=1e-5)
    new, x0 = reflow(ToyFlow(hidden=16), torch.randn(32, 2, generator=_g()), ode_steps=4, steps=3)
    assert x0.shape == (32, 2) and isinstance(new, ToyFlow)


def test_distances_zero_for_identical_sets_and_grow_with_a_shift():
    a = DISTRIBUTIONS["eight_gaussians"](500, _g())
    assert sliced_wasserstein(a, a) == pytest.approx(0.0, abs=1e-9)
    assert mmd(a, a) == pytest.approx(0.0, abs=1e-9)
    shifts = [0.25, 0.5, 1.0, 2.0]
    sw = [sliced_wasserstein(a, a + torch.tensor([s, 0.0])) for s in shifts]
    md = [mmd(a, a + torch.tensor([s, 0.0])) for s in shifts]
    assert all(x < y for x, y in zip(sw, sw[1:])) and all(x < y for x, y in zip(md, md[1:]))
    assert sw[-1] == pytest.approx(2.0 / 2**0.5, rel=0.15)  # E|theta . c| under SW_2: |c| / sqrt(d)
