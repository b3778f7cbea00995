"""Flow matching / rectified flow: a velocity field on the straight path from data to noise.

Convention (one for the whole file, as in the diffusion family: t = 0 is data, t = 1 is noise):

    x_t = (1 - t) x_0 + t eps,   x_0 ~ data,  eps ~ N(0, I),  t ~ U(0, 1)
    target velocity  u_t = d x_t / dt = eps - x_0
    L_CFM = E_{t, x_0, eps} || v_theta(x_t, t) - (eps - x_0) ||^2

This is conditional flow matching with the linear (optimal-transport) path of Lipman et al. (2023,
"Flow Matching for Generative Modeling") and the rectified flow of Liu et al. (2023, "Flow Straight and
Fast"). The conditional loss has the same gradient as the intractable regression onto the marginal
velocity field v*(x, t) = E[eps - x_0 | x_t = x], so the network learns v*, whose ODE dx/dt = v*(x, t)
carries N(0, I) at t = 1 to the data at t = 0. Sampling integrates that ODE backwards with any solver
(`genedu.sampling.ode_solve`: Euler, midpoint, Heun); straighter paths need fewer steps.

Three things, as for diffusion: the path (:func:`path_sample`), the network (the diffusion family's
:class:`~genedu.models.diffusion.UNet`, shared, fed 1000 t as its timestep) and the solver. Labels and a
null class give classifier-free guidance, v = v_uncond + w (v_cond - v_uncond).

Reflow (Liu et al. 2023, sec. 3.3): sample (eps, x_0) pairs by solving the trained flow's ODE, then
train again on those couplings instead of independent ones (:func:`reflow_couplings`): the new flow's
paths cross less, are straighter (:func:`path_straightness`) and need fewer steps.

Few-step flow (`few_steps`, a distilled shortcut model): the network also sees d, the size of the jump it
must take (Frans et al. 2024, "One Step Diffusion via Shortcut Models"), and learns, for each step count K
in `few_steps`, the velocity that lands exactly where a trained teacher's accurate ODE solution lands
after a jump of d = 1/K. Its targets come from the teacher's solved paths (:func:`teacher_paths`), as in
distilled rectified flow (Liu et al. 2023, sec. 3.3): v(x_t, t, d) = (x_t - x_{t-d}) / d. One network then
draws in 1, 2 or 4 calls with Euler steps of size d.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import GenerativeModel, register
from .diffusion import UNet, check_unet_settings

ODE_METHODS = ("euler", "midpoint", "heun")
FEW_STEP_LOSSES = ("mse", "pseudo_huber")
PSEUDO_HUBER_C = 0.015  # c of sqrt(mse + c^2) - c: 0.00054 sqrt(784) (Song & Dhariwal 2023, scaled to MNIST)


def path_sample(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear path at times t (B,): x_t = (1 - t) x_0 + t eps, and its velocity u_t = eps - x_0."""
    t_ = t.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1 - t_) * x0 + t_ * eps, eps - x0


