"""Samplers for genedu's diffusion models, kept apart from the network (as diffusers' schedulers are).

Each sampler is a short visible loop over timesteps around one function that asks the network for
the noise, `predict_eps`, which also does classifier-free guidance:

- :func:`ddpm_sample`: ancestral sampling, all T steps (Ho et al. 2020, Algorithm 2);
- :func:`ddim_sample`: DDIM with any number of steps and eta (Song et al. 2021, eq. 12);
  eta = 0 is deterministic given x_T, eta = 1 has DDPM's noise level;
- :func:`dpm_solver_sample`: DPM-Solver++(2M), second order, one network call per step (Lu et al. 2022);
- :func:`guided_eps`: classifier-free guidance (Ho & Salimans 2022, eq. 6);
- :func:`ode_solve`: Euler, midpoint and Heun for a flow's ODE dx/dt = v(x, t), with :func:`guided_velocity`;
- :func:`seed_sample`: the honest best attempt with the original notebook's one-step denoiser.

Every sampler draws its noise from `generator` (a CPU torch.Generator) and returns images in
[-1, 1]; with ``return_trajectory=True`` also a dict ``{"t": (S,), "x_t": (S, n, 1, 28, 28),
"x0_pred": (S, n, 1, 28, 28)}`` of the state before each step and the clean image predicted there.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


def guided_eps(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: eps = eps_uncond + w (eps_cond - eps_uncond)   (Ho & Salimans 2022, eq. 6,
    with w = 1 + their w): w = 0 is the unconditional model, w = 1 the conditional one, w > 1 pushes further."""
    return eps_uncond + scale * (eps_cond - eps_uncond)


def predict_eps(model, x_t: torch.Tensor, t: int, labels: torch.Tensor | None,
                guidance: float | None) -> torch.Tensor:
    """eps_pred at the integer timestep t for the batch x_t; with `guidance`, mix conditional and null-class."""
    n = len(x_t)
    t_batch = torch.full((n,), t, dtype=torch.long, device=x_t.device)
    if guidance is None:
        return model.eps_pred(x_t, t_batch, labels)
    null = torch.full_like(labels, model.config.num_classes)
    eps = model.eps_pred(torch.cat([x_t, x_t]), torch.cat([t_batch, t_batch]), torch.cat([labels, null]))
    eps_cond, eps_uncond = eps.chunk(2)
    return guided_eps(eps_cond, eps_uncond, guidance)


def _noise(model, shape, generator) -> torch.Tensor:
    return model.randn(*shape, generator=generator)


class _Trajectory:
    def __init__(self, enabled: bool, every: int):
        self.enabled, self.every = enabled, max(1, int(every))
        self.t, self.x_t, self.x0 = [], [], []

    def add(self, i: int, t: int, x_t: torch.Tensor, x0_pred: torch.Tensor, last: bool) -> None:
        if self.enabled and (i % self.every == 0 or last):
            self.t.append(t)
            self.x_t.append(x_t.detach().float().cpu())
            self.x0.append(x0_pred.detach().float().clamp(-1, 1).cpu())

    def result(self, x: torch.Tensor):
        x = x.clamp(-1, 1)
        if not self.enabled:
            return x
        return x, {"t": torch.tensor(self.t), "x_t": torch.stack(self.x_t), "x0_pred": torch.stack(self.x0)}


