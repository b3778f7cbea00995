"""Flow matching and diffusion in two dimensions, where every path can be drawn (lesson 03b).

Convention (the same as `genedu.models.flow` and `genedu.models.diffusion`): t = 0 is data, t = 1 is
noise (or the source distribution).

- Toy distributions: :func:`eight_gaussians`, :func:`two_moons`, :func:`checkerboard`, each (n, 2).
- :class:`ToyFlow`: an MLP velocity field v_theta(x, t) trained by conditional flow matching on the
  straight path x_t = (1 - t) x_0 + t eps, target u_t = eps - x_0 (Lipman et al. 2023; Liu et al. 2023);
  sampled by integrating dx/dt = v from t = 1 to 0 with `genedu.sampling.ode_solve` (Euler, midpoint, Heun).
  eps may be Gaussian noise or points of a second distribution (a flow between two distributions).
- :class:`ToyDiffusion`: a 2-D DDPM with eps-prediction (Ho et al. 2020) on a linear or cosine schedule,
  sampled with DDIM at eta = 0 (Song et al. 2021), a first-order solver of the probability-flow ODE.
- :func:`marginal_velocity`: the exact v*(x, t) for a finite data set (what the loss is minimised by).
- :func:`reflow` (Liu et al. 2023, Algorithm 1) and :func:`path_straightness` (their eq. 5, the same
  definition as `genedu.models.flow.path_straightness`).
- :func:`sliced_wasserstein` and :func:`mmd`: how far a set of samples is from the target distribution.

Everything trains in seconds on a CPU: the networks have about 20,000 parameters.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn

from .models.diffusion import NoiseSchedule
from .models.flow import path_sample
from .sampling import ddim_timesteps, ode_solve, ode_timesteps

# ---- toy distributions: (n, 2) float tensors, reproducible from a torch.Generator -------------------


def eight_gaussians(n: int, generator: torch.Generator | None = None, *, radius: float = 2.0,
                    std: float = 0.15) -> torch.Tensor:
    """n points from 8 Gaussians (standard deviation `std`) centred on a circle of `radius`."""
    k = torch.randint(0, 8, (n,), generator=generator)
    angle = k.float() * (2 * math.pi / 8)
    centres = radius * torch.stack([angle.cos(), angle.sin()], 1)  # (n, 2)
    return centres + std * torch.randn(n, 2, generator=generator)


def two_moons(n: int, generator: torch.Generator | None = None, *, noise: float = 0.08) -> torch.Tensor:
    """n points on two interleaved half circles (scikit-learn's make_moons), centred and scaled to about [-2, 2]."""
    upper = torch.rand(n, generator=generator) < 0.5
    s = torch.rand(n, generator=generator) * math.pi
    x = torch.where(upper, s.cos(), 1 - s.cos())
    y = torch.where(upper, s.sin(), 0.5 - s.sin())
    pts = torch.stack([x - 0.5, y - 0.25], 1) * 1.6  # (n, 2)
    return pts + noise * torch.randn(n, 2, generator=generator)


def checkerboard(n: int, generator: torch.Generator | None = None, *, squares: int = 4,
                 half_width: float = 2.0) -> torch.Tensor:
    """n points uniform on the dark squares of a `squares` x `squares` board covering [-half_width, half_width]^2."""
    size = 2 * half_width / squares
    cells = [(i, j) for i in range(squares) for j in range(squares) if (i + j) % 2 == 0]
    pick = torch.randint(0, len(cells), (n,), generator=generator)
    ij = torch.tensor(cells, dtype=torch.float)[pick]  # (n, 2)
    return -half_width + (ij + torch.rand(n, 2, generator=generator)) * size


DISTRIBUTIONS = {"eight_gaussians": eight_gaussians, "two_moons": two_moons, "checkerboard": checkerboard}


# ---- distances between two point sets ----------------------------------------------------------------


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between point sets a (n, d) and b (m, d):

        SW_2(a, b)^2 = E_theta W_2^2(theta . a, theta . b),  theta uniform on the unit sphere,

    each 1-D W_2 computed exactly from quantiles (sorted projections). 0 for identical sets; a shift
    by a vector c adds |c| / sqrt(d) (in expectation over theta)."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)
    pa, pb = a.double() @ theta, b.double() @ theta  # (n, P), (m, P)
    levels = torch.linspace(0, 1, max(len(a), len(b)), dtype=torch.float64)
    qa, qb = torch.quantile(pa, levels, dim=0), torch.quantile(pb, levels, dim=0)
    return float((qa - qb).pow(2).mean().sqrt())


def mmd(a: torch.Tensor, b: torch.Tensor, *, bandwidths: tuple[float, ...] = (0.1, 0.3, 1.0)) -> float:
    """Squared maximum mean discrepancy with a sum of Gaussian kernels k(x, y) = exp(-|x - y|^2 / (2 s^2))
    (biased V-statistic: exactly 0 for identical sets, > 0 otherwise)."""
    x = torch.cat([a, b]).double()
    d2 = torch.cdist(x, x).pow(2)
    k = sum(torch.exp(-d2 / (2 * s**2)) for s in bandwidths)
    n = len(a)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())


