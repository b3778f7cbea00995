"""The samplers against references: a point mass and a Gaussian data distribution, whose exact noise
predictors are known in closed form, so DDPM and DDIM must recover the data exactly or in distribution.
"""

import math
from types import SimpleNamespace

import pytest
import torch

from genedu import sampling
from genedu.models.diffusion import Diffusion, NoiseSchedule


class ExactModel:
    """Stands in for a trained network: the exact E[eps | x_t] when x_0 ~ N(m, s^2) per pixel (s = 0: a point)."""

    def __init__(self, T=200, m=0.3, s=0.2, kind="linear"):
        self.schedule = NoiseSchedule(T, kind).double()
        self.config = SimpleNamespace(num_classes=0, T=T)
        self.m, self.s = m, s

    def randn(self, *shape, generator=None):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    def eps_pred(self, x_t, t, y=None):
        ab = self.schedule.alpha_bar.double()[t].view(-1, 1, 1, 1)
        # x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps, jointly Gaussian: E[eps | x_t] = Cov / Var (x_t - E x_t)
        return (1 - ab).sqrt() * (x_t - ab.sqrt() * self.m) / (ab * self.s**2 + 1 - ab)


def test_ddim_timesteps():
    ts = sampling.ddim_timesteps(1000, 10)
    assert ts[0] == 999 and ts[-1] == 0 and len(ts) == 10
    assert all(a > b for a, b in zip(ts, ts[1:]))
    assert sampling.ddim_timesteps(1000, 1000) == list(range(999, -1, -1))
    with pytest.raises(ValueError, match="1..T"):
        sampling.ddim_timesteps(100, 0)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim0", "ddim1"])
def test_point_mass_is_recovered_exactly(sampler):
    model = ExactModel(T=100, m=0.3, s=0.0)
    g = torch.Generator().manual_seed(0)
    if sampler == "ddpm":
        x = sampling.ddpm_sample(model, 8, generator=g, clip_x0=False)
    else:
        x = sampling.ddim_sample(model, 8, steps=10, eta=float(sampler[-1]), generator=g, clip_x0=False)
    assert torch.allclose(x, torch.full_like(x, 0.3), atol=1e-6)


def test_gaussian_data_distribution_is_recovered():
    """x_0 ~ N(0.3, 0.2^2) per pixel. DDPM with T = 1000 and DDIM with every step match it; DDIM with few
    steps keeps the mean but under-disperses (its Euler-like steps shrink the spread), converging as steps grow."""
    m, s = 0.3, 0.2
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    x = sampling.ddpm_sample(ExactModel(T=1000, m=m, s=s), 32, generator=g(), clip_x0=False)
    # 32 * 784 = 25k draws: the standard error of the mean is 0.0013
    assert abs(x.mean().item() - m) < 0.01 and abs(x.std().item() - s) < 0.01
    model = ExactModel(T=200, m=m, s=s)
    stds = {}
    for steps in (10, 50, 200):
        x = sampling.ddim_sample(model, 32, steps=steps, eta=0.0, generator=g(), clip_x0=False)
        assert abs(x.mean().item() - m) < 0.01
        stds[steps] = x.std().item()
    assert abs(stds[200] - s) < 0.01
    assert stds[10] < stds[50] < stds[200], stds


def _random_model(preset="ddpm", **kw):
    torch.manual_seed(0)
    model = Diffusion.from_preset(preset, **kw).eval()
    if not model.is_seed:  # the output conv starts at zero (eps_pred = 0); give it weights so tests can see
        torch.nn.init.normal_(model.net.out[-1].weight, std=0.3)
    return model