@torch.no_grad()
def ddpm_sample(model, n: int, *, labels=None, generator=None, guidance=None, return_trajectory=False,
                trajectory_every: int = 1, clip_x0: bool = True):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2), through the posterior q(x_{t-1} | x_t, x0_pred):

        x_T ~ N(0, I); for t = T .. 1:
          x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_pred) / sqrt(alpha_bar_t)          (eq. 15), clipped to [-1, 1]
          mu      = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x0_pred
                    + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t        (eq. 7)
          x_{t-1} = mu + sqrt(beta_tilde_t) z,  z ~ N(0, I) (no noise at the last step)
    """
    s = model.schedule
    x = _noise(model, (n, 1, 28, 28), generator)  # x_T
    traj = _Trajectory(return_trajectory, trajectory_every)
    for i, t in enumerate(range(s.T - 1, -1, -1)):
        eps_pred = predict_eps(model, x, t, labels, guidance)
        ab, ab_prev, beta, alpha = s.alpha_bar[t], s.alpha_bar_prev[t], s.betas[t], s.alphas[t]
        x0_pred = (x - (1 - ab).sqrt() * eps_pred) / ab.sqrt()
        if clip_x0:
            x0_pred = x0_pred.clamp(-1, 1)
        traj.add(i, t, x, x0_pred, last=t == 0)
        mu = (ab_prev.sqrt() * beta / (1 - ab)) * x0_pred + (alpha.sqrt() * (1 - ab_prev) / (1 - ab)) * x
        x = mu + s.posterior_var[t].sqrt() * _noise(model, x.shape, generator) if t > 0 else mu
    return traj.result(x)


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """`steps` timesteps from T-1 down to 0, evenly spaced (rounded): the sub-sequence tau of Song et al. sec. 4.2."""
    if not 1 <= steps <= T:
        raise ValueError(f"DDIM steps must lie in 1..T={T}, got {steps}")
    if steps == 1:
        return [T - 1]
    return sorted({round((T - 1) * (1 - k / (steps - 1))) for k in range(steps)}, reverse=True)


@torch.no_grad()
def ddim_sample(model, n: int, *, steps: int = 50, eta: float = 0.0, labels=None, generator=None, guidance=None,
                return_trajectory=False, trajectory_every: int = 1, clip_x0: bool = True):
    """DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models"), over `steps` timesteps.

    Symbols (code -> paper, eq. 12; note the paper's alpha_t is DDPM's alpha_bar_t):
        alpha_bar      -> alpha_t            alpha_bar_prev -> alpha_{t-1} (1 after the last step)
        eps_pred       -> eps_theta(x_t)     x0_pred        -> "predicted x_0"
        sigma          -> sigma_t(eta)       eta            -> eta (0: deterministic; 1: DDPM-like)
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0 (0 deterministic, 1 DDPM-like), got {eta}")
    s = model.schedule
    ts = ddim_timesteps(s.T, steps)
    x = _noise(model, (n, 1, 28, 28), generator)  # x_T
    traj = _Trajectory(return_trajectory, trajectory_every)
    one = torch.ones((), device=x.device)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        # 1. the network's noise prediction (with guidance when asked)
        eps_pred = predict_eps(model, x, t, labels, guidance)
        alpha_bar = s.alpha_bar[t]
        alpha_bar_prev = s.alpha_bar[t_prev] if t_prev >= 0 else one
        # 2. compute predicted x0 ("predicted x_0" in eq. 12)
        x0_pred = (x - (1 - alpha_bar).sqrt() * eps_pred) / alpha_bar.sqrt()
        if clip_x0:  # keep x0_pred in the data range, and re-derive the noise it implies
            x0_pred = x0_pred.clamp(-1, 1)
            eps_pred = (x - alpha_bar.sqrt() * x0_pred) / (1 - alpha_bar).sqrt()
        traj.add(i, t, x, x0_pred, last=t_prev < 0)
        # 3. sigma_t(eta) (eq. 16)
        sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)).sqrt()
        # 4. "direction pointing to x_t" (eq. 12)
        direction = (1 - alpha_bar_prev - sigma**2).clamp(min=0).sqrt() * eps_pred
        # 5. x_{t-1} = sqrt(alpha_{t-1}) x0_pred + direction + sigma_t z   (eq. 12)
        x = alpha_bar_prev.sqrt() * x0_pred + direction
        if eta > 0 and t_prev >= 0:
            x = x + sigma * _noise(model, x.shape, generator)
    return traj.result(x)