# ---- the network: an MLP of (x, t) -------------------------------------------------------------------


class ToyMLP(nn.Module):
    """f(x, t): x (B, dim) and t (B,) in [0, 1] -> (B, dim). t enters as sinusoidal features
    [sin(2^k pi t), cos(2^k pi t)], k = 0..frequencies-1, concatenated to x. dim = 2 for the toys; a
    VAE's latent size for a flow on its codes (latent flow matching)."""

    def __init__(self, hidden: int = 128, layers: int = 3, frequencies: int = 6, *, dim: int = 2):
        super().__init__()
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(frequencies), persistent=False)
        dims = [dim + 2 * frequencies] + [hidden] * layers
        blocks = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(d_in, d_out), nn.SiLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        angles = t.view(-1, 1).to(x.dtype) * self.freqs  # (B, F)
        return self.net(torch.cat([x, angles.sin(), angles.cos()], 1))


@contextmanager
def _one_thread():
    """Run tiny 2-D batches on one CPU thread: their arithmetic is smaller than the cost of keeping
    several threads in step, which on a busy CPU slows training tens of times. Restores the setting."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _train(loss_fn: Callable[[torch.Tensor], torch.Tensor], params, steps: int, n_data: int, *, batch_size: int,
           lr: float, seed: int) -> list[float]:
    """The shared loop: `loss_fn(idx, g)` gives per-example losses (B,) of the batch `idx` (noise from g); returns the loss per step."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 10)
    losses = []
    with _one_thread():
        for _ in range(steps):
            idx = torch.randint(0, n_data, (batch_size,), generator=g)
            loss = loss_fn(idx, g).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    return losses


# ---- flow matching -----------------------------------------------------------------------------------