def test_ddim_eta0_is_deterministic_and_eta1_is_not():
    model = _random_model(T=50)
    labels = torch.arange(4)
    a = model.sample(4, labels=labels, sampler="ddim", steps=5, eta=0.0, generator=torch.Generator().manual_seed(7))
    b = model.sample(4, labels=labels, sampler="ddim", steps=5, eta=0.0, generator=torch.Generator().manual_seed(7))
    c = model.sample(4, labels=labels, sampler="ddim", steps=5, eta=1.0, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    d = model.sample(4, labels=labels, sampler="ddim", steps=5, eta=0.0, generator=torch.Generator().manual_seed(8))
    assert not torch.allclose(a, d), "another seed must give other samples"


@pytest.mark.parametrize("sampler, steps", [("ddpm", None), ("ddim", 1), ("ddim", 7)])
def test_shapes_range_and_trajectory(sampler, steps):
    model = _random_model(T=20)
    labels = torch.tensor([0, 5, 9])
    x, traj = model.sample(3, labels=labels, sampler=sampler, steps=steps, return_trajectory=True,
                           generator=torch.Generator().manual_seed(0))
    S = 20 if sampler == "ddpm" else steps
    assert x.shape == (3, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert traj["x_t"].shape == (S, 3, 1, 28, 28) and traj["x0_pred"].shape == (S, 3, 1, 28, 28)
    assert traj["t"][0] == 19 and traj["t"][-1] == (0 if S > 1 else 19)
    assert traj["x0_pred"].abs().max() <= 1
    # the first state is the starting noise: unit variance
    assert 0.8 < traj["x_t"][0].std() < 1.2


def test_guidance_scale_0_is_unconditional_and_1_is_conditional():
    model = _random_model(T=20)
    labels = torch.tensor([1, 2, 3, 4])
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    uncond = model.sample(4, labels=None, steps=4, generator=g())
    cond = model.sample(4, labels=labels, steps=4, generator=g())
    assert (uncond - cond).abs().mean() > 0.1, "labels must change the samples for this test to mean anything"
    # guidance runs the labelled and the null batch through the network as one batch of 2n, which may take
    # other float32 kernels than a batch of n: up to 7e-5 apart after 4 steps on an AVX-512 CPU. Equal here
    # means 1e-3, a hundredth of the mean gap the labels make
    assert torch.allclose(model.sample(4, labels=labels, steps=4, guidance=0.0, generator=g()), uncond, atol=1e-3)
    assert torch.allclose(model.sample(4, labels=labels, steps=4, guidance=1.0, generator=g()), cond, atol=1e-3)
    w3 = model.sample(4, labels=labels, steps=4, guidance=3.0, generator=g())
    assert not torch.allclose(w3, cond, atol=1e-3)


def test_guided_eps_formula():
    c, u = torch.tensor([2.0]), torch.tensor([1.0])
    assert sampling.guided_eps(c, u, 0.0) == 1.0 and sampling.guided_eps(c, u, 1.0) == 2.0
    assert sampling.guided_eps(c, u, 3.0) == 4.0


def test_seed_sampler_is_x_minus_net_x():
    model = _random_model("seed")
    x, traj = model.sample(2, steps=3, return_trajectory=True, generator=torch.Generator().manual_seed(0))
    x0 = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for _ in range(3):
            x0 = x0 - model.net(x0.flatten(1)).view_as(x0)
    assert torch.allclose(x, x0.clamp(-1, 1), atol=1e-6)
    assert traj["x_t"].shape == (3, 2, 1, 28, 28)


def test_sampler_errors_teach():
    model = _random_model(T=20)
    with pytest.raises(ValueError, match="sampler='ddim'"):
        model.sample(2, sampler="ddpm", steps=5)
    with pytest.raises(ValueError, match="ddim"):
        model.sample(2, sampler="euler")
    with pytest.raises(ValueError, match="pass labels"):
        model.sample(2, guidance=2.0)
    with pytest.raises(ValueError, match="eta"):
        model.sample(2, eta=-1.0)
    seed = _random_model("seed")
    with pytest.raises(ValueError, match="no timestep"):
        seed.sample(2, sampler="ddim")
    uncond = _random_model("ddpm_uncond", T=20)
    with pytest.raises(ValueError, match="class-conditional"):
        uncond.sample(2, guidance=1.0)
    assert math.isfinite(uncond.sample(2, steps=2).sum().item())


# ---- DPM-Solver++(2M) ----------------------------------------------------------------------------------

def test_dpm_solver_with_three_steps_is_ddim():
    """Its first step and the step before the last are first order, i.e. DDIM's: with 3 steps it is DDIM."""
    model = ExactModel(T=200, m=0.3, s=0.2)
    a = sampling.dpm_solver_sample(model, 4, steps=3, generator=torch.Generator().manual_seed(0), clip_x0=False)
    b = sampling.ddim_sample(model, 4, steps=3, generator=torch.Generator().manual_seed(0), clip_x0=False)
    assert torch.allclose(a, b, atol=1e-10)


def test_dpm_solver_is_closer_to_the_ode_solution_than_ddim_at_equal_steps():
    """On the exact predictor of Gaussian data the probability-flow ODE's solution is what 1,000-step DDIM
    reaches. The second-order solver's error falls faster with the steps than DDIM's first-order one:
    at 30 steps it lands several times nearer. (Its first step and the one before the last stay first
    order, as in diffusers' DPMSolverMultistepScheduler, so at 10 steps or fewer it is about DDIM.)"""
    model = ExactModel(T=1000, m=0.3, s=0.2, kind="cosine")
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    exact = sampling.ddim_sample(model, 32, steps=1000, generator=g(), clip_x0=False)
    rms = lambda x: (x - exact).pow(2).mean().sqrt().item()  # noqa: E731
    err = {k: (rms(sampling.ddim_sample(model, 32, steps=k, generator=g(), clip_x0=False)),
               rms(sampling.dpm_solver_sample(model, 32, steps=k, generator=g(), clip_x0=False))) for k in (15, 30)}
    assert err[30][1] < err[30][0] / 3, err
    assert err[30][0] / err[15][0] > 0.4 and err[30][1] / err[15][1] < 0.3, err  # first vs second order


# ---- ODE solvers (flows) -------------------------------------------------------------------------------

def test_euler_is_exact_in_one_step_on_straight_paths():
    """For one data point c, the flow's velocity v(x, t) = (x - c) / t moves every x along a straight line to c
    at constant speed: one Euler step from t = 1 lands exactly on c."""
    c = torch.full((3, 1, 28, 28), 0.25, dtype=torch.float64)
    x1 = torch.randn(3, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x0 = sampling.ode_solve(lambda x, t: (x - c) / t, x1, steps=1, method="euler")
    assert torch.allclose(x0, c, atol=1e-12)


@pytest.mark.parametrize("method,order", [("euler", 1), ("midpoint", 2), ("heun", 2)])
def test_solver_order_on_a_known_ode(method, order):
    """dx/dt = x from t = 1 back to 0: x(0) = x(1) / e. Halving the step divides the error by 2^order."""
    x1 = torch.ones(1, dtype=torch.float64)
    exact = x1 / math.e
    err = [(sampling.ode_solve(lambda x, t: x, x1, steps=n, method=method) - exact).abs().item() for n in (20, 40)]
    assert err[0] / err[1] == pytest.approx(2**order, rel=0.1)


def test_ode_solver_errors_teach():
    with pytest.raises(ValueError, match="at least 1"):
        sampling.ode_solve(lambda x, t: x, torch.ones(1), steps=0)
    with pytest.raises(ValueError, match="euler"):
        sampling.ode_solve(lambda x, t: x, torch.ones(1), steps=2, method="rk45")


def test_draw_samples_balances_times_and_reproduces():
    model = _random_model()
    g = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    a = sampling.draw_samples(model, 7, generator=g(), batch_size=3, sampler="ddim", steps=2)
    b = sampling.draw_samples(model, 7, generator=g(), batch_size=3, sampler="ddim", steps=2)
    assert a.images.shape == (7, 1, 28, 28) and torch.equal(a.images, b.images) and a.seconds >= 0
    assert a.labels.tolist() == [0, 1, 2, 3, 4, 5, 6]  # balanced requested classes
    assert sampling.draw_samples(model, 3, generator=g(), conditional=False, sampler="ddim", steps=2).labels is None
    with pytest.raises(ValueError, match="at least 1"):
        sampling.draw_samples(model, 0)


def test_cpu_draws_in_small_batches_and_bf16_changes_little():
    """On a CPU, sample_batches draws CPU_BATCH at a time unless told otherwise (the same noise stream as
    one big batch, so a deterministic sampler gives the same images); bf16 autocast stays close to float32."""
    from genedu.models.flow import Flow, FlowConfig
    from genedu.sampling import CPU_BATCH, default_batch, draw_samples, sample_batches

    torch.manual_seed(0)
    model = Flow(FlowConfig(channels=(8, 16), emb_dim=32, num_classes=10))
    with torch.no_grad():
        for p in model.net.out[-1].parameters():  # a non-zero field, so the samples depend on the network
            p.normal_(0, 0.1)
    assert default_batch(model) == CPU_BATCH
    sizes = [len(x) for x, _ in sample_batches(model, CPU_BATCH + 5, method="euler", steps=2)]
    assert sizes == [CPU_BATCH, 5]
    opts = dict(method="euler", steps=2)
    small = draw_samples(model, 30, generator=torch.Generator().manual_seed(1), batch_size=7, **opts).images
    whole = draw_samples(model, 30, generator=torch.Generator().manual_seed(1), batch_size=30, **opts).images
    assert torch.allclose(small, whole, atol=1e-5)
    half = draw_samples(model, 30, generator=torch.Generator().manual_seed(1), bf16=True, **opts).images
    assert half.dtype == torch.float32 and half.abs().max() <= 1
    assert 0 < (half - whole).abs().mean() < 0.05  # rounded, but the same images


def test_cli_sample_takes_bf16(tmp_path):
    import numpy as np

    from genedu.checkpoint import save_checkpoint
    from genedu.cli import main
    from genedu.models.flow import Flow, FlowConfig

    ckpt = save_checkpoint(tmp_path / "f.pt", Flow(FlowConfig(channels=(8, 16), emb_dim=32, num_classes=10)))
    out = tmp_path / "s.npz"
    assert main(["sample", "--model", "flow", "--checkpoint", str(ckpt), "--n", "12", "--method", "euler",
                 "--steps", "2", "--bf16", "--out", str(out)]) == 0
    assert np.load(out)["samples"].shape == (12, 1, 28, 28)