@torch.no_grad()
def dpm_solver_sample(model, n: int, *, steps: int = 20, labels=None, generator=None, guidance=None,
                      return_trajectory=False, trajectory_every: int = 1, clip_x0: bool = True):
    """DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): a second-order multistep solver of
    the probability-flow ODE in the log-SNR time lambda_t = log(alpha_t / sigma_t), one network call per
    step, which reuses the previous step's x0_pred to cancel DDIM's first-order error.

    Symbols: alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t), h = lambda_s - lambda_t for the
    step t -> s. With D = x0_pred (first step) or the extrapolation
        D = (1 + 1 / (2 r)) x0_pred_t - 1 / (2 r) x0_pred_prev,   r = h_prev / h
    one step is   x_s = (sigma_s / sigma_t) x_t - alpha_s (exp(-h) - 1) D.
    With D = x0_pred always, this step is exactly DDIM's (eta = 0): DDIM is the first-order member.
    """
    s = model.schedule
    ts = ddim_timesteps(s.T, steps)
    x = _noise(model, (n, 1, 28, 28), generator)  # x_T
    traj = _Trajectory(return_trajectory, trajectory_every)
    x0_prev, h_prev = None, None
    for i, t in enumerate(ts):
        eps_pred = predict_eps(model, x, t, labels, guidance)
        alpha_bar = s.alpha_bar[t]
        x0_pred = (x - (1 - alpha_bar).sqrt() * eps_pred) / alpha_bar.sqrt()
        if clip_x0:
            x0_pred = x0_pred.clamp(-1, 1)
        last = i + 1 == len(ts)
        traj.add(i, t, x, x0_pred, last=last)
        if last:  # the final step lands on alpha = 1, sigma = 0: x_0 = x0_pred (as DDIM's last step)
            x = x0_pred
            break
        t_next = ts[i + 1]
        alpha_t, sigma_t = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        alpha_s, sigma_s = s.alpha_bar[t_next].sqrt(), (1 - s.alpha_bar[t_next]).sqrt()
        h = torch.log(alpha_s / sigma_s) - torch.log(alpha_t / sigma_t)
        if x0_prev is None or i + 2 == len(ts):  # first step, and the step before the last: first order
            D = x0_pred
        else:
            r = h_prev / h
            D = (1 + 1 / (2 * r)) * x0_pred - (1 / (2 * r)) * x0_prev
        x = (sigma_s / sigma_t) * x - alpha_s * torch.expm1(-h) * D
        x0_prev, h_prev = x0_pred, h
    return traj.result(x)


# ---- ODE solvers for flows: dx/dt = v(x, t), integrated from t = 1 (noise) to t = 0 (data) -----------

ODE_METHODS = ("euler", "midpoint", "heun")
CALLS_PER_STEP = {"euler": 1, "midpoint": 2, "heun": 2}  # network evaluations per step


def ode_timesteps(steps: int) -> torch.Tensor:
    """steps + 1 evenly spaced times from 1 down to 0 (float64 for exact end points)."""
    if steps < 1:
        raise ValueError(f"the number of ODE steps must be at least 1, got {steps}")
    return torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)


@torch.no_grad()
def ode_solve(velocity, x: torch.Tensor, *, steps: int, method: str = "euler", return_trajectory: bool = False):
    """Integrate dx/dt = velocity(x, t) from t = 1 to t = 0 in `steps` equal steps of h = 1 / steps.

        euler:    x <- x - h v(x, t)                                              (1 call, first order)
        midpoint: x <- x - h v(x - (h/2) v(x, t), t - h/2)                        (2 calls, second order)
        heun:     x' = x - h v(x, t);  x <- x - (h/2) (v(x, t) + v(x', t - h))    (2 calls, second order)

    `velocity(x, t)` takes t as a float. Returns x at t = 0, and with return_trajectory the states
    (steps + 1, *x.shape) and their times.
    """
    if method not in ODE_METHODS:
        raise ValueError(f"ODE method must be one of {ODE_METHODS}, got {method!r}")
    ts = ode_timesteps(steps)
    path = [x.detach().float().cpu()] if return_trajectory else None
    for i in range(steps):
        t, t_next = float(ts[i]), float(ts[i + 1])
        h = t - t_next  # > 0: we move backwards in t
        v = velocity(x, t)
        if method == "euler":
            x = x - h * v
        elif method == "midpoint":
            x = x - h * velocity(x - 0.5 * h * v, t - 0.5 * h)
        else:  # heun
            x_euler = x - h * v
            x = x - 0.5 * h * (v + velocity(x_euler, t_next))
        if return_trajectory:
            path.append(x.detach().float().cpu())
    if return_trajectory:
        return x, {"t": ts.float(), "x_t": torch.stack(path)}
    return x