class ToyFlow(nn.Module):
    """A 2-D flow: v_theta(x, t) regressed onto u_t = eps - x_0 at x_t = (1 - t) x_0 + t eps,

        L_CFM = E_{t ~ U(0,1), x_0, eps} || v_theta(x_t, t) - (eps - x_0) ||^2,

    whose minimiser is the marginal field v*(x, t) = E[eps - x_0 | x_t = x]; dx/dt = v* carries the
    eps distribution at t = 1 to the data at t = 0."""

    def __init__(self, hidden: int = 128, layers: int = 3, *, dim: int = 2):
        super().__init__()
        self.net = ToyMLP(hidden, layers, dim=dim)

    def velocity(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """v_theta(x, t) for x (B, dim) and t (B,) or one float."""
        t = torch.as_tensor(t, dtype=x.dtype).expand(len(x)) if not torch.is_tensor(t) or t.dim() == 0 else t
        return self.net(x, t)

    def loss_per_example(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """|| v_theta(x_t, t) - (eps - x_0) ||^2 per example (B,)."""
        x_t, target = path_sample(x0, eps, t)
        return (self.velocity(x_t, t) - target).pow(2).sum(1)

    def fit(self, data: torch.Tensor, steps: int = 2000, *, source: torch.Tensor | None = None,
                   coupled: bool = False, batch_size: int = 256, lr: float = 3e-3, seed: int = 0) -> list[float]:
        """Train on `data` (N, 2); eps ~ N(0, I), or drawn from `source` (M, 2) independently, or with
        `coupled=True` the fixed pairs (data[i], source[i]) (reflow). Returns the loss per step.
        (Named `fit` because `train(mode)` belongs to nn.Module.)"""
        self.train()

        def loss_fn(idx, g):
            x0 = data[idx]
            if source is None:
                eps = torch.randn(x0.shape, generator=g)
            else:
                eps = source[idx] if coupled else source[torch.randint(0, len(source), (len(idx),), generator=g)]
            return self.loss_per_example(x0, eps, torch.rand(len(idx), generator=g))

        losses = _train(loss_fn, self.parameters(), steps, len(data), batch_size=batch_size, lr=lr, seed=seed)
        self.eval()
        return losses

    @torch.no_grad()
    def sample(self, eps: torch.Tensor, *, steps: int = 8, method: str = "euler", return_trajectory: bool = False):
        """Solve dx/dt = v_theta(x, t) from x = eps at t = 1 to t = 0; with return_trajectory also the
        states (steps + 1, n, 2)."""
        out = ode_solve(self.velocity, eps, steps=steps, method=method, return_trajectory=return_trajectory)
        if return_trajectory:
            x, traj = out
            return x, traj["x_t"]
        return out


def marginal_velocity(x: torch.Tensor, t: torch.Tensor | float, points: torch.Tensor) -> torch.Tensor:
    """The exact marginal field v*(x, t) = E[eps - x_0 | x_t = x] when the data are the finite set `points` (K, 2)
    and eps ~ N(0, I). Given x_0 = a_k, x_t ~ N((1 - t) a_k, t^2 I), so the posterior weights are
    w_k = softmax_k(-|x - (1 - t) a_k|^2 / (2 t^2)), E[x_0 | x] = sum_k w_k a_k, E[eps | x] = (x - (1 - t) E[x_0 | x]) / t,

        v*(x, t) = (x - E[x_0 | x_t = x]) / t .
    """
    t = torch.as_tensor(t, dtype=x.dtype).expand(len(x)).clamp(min=1e-4).view(-1, 1)  # (B, 1)
    d2 = (x[:, None, :] - (1 - t)[:, :, None] * points[None]).pow(2).sum(-1)  # (B, K)
    w = torch.softmax(-d2 / (2 * t**2), dim=1)
    return (x - w @ points) / t


@torch.no_grad()
def path_straightness(flow: ToyFlow, eps: torch.Tensor, *, steps: int = 50) -> dict[str, float]:
    """How straight the flow's Euler paths from eps are (the definition of genedu.models.flow.path_straightness):

    - straightness S = mean over the path of || (x_1 - x_0) - v(x_t, t) ||^2 per coordinate (Liu et al. 2023,
      eq. 5): 0 exactly when every path is a straight line travelled at constant speed;
    - length_ratio = path length / distance between its ends (1 for a straight line)."""
    ts = ode_timesteps(steps)
    x, vs, length = eps.clone(), [], torch.zeros(len(eps))
    for i in range(steps):
        h = float(ts[i] - ts[i + 1])
        v = flow.velocity(x, float(ts[i]))
        vs.append(v)
        x_next = x - h * v
        length += (x_next - x).norm(dim=1)
        x = x_next
    chord = eps - x  # x_1 - x_0
    s = torch.stack([(chord - v).pow(2).mean(1) for v in vs]).mean()
    ratio = (length / chord.norm(dim=1).clamp(min=1e-12)).mean()
    return {"straightness": float(s), "length_ratio": float(ratio), "steps": steps, "n": len(eps)}


def reflow(flow: ToyFlow, eps: torch.Tensor, *, ode_steps: int = 64, steps: int = 1000, lr: float = 1e-3,
           seed: int = 1) -> tuple[ToyFlow, torch.Tensor]:
    """2-rectified flow (Liu et al. 2023, Algorithm 1): couple each eps with x_0 = ODE(eps), the end of the
    trained flow's path, then train a copy on the fixed pairs (x_0, eps) with the same loss. The pairs no
    longer cross, so the new field is straighter. Returns (new flow, the x_0 of the couplings)."""
    with _one_thread():
        x0 = flow.sample(eps, steps=ode_steps, method="heun")
    new = copy.deepcopy(flow)
    new.fit(x0, steps, source=eps, coupled=True, lr=lr, seed=seed)
    return new, x0


# ---- a 2-D DDPM, sampled with DDIM ------------------------------------------------------------------


class ToyDiffusion(nn.Module):
    """A 2-D DDPM with eps-prediction: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (Ho et al. eq. 4),

        L_simple = E_{t ~ U{0..T-1}, x_0, eps} || eps_theta(x_t, t) - eps ||^2   (eq. 14),

    the schedule is genedu's `NoiseSchedule` (linear or cosine); sampling is DDIM with eta = 0."""

    def __init__(self, schedule: str = "linear", T: int = 1000, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.schedule = NoiseSchedule(T, schedule)
        self.net = ToyMLP(hidden, layers)

    def eps_pred(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """eps_theta(x_t, t) for integer timesteps t (B,); the MLP sees t / (T - 1) in [0, 1]."""
        return self.net(x_t, t.float() / (self.schedule.T - 1))

    def loss_per_example(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """|| eps_theta(x_t, t) - eps ||^2 per example (B,)."""
        alpha_bar = self.schedule.alpha_bar[t].view(-1, 1)  # (B, 1)
        x_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps
        return (self.eps_pred(x_t, t) - eps).pow(2).sum(1)

    def fit(self, data: torch.Tensor, steps: int = 2000, *, batch_size: int = 256, lr: float = 3e-3,
                        seed: int = 0) -> list[float]:
        """Train on data (N, 2); returns the loss per step."""
        self.train()
        T = self.schedule.T

        def loss_fn(idx, g):
            x0 = data[idx]
            return self.loss_per_example(x0, torch.randn(x0.shape, generator=g),
                                         torch.randint(0, T, (len(idx),), generator=g))

        losses = _train(loss_fn, self.parameters(), steps, len(data), batch_size=batch_size, lr=lr, seed=seed)
        self.eval()
        return losses

    @torch.no_grad()
    def sample(self, eps: torch.Tensor, *, steps: int = 8, clip_x0: float | None = None,
               return_trajectory: bool = False):
        """DDIM, eta = 0 (Song et al. eq. 12), from x_T = eps over `steps` timesteps (one network call each):

            x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_pred) / sqrt(alpha_bar_t)
            x_prev  = sqrt(alpha_bar_prev) x0_pred + sqrt(1 - alpha_bar_prev) eps_pred

        At the first step sqrt(alpha_bar_T) is tiny (0.006 on the linear schedule), so x0_pred multiplies the
        network's error by about 160; `clip_x0` clamps it to [-clip_x0, clip_x0] (as the MNIST samplers clamp
        it to the pixel range [-1, 1]) and re-derives the noise it implies.
        """
        s, x = self.schedule, eps.clone()
        ts = ddim_timesteps(s.T, steps)
        path = [x.clone()]
        for i, t in enumerate(ts):
            alpha_bar = s.alpha_bar[t]
            alpha_bar_prev = s.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            eps_pred = self.eps_pred(x, torch.full((len(x),), t))
            x0_pred = (x - (1 - alpha_bar).sqrt() * eps_pred) / alpha_bar.sqrt()
            if clip_x0 is not None:
                x0_pred = x0_pred.clamp(-clip_x0, clip_x0)
                eps_pred = (x - alpha_bar.sqrt() * x0_pred) / (1 - alpha_bar).sqrt()
            x = alpha_bar_prev.sqrt() * x0_pred + (1 - alpha_bar_prev).sqrt() * eps_pred
            path.append(x.clone())
        return (x, torch.stack(path)) if return_trajectory else x