def jump_velocity_target(x_a: torch.Tensor, x_b: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """The velocity that lands on x_b from x_a in one Euler jump of size d (B,): x_b = x_a - d v, so
    v = (x_a - x_b) / d. A few-step flow's target, with x_a, x_b a teacher's states at t and t - d."""
    return (x_a - x_b) / d.view(-1, *([1] * (x_a.dim() - 1))).to(x_a.dtype)


TIME_SAMPLING = ("uniform", "u_shaped")
U_SHAPE = 4.0  # the U-shaped density's sharpness a: p(t) proportional to cosh(a (t - 1/2)) on [0, 1]


def sample_times(n: int, kind: str = "uniform", *, device=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """n training times in [0, 1]: uniform, or U-shaped (inverse CDF of p(t) ~ cosh(a (t - 1/2)):
    t = 1/2 + asinh((2u - 1) sinh(a / 2)) / a for u ~ U(0, 1))."""
    u = torch.rand(n, device=device, generator=generator)
    if kind == "uniform":
        return u
    if kind == "u_shaped":
        a = U_SHAPE
        return (0.5 + torch.asinh((2 * u - 1) * torch.sinh(torch.tensor(a / 2))) / a).clamp(0.0, 1.0)
    raise ValueError(f"time sampling must be one of {TIME_SAMPLING}, got {kind!r}")


@dataclass
class FlowConfig:
    channels: tuple[int, ...] = (16, 32)  # UNet channels at 28x28, 14x14 [and a 7x7 bottleneck] (as diffusion's)
    emb_dim: int = 128  # size of the time (+ label) embedding
    blocks: int = 1  # ResBlocks per resolution on the way down and on the way up
    attention: bool = False  # self-attention in the 7x7 bottleneck
    num_classes: int = 10  # > 0: class-conditional, with a null class for classifier-free guidance
    p_uncond: float = 0.1  # conditional only: probability a training label is replaced by the null class
    time_scale: float = 1000.0  # t in [0, 1] enters the UNet's sinusoidal embedding as time_scale * t
    lr: float = 1e-3  # Adam learning rate
    grad_clip: float = 1.0  # clip the gradient norm to this (0: no clipping)
    batch_size: int = 128  # batch size `fit` uses unless told otherwise
    # how training draws t: "uniform" (t ~ U(0, 1), Lipman et al., Liu et al.) or "u_shaped" (density
    # proportional to cosh(4 (t - 1/2)): more weight near the data and the noise ends, where a few-step
    # sampler evaluates the network; Lee et al. 2024, "Improving the Training of Rectified Flows", for reflow)
    time_sampling: str = "uniform"
    # a few-step flow: the step counts K it learns to draw with (jumps of d = 1/K), e.g. (1, 2, 4), each
    # dividing the largest; () is an ordinary flow. It trains on a teacher's paths (TeacherPaths).
    few_steps: tuple[int, ...] = ()
    few_step_loss: str = "mse"  # few-step flows: "mse" or "pseudo_huber" on each example's velocity error

    def __post_init__(self):
        self.few_steps = tuple(int(k) for k in self.few_steps)
        if self.few_steps:
            if min(self.few_steps) < 1 or len(set(self.few_steps)) != len(self.few_steps) or any(
                    max(self.few_steps) % k for k in self.few_steps):
                raise ValueError(f"few_steps must be distinct positive step counts that each divide the largest "
                                 f"(e.g. (1, 2, 4)), got {self.few_steps}")
            self.few_steps = tuple(sorted(self.few_steps))
        if self.few_step_loss not in FEW_STEP_LOSSES:
            raise ValueError(f"few_step_loss must be one of {FEW_STEP_LOSSES}, got {self.few_step_loss!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        self.channels = check_unet_settings(self.channels, self.blocks, self.attention)
        if self.time_sampling not in TIME_SAMPLING:
            raise ValueError(f"time_sampling must be one of {TIME_SAMPLING}, got {self.time_sampling!r}")
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
        if not 0.0 <= self.p_uncond < 1.0:
            raise ValueError(f"p_uncond is a probability in [0, 1), got {self.p_uncond}")
        if self.time_scale <= 0 or self.lr <= 0:
            raise ValueError(f"time_scale and lr must be positive, got {self.time_scale}, {self.lr}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip must be >= 0 (0 turns it off), got {self.grad_clip}")


@register
class Flow(GenerativeModel):
    """Flow matching on MNIST: path + the diffusion UNet as velocity network; ODE solvers sample."""

    family = "flow"
    Config = FlowConfig
    PRESETS = {
        # LAPTOP: the diffusion `laptop` / `ddpm` network (126k parameters), for a CPU in minutes
        "laptop": FlowConfig(channels=(16, 32), lr=2e-3),
        # REFERENCE: the diffusion `reference` network (1.2 M parameters), trained on a GPU
        "reference": FlowConfig(channels=(32, 64, 128), blocks=2, attention=True, batch_size=256),
    }
    # as the diffusion presets on the same network
    RECIPES = {"laptop": {"ema": 0.999, "lr_warmup": 200, "lr_decay": "cosine"},
               "reference": {"ema": 0.9995, "lr_warmup": 500, "lr_decay": "cosine"}}

    def __init__(self, config: FlowConfig):
        super().__init__(config)
        c = config
        self.net = UNet(c.channels, c.emb_dim, c.num_classes, blocks=c.blocks, attention=c.attention,
                        step_conditioned=bool(c.few_steps))

    def velocity(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None,
                 d: torch.Tensor | None = None) -> torch.Tensor:
        """v_theta(x_t, t, y[, d]): x_t (B, 1, 28, 28), t (B,) floats in [0, 1], y (B,) or None (null class);
        d (B,): a few-step flow's jump size (the velocity that lands at t - d in one Euler step)."""
        if self.config.few_steps and d is None:
            raise ValueError(f"a few-step flow needs d, the jump's size: one of "
                             f"{[1 / k for k in self.config.few_steps]}")
        return self.net(x_t, t * self.config.time_scale, y,
                        None if d is None else d * self.config.time_scale)

    forward = velocity

    def loss_per_example(self, x0: torch.Tensor, y: torch.Tensor | None = None, *, t: torch.Tensor | None = None,
                         eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The flow-matching loss per example (B,) and the times t (B,). `eps` given: a fixed coupling (reflow)."""
        B = len(x0)
        eps = torch.randn_like(x0) if eps is None else eps
        t = sample_times(B, self.config.time_sampling, device=x0.device) if t is None else t
        x_t, target = path_sample(x0, eps, t)
        if self.conditional and y is not None:
            drop = torch.rand(B, device=x0.device) < self.config.p_uncond
            y = torch.where(drop, torch.full_like(y, self.config.num_classes), y)  # null class
        elif not self.conditional:
            y = None
        v_pred = self.velocity(x_t, t, y)
        return {"v_mse": (v_pred - target).pow(2).flatten(1).mean(1), "t": t}

    def configure_optimizers(self):
        return {"opt": torch.optim.Adam(self.net.parameters(), lr=self.config.lr)}

    def few_step_loss_per_example(self, states: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """A few-step flow's distillation loss per example (B,), on a teacher's solved paths.

        states (B, K + 1, 1, 28, 28): the teacher's ODE solution at t_k = 1 - k / K, k = 0..K (k = 0 the noise,
        k = K the image). Each example draws one of the learned step counts S and one of its S jumps,
        from t_a down to t_b = t_a - d (d = 1 / S); the target is the velocity that lands on the teacher's
        x_{t_b} in one Euler step: (x_{t_a} - x_{t_b}) / d.
        """
        B, K = len(states), states.shape[1] - 1
        if K % max(self.config.few_steps):
            raise ValueError(f"the teacher's paths have {K} segments; the learned step counts "
                             f"{self.config.few_steps} need a multiple of {max(self.config.few_steps)}")
        counts = torch.tensor(self.config.few_steps, device=states.device)
        S = counts[torch.randint(len(counts), (B,), device=states.device)]  # (B,) step count per example
        j = (torch.rand(B, device=states.device) * S).long().clamp(max=S - 1)  # which of its S jumps
        a, b = j * (K // S), (j + 1) * (K // S)  # state indices of the jump's two ends
        rows = torch.arange(B, device=states.device)
        x_a, x_b = states[rows, a], states[rows, b]  # (B, 1, 28, 28) each
        d = 1.0 / S.to(states.dtype)
        t = 1.0 - a.to(states.dtype) / K
        target = jump_velocity_target(x_a, x_b, d)
        mse = (self.velocity(x_a, t, y if self.conditional else None, d) - target).pow(2).flatten(1).mean(1)
        loss = mse if self.config.few_step_loss == "mse" else (mse + PSEUDO_HUBER_C ** 2).sqrt() - PSEUDO_HUBER_C
        return {"loss": loss, "v_mse": mse, "steps": S}

    def train_step(self, batch, optimizers):
        """batch = (x, y) with fresh noise, (x, y, eps) for reflow's fixed couplings, or (states, y) from
        TeacherPaths for a few-step flow."""
        if self.config.few_steps:
            return self._few_step_train_step(batch, optimizers)
        x, y = batch[0], batch[1]
        eps = batch[2] if len(batch) > 2 else None
        parts = self.loss_per_example(x, y, eps=eps)
        loss = self._optimise(parts["v_mse"].mean(), optimizers)
        out = {"loss": loss, "v_mse": loss}
        q = (parts["t"] * 4).long().clamp(max=3)  # the loss per quarter of [0, 1] (t = 1 is noise)
        for i in range(4):
            sel = parts["v_mse"][q == i].detach()
            if len(sel):
                out[f"v_mse_q{i + 1}"] = sel.mean().item()
        return out

    def _optimise(self, loss: torch.Tensor, optimizers) -> float:
        """One optimiser step on `loss` (gradient clipped to grad_clip); returns the loss as a float."""
        opt = optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        opt.step()
        return loss.item()

    def _few_step_train_step(self, batch, optimizers):
        states, y = batch[0], batch[1]
        if states.dim() != 5:
            raise ValueError("a few-step flow trains on a teacher's paths (TeacherPaths: batches of states "
                             f"(B, K + 1, 1, 28, 28)), got a batch of shape {tuple(states.shape)}")
        parts = self.few_step_loss_per_example(states, y)
        out = {"loss": self._optimise(parts["loss"].mean(), optimizers), "v_mse": parts["v_mse"].mean().item()}
        for k in self.config.few_steps:  # the error per step count: is the 1-step jump the hard one?
            sel = parts["v_mse"][parts["steps"] == k].detach()
            if len(sel):
                out[f"v_mse_{k}step"] = sel.mean().item()
        return out

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, method: str = "heun", steps: int = 10,
               guidance: float | None = None, noise: torch.Tensor | None = None, return_trajectory: bool = False):
        """n images (n, 1, 28, 28) in [-1, 1]: solve dx/dt = v(x, t) from eps at t = 1 to t = 0.

        method: "euler" (1 network call per step), "midpoint" or "heun" (2 per step); `steps` of them.
        labels: (n,) digits for a conditional model, or None (the null class: unconditional).
        guidance: classifier-free guidance scale w (0 unconditional, 1 conditional, > 1 pushed further).
        noise: the starting eps (n, 1, 28, 28) instead of drawing it from `generator` (to compare solvers
        or models on the same noise, or to build reflow couplings).
        """
        from ..sampling import guided_velocity, ode_solve

        if method not in ODE_METHODS:
            raise ValueError(f"method must be one of {ODE_METHODS}, got {method!r}")
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        few = self.config.few_steps
        if few and (method != "euler" or steps not in few or guidance is not None):
            raise ValueError(f"this few-step flow learned Euler jumps for steps in {few} (no guidance); "
                             f"got method={method!r}, steps={steps}, guidance={guidance}")
        if labels is not None or not self.conditional or self.config.p_uncond == 0:
            labels = self.check_labels(n, labels)
        if guidance is not None and (not self.conditional or labels is None):
            raise ValueError("guidance needs a class-conditional flow and labels (n,) digits 0..9")
        if noise is None:
            x = self.randn(n, 1, 28, 28, generator=generator)
        else:
            if noise.shape != (n, 1, 28, 28):
                raise ValueError(f"noise must have shape ({n}, 1, 28, 28), got {tuple(noise.shape)}")
            x = noise.to(self.device)
        velocity = guided_velocity(self, labels, guidance) if not few else self._jump_velocity(labels, 1.0 / steps)
        out = ode_solve(velocity, x, steps=steps, method=method, return_trajectory=return_trajectory)
        if return_trajectory:
            x, traj = out
            return x.clamp(-1, 1), traj
        return out.clamp(-1, 1)


    def _jump_velocity(self, labels: torch.Tensor | None, d: float):
        """velocity(x, t) of a few-step flow taking jumps of size d (ode_solve's interface)."""
        def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
            t_batch = torch.full((len(x),), t, dtype=x.dtype, device=x.device)
            return self.velocity(x, t_batch, labels, torch.full_like(t_batch, d))
        return velocity


# ---- few-step distillation: a teacher's solved paths -------------------------------------------------

class TeacherPaths:
    """A teacher flow's ODE solutions at K + 1 evenly spaced times, which `fit` trains a few-step flow on:
    states (N, K + 1, 1, 28, 28) at t_k = 1 - k / K (k = 0 the noise, k = K the image), labels (N,).
    Batches yield (states, labels). Built by :func:`teacher_paths`."""

    def __init__(self, states: torch.Tensor, labels: torch.Tensor):
        if states.dim() != 5 or states.shape[1] < 2 or states.shape[2:] != (1, 28, 28) or len(labels) != len(states):
            raise ValueError(f"teacher paths need states (N, K + 1, 1, 28, 28) and labels (N,); got "
                             f"{tuple(states.shape)}, {tuple(labels.shape)}")
        self.states, self.labels = states, labels

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device) -> "TeacherPaths":
        return TeacherPaths(self.states.to(device), self.labels.to(device))

    def batches(self, batch_size: int = 128, *, seed: int = 0, epoch: int = 0, start: int = 0):
        from ..data import batches_per_epoch, epoch_permutation

        perm = epoch_permutation(len(self), seed=seed, epoch=epoch).to(self.states.device)
        for b in range(start, batches_per_epoch(len(self), batch_size)):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            yield self.states[idx], self.labels[idx]


@torch.no_grad()
def teacher_paths(teacher: Flow, n: int, *, segments: int = 4, steps_per_segment: int = 3, method: str = "midpoint",
                  seed: int = 0, batch_size: int = 1000) -> TeacherPaths:
    """n paths of a trained flow, solved accurately (`segments` x `steps_per_segment` steps of `method`)
    and kept at segments + 1 evenly spaced times; class-balanced labels, noise seeded `seed`."""
    if n < 1 or segments < 1 or steps_per_segment < 1:
        raise ValueError(f"teacher_paths needs n, segments and steps_per_segment >= 1, got {n}, {segments}, "
                         f"{steps_per_segment}")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % teacher.config.num_classes if teacher.conditional else torch.zeros(n, dtype=torch.long)
    out = []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        eps = torch.randn(m, 1, 28, 28, generator=g)
        lab = labels[i:i + m].to(teacher.device) if teacher.conditional else None
        _, traj = teacher.sample(m, labels=lab, noise=eps, steps=segments * steps_per_segment, method=method,
                                 return_trajectory=True)
        states = traj["x_t"][::steps_per_segment].transpose(0, 1).contiguous()  # (m, segments + 1, 1, 28, 28)
        states[:, -1].clamp_(-1, 1)  # the image, as the teacher's sample() returns it
        out.append(states)
    return TeacherPaths(torch.cat(out), labels)


def few_step_student(teacher: Flow, few_steps=(1, 2, 4), **overrides) -> Flow:
    """A few-step flow that starts as a copy of `teacher` (its jump-size embedding starts at zero)."""
    import dataclasses

    student = Flow(dataclasses.replace(teacher.config, few_steps=tuple(few_steps), **overrides))
    missing, unexpected = student.load_state_dict(teacher.state_dict(), strict=False)
    if unexpected or any(not k.startswith("net.step_mlp.") for k in missing):
        raise ValueError(f"the teacher's weights do not fit the student: missing {missing}, unexpected {unexpected}")
    return student.to(teacher.device)


# ---- reflow: train again on the flow's own (noise, sample) couplings ----------------------------------

class Couplings:
    """(x_0, y, eps) triples that `fit` can train on like MNIST: batches yield (x, y, eps).

    Built by :func:`reflow_couplings` from a trained flow: eps is the starting noise, x_0 where the ODE took it.
    """

    def __init__(self, x0: torch.Tensor, labels: torch.Tensor, eps: torch.Tensor):
        if not (len(x0) == len(labels) == len(eps)) or x0.shape != eps.shape:
            raise ValueError(f"couplings need x0, labels, eps of one length and x0.shape == eps.shape; got "
                             f"{tuple(x0.shape)}, {tuple(labels.shape)}, {tuple(eps.shape)}")
        self.x0, self.labels, self.eps = x0, labels, eps

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device) -> "Couplings":
        return Couplings(self.x0.to(device), self.labels.to(device), self.eps.to(device))

    def batches(self, batch_size: int = 128, *, seed: int = 0, epoch: int = 0, start: int = 0):
        from ..data import batches_per_epoch, epoch_permutation

        perm = epoch_permutation(len(self), seed=seed, epoch=epoch).to(self.x0.device)
        for b in range(start, batches_per_epoch(len(self), batch_size)):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            yield self.x0[idx], self.labels[idx], self.eps[idx]


@torch.no_grad()
def reflow_couplings(model: Flow, n: int, *, steps: int = 20, method: str = "heun", guidance: float | None = None,
                     seed: int = 0, batch_size: int = 1000) -> Couplings:
    """n (eps, x_0 = ODE(eps)) pairs from a trained flow, class-balanced labels, noise seeded `seed`:
    the couplings 2-rectified flow trains on (Liu et al. 2023, Algorithm 1, "reflow")."""
    if n < 1:
        raise ValueError(f"reflow needs at least one coupling, got n={n}")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % model.config.num_classes if model.conditional else torch.zeros(n, dtype=torch.long)
    xs, es = [], []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        eps = torch.randn(m, 1, 28, 28, generator=g)
        lab = labels[i:i + m].to(model.device) if model.conditional else None
        xs.append(model.sample(m, labels=lab, noise=eps, steps=steps, method=method, guidance=guidance).cpu())
        es.append(eps)
    return Couplings(torch.cat(xs), labels, torch.cat(es))


@torch.no_grad()
def path_straightness(model: Flow, n: int = 256, *, steps: int = 50, seed: int = 0,
                      labels: torch.Tensor | None = None) -> dict[str, float]:
    """How straight the learned ODE paths are, on n noise draws solved with `steps` Euler steps:

    - straightness S = mean over the path of || (x_1 - x_0) - v(x_t, t) ||^2 per pixel (Liu et al. 2023,
      eq. 5): 0 exactly when every path is a straight line travelled at constant speed;
    - length_ratio = path length / distance between its ends (1 for a straight line).
    """
    from ..sampling import guided_velocity, ode_timesteps

    g = torch.Generator().manual_seed(seed)
    if model.conditional and labels is None:
        labels = torch.arange(n) % model.config.num_classes
    labels = labels.to(model.device) if labels is not None else None
    x = model.randn(n, 1, 28, 28, generator=g)
    x1 = x.clone()
    velocity = guided_velocity(model, labels, None)
    ts = ode_timesteps(steps)
    vs, length = [], torch.zeros(n, device=x.device)
    for i in range(steps):
        h = float(ts[i] - ts[i + 1])
        v = velocity(x, float(ts[i]))
        vs.append(v)
        x_next = x - h * v
        length += (x_next - x).flatten(1).norm(dim=1)
        x = x_next
    chord = x1 - x  # x_1 - x_0: the displacement of a straight path
    s = torch.stack([(chord - v).pow(2).flatten(1).mean(1) for v in vs]).mean()
    ratio = (length / chord.flatten(1).norm(dim=1)).mean()
    return {"straightness": float(s), "length_ratio": float(ratio), "steps": steps, "n": n}