def guided_velocity(model, labels: torch.Tensor | None, guidance: float | None):
    """velocity(x, t) of a flow model at a float t, with classifier-free guidance when `guidance` is given:
    v = v_uncond + w (v_cond - v_uncond), the same combination as for eps (genedu's w: 0 unconditional,
    1 conditional)."""
    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        t_batch = torch.full((len(x),), t, dtype=x.dtype, device=x.device)
        if guidance is None:
            return model.velocity(x, t_batch, labels)
        null = torch.full_like(labels, model.config.num_classes)
        v = model.velocity(torch.cat([x, x]), torch.cat([t_batch, t_batch]), torch.cat([labels, null]))
        v_cond, v_uncond = v.chunk(2)
        return guided_eps(v_cond, v_uncond, guidance)
    return velocity


@torch.no_grad()
def seed_sample(model, n: int, *, steps: int = 1, generator=None, return_trajectory=False):
    """The best one can do with the original notebook's denoiser: it learned net(x + eps) ~ eps at one noise
    level and no timestep, so start from x ~ N(0, I) and subtract its noise estimate, `steps` times:

        x <- x - net(x)

    (with steps = 1 this is the denoiser's own estimate of the clean image "behind" pure noise)."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x = _noise(model, (n, 1, 28, 28), generator)
    traj = _Trajectory(return_trajectory, 1)
    for i in range(steps):
        eps_pred = model.eps_pred(x)
        x0_pred = x - eps_pred
        traj.add(i, steps - i, x, x0_pred, last=i == steps - 1)
        x = x0_pred
    return traj.result(x)


# ---- drawing many samples: the one helper the CLI, the showdown, the references and the lessons use ----

class Drawn(NamedTuple):
    images: torch.Tensor  # (n, 1, 28, 28) float32 on the CPU, in [-1, 1]
    labels: torch.Tensor | None  # (n,) the requested classes, or None (unconditional)
    seconds: float  # wall-clock time the sampling took


CPU_BATCH = 100  # on a CPU, batches of about 100 draw 2-3x faster per image than 1,000 (the caches)


def default_batch(model) -> int:
    """Samples drawn at once: CPU_BATCH on a CPU, 1,000 on an accelerator."""
    return CPU_BATCH if model.device.type == "cpu" else 1000


def sample_batches(model, n: int, *, generator: torch.Generator | None = None, conditional: bool = True,
                   batch_size: int | None = None, bf16: bool = False, **sample_options):
    """Yield n samples of any genedu model as (images, labels) batches of at most `batch_size`, in order.

    images: (b, 1, 28, 28) float32 on the CPU in [-1, 1]; labels: the (b,) requested classes, or None.
    Only one batch is held at a time, so a caller that writes each batch out (`genedu sample`) can draw
    more samples than fit in memory. A class-conditional model is asked for balanced classes 0, 1, ...,
    9, 0, ... unless `conditional=False` (then its null label). Batches come from `generator` one after
    another, so the samples are those `draw_samples` returns for the same arguments. `batch_size` None:
    `default_batch(model)`. `bf16`: the network runs under bfloat16 autocast (faster on a CPU with bf16
    instructions; benchmarks/reference_cpu_sampling.py measures what it costs in quality).
    """
    batch_size = default_batch(model) if batch_size is None else batch_size
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be at least 1, got n={n}, batch_size={batch_size}")
    model.eval()
    balanced = model.conditional and conditional
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        labels = torch.arange(i, i + b) % model.config.num_classes if balanced else None  # (b,)
        with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
            images = model.sample(b, labels=None if labels is None else labels.to(model.device),
                                  generator=generator, **sample_options)
        yield images.float().cpu(), labels


@torch.no_grad()
def draw_samples(model, n: int, *, generator: torch.Generator | None = None, conditional: bool = True,
                 batch_size: int | None = None, bf16: bool = False, **sample_options) -> Drawn:
    """n samples of any genedu model, in batches of `batch_size`, from `generator`, timed.

    A class-conditional model is asked for balanced classes 0, 1, ..., 9, 0, ... unless
    `conditional=False` (then its null label: unconditional samples, as a VAE or GAN draws them).
    `sample_options` go to `model.sample` (the sampler, its steps, guidance, a VAE's prior).
    All n are returned in memory; `sample_batches` yields them one batch at a time.
    """
    import time

    start = time.perf_counter()
    batches = list(sample_batches(model, n, generator=generator, conditional=conditional,
                                  batch_size=batch_size, bf16=bf16, **sample_options))
    seconds = time.perf_counter() - start
    labels = None if batches[0][1] is None else torch.cat([y for _, y in batches])
    return Drawn(torch.cat([x for x, _ in batches]), labels, seconds)
