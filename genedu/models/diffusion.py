"""Diffusion: the original notebook's one-step denoiser, and a real DDPM (Ho et al. 2020).

Three separate things, as in huggingface/diffusers:

- :class:`NoiseSchedule` owns the forward process q(x_t | x_0) (betas, alphas, alpha_bar; ``q_sample``);
- :class:`UNet` only predicts the noise, ``eps_pred = unet(x_t, t, y)``;
- the samplers (DDPM ancestral, DDIM, classifier-free guidance) live in :mod:`genedu.sampling`
  and can be swapped without retraining.

Names follow the papers: Ho et al. (2020) "Denoising Diffusion Probabilistic Models" (DDPM) and
Nichol & Dhariwal (2021) "Improved Denoising Diffusion Probabilistic Models" (cosine schedule).

    q(x_t | x_0) = N( sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I )                       (Ho eq. 4)
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I)
    L_simple = E_{t, x_0, eps} || eps - eps_theta(x_t, t) ||^2                            (Ho eq. 14)

The `seed` preset is exactly the original notebook's "simplified diffusion": a 784-512-784 MLP fed
``x + noise`` (no timestep, no schedule) and trained with the MSE to the noise, Adam at 1e-3, batch 128.
Its ``sample`` is the honest best attempt to generate with it: start from noise and subtract the
predicted noise, ``x <- x - net(x)``, as many times as asked.

Class-conditional DDPMs (``num_classes > 0``) learn with labels replaced by a null class (index
``num_classes``) with probability ``p_uncond``, so one network is both conditional and unconditional
and classifier-free guidance (Ho & Salimans 2022) can mix the two at sampling time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..nn import AttnBlock, ResBlock, mlp, sinusoidal_embedding
from .base import GenerativeModel, register

SCHEDULES = ("linear", "cosine")
ARCHITECTURES = ("seed_mlp", "unet")
SAMPLERS = ("ddim", "ddpm", "dpm", "seed")
PREDICTIONS = ("eps", "v")


# ---- the noise schedule (forward process) ---------------------------------------------------------

def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """Ho et al. (2020), sec. 4: betas rising linearly from 1e-4 to 0.02 over T = 1000 steps (float64).

    For another T the end points are rescaled by 1000 / T so the total noise stays comparable
    (as in Nichol & Dhariwal's code)."""
    scale = 1000.0 / T
    return torch.linspace(scale * beta_start, scale * beta_end, T, dtype=torch.float64)


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal (2021), eq. 17: alpha_bar(t) = f(t) / f(0), f(t) = cos^2(((t/T + s) / (1 + s)) pi/2);
    beta_t = 1 - alpha_bar(t) / alpha_bar(t - 1), clipped at 0.999 (float64)."""
    steps = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(((steps / T) + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


class NoiseSchedule(nn.Module):
    """betas, alphas = 1 - betas and alpha_bar_t = prod_{s<=t} alphas_s, for t = 0 .. T-1.

    Computed in float64, stored as float32 buffers (so they move with the model and are saved with it).
    Index t here is the paper's t - 1: t = 0 is the first, least noisy step, t = T - 1 nearly pure noise.
    """

    def __init__(self, T: int = 1000, kind: str = "linear"):
        super().__init__()
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        self.T, self.kind = T, kind
        betas = linear_betas(T) if kind == "linear" else cosine_betas(T)
        alphas = 1.0 - betas
        alpha_bar = torch.cumprod(alphas, 0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
        # variance of the posterior q(x_{t-1} | x_t, x_0) (Ho eq. 7): beta_tilde_t
        posterior_var = betas * (1 - alpha_bar_prev) / (1 - alpha_bar)
        for name, v in (("betas", betas), ("alphas", alphas), ("alpha_bar", alpha_bar),
                        ("alpha_bar_prev", alpha_bar_prev), ("posterior_var", posterior_var)):
            self.register_buffer(name, v.float(), persistent=False)

    @staticmethod
    def _at(v: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """v[t] shaped (B, 1, 1, 1) to broadcast over images."""
        return v[t].view(-1, 1, 1, 1)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps   (Ho eq. 4, reparameterised)."""
        ab = self._at(self.alpha_bar, t)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    add_noise = q_sample  # the diffusers name

    def x0_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps_pred: torch.Tensor) -> torch.Tensor:
        """Invert q_sample: x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_pred) / sqrt(alpha_bar_t)   (Ho eq. 15)."""
        ab = self._at(self.alpha_bar, t)
        return (x_t - (1 - ab).sqrt() * eps_pred) / ab.sqrt()

    def snr(self, t: torch.Tensor | int) -> torch.Tensor:
        """Signal-to-noise ratio alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021)."""
        ab = self.alpha_bar[t]
        return ab / (1 - ab)

    def extra_repr(self) -> str:
        return f"T={self.T}, kind={self.kind!r}"


# ---- the network: a small UNet ----------------------------------------------------------------------

class ResStack(nn.Module):
    """`n` ResBlocks in a row (the first changes the channels); forward(x, emb) like one ResBlock."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, n: int):
        super().__init__()
        self.blocks = nn.ModuleList([ResBlock(c_in if i == 0 else c_out, c_out, emb_dim) for i in range(n)])

    def forward(self, x, emb):
        for block in self.blocks:
            x = block(x, emb)
        return x


class MidBlock(nn.Module):
    """The 7x7 bottleneck: ResBlock, self-attention over the 49 positions (when asked), ResBlock."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, attention: bool):
        super().__init__()
        self.res1 = ResBlock(c_in, c_out, emb_dim)
        self.attn = AttnBlock(c_out) if attention else None
        self.res2 = ResBlock(c_out, c_out, emb_dim)

    def forward(self, x, emb):
        h = self.res1(x, emb)
        if self.attn is not None:
            h = self.attn(h)
        return self.res2(h, emb)


def _stack(c_in: int, c_out: int, emb_dim: int, n: int) -> nn.Module:
    return ResBlock(c_in, c_out, emb_dim) if n == 1 else ResStack(c_in, c_out, emb_dim, n)


class UNet(nn.Module):
    """A UNet for 28x28: resolutions 28 -> 14 -> 7 and back, with skip connections.

    channels: (c28, c14) is the small laptop network (one ResBlock per level, one at 7x7, c14 channels
    there); (c28, c14, c7) adds a bottleneck of c7 channels at 7x7 (ResBlock, self-attention when
    `attention`, ResBlock), the shape that sizes for quality: more channels where the image is small.
    `blocks` ResBlocks per level on the way down and up.

    Every residual block gets emb = time_mlp(sinusoidal(t)) + label_embedding(y); label index
    `num_classes` is the null class ("no label") that classifier-free guidance needs. With
    `step_conditioned`, emb also adds step_mlp(sinusoidal(d)): the size d of the jump the output must
    take (a few-step flow, `genedu.models.flow`); step_mlp starts at zero, so a copy of a trained
    network begins as that network.
    Only predicts: (x_t (B, 1, 28, 28), t (B,), y (B,) or None[, d (B,)]) -> output (B, 1, 28, 28) (the
    noise eps, the velocity v, or a flow's velocity: what it was trained on).
    t may be fractional (a flow's t in [0, 1] is fed as 1000 t).
    """

    def __init__(self, channels: tuple[int, ...] = (16, 32), emb_dim: int = 128, num_classes: int = 0, *,
                 blocks: int = 1, attention: bool = False, step_conditioned: bool = False):
        super().__init__()
        c1, c2 = channels[0], channels[1]
        c3 = channels[2] if len(channels) == 3 else c2
        self.time_dim = c1
        self.time_mlp = nn.Sequential(nn.Linear(c1, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.num_classes = num_classes
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes > 0 else None
        self.step_mlp = None
        if step_conditioned:
            self.step_mlp = nn.Sequential(nn.Linear(c1, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            nn.init.zeros_(self.step_mlp[-1].weight)  # d changes nothing until training says otherwise
            nn.init.zeros_(self.step_mlp[-1].bias)
        self.inp = nn.Conv2d(1, c1, 3, padding=1)
        self.down1 = _stack(c1, c1, emb_dim, blocks)  # 28x28
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # 28 -> 14
        self.down2 = _stack(c1, c2, emb_dim, blocks)  # 14x14
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # 14 -> 7
        if len(channels) == 2 and not attention:
            self.mid = ResBlock(c2, c2, emb_dim)  # 7x7 (the small network's layout)
        else:
            self.mid = MidBlock(c2, c3, emb_dim, attention)  # 7x7
        self.up2 = _stack(c3 + c2, c2, emb_dim, blocks)  # 14x14, after upsampling and the skip
        self.up1 = _stack(c2 + c1, c1, emb_dim, blocks)  # 28x28
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 1, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # start by predicting 0: a calm first step
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None,
                d: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(sinusoidal_embedding(t, self.time_dim))  # (B, emb_dim)
        if self.label_emb is not None:
            if y is None:  # no labels: the null class, i.e. the unconditional model
                y = torch.full((len(x_t),), self.num_classes, dtype=torch.long, device=x_t.device)
            emb = emb + self.label_emb(y)
        if self.step_mlp is not None:
            if d is None:
                raise ValueError("this network is step-conditioned: pass d, the size of the jump (B,)")
            emb = emb + self.step_mlp(sinusoidal_embedding(d, self.time_dim))
        elif d is not None:
            raise ValueError("d (a jump's size) needs a step-conditioned network (a few-step flow)")
        h0 = self.inp(x_t)  # (B, c1, 28, 28)
        h1 = self.down1(h0, emb)  # (B, c1, 28, 28)
        h2 = self.down2(self.pool1(h1), emb)  # (B, c2, 14, 14)
        h = self.mid(self.pool2(h2), emb)  # (B, c3, 7, 7)
        h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")  # (B, c3, 14, 14)
        h = self.up2(torch.cat([h, h2], 1), emb)  # (B, c2, 14, 14)
        h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")  # (B, c2, 28, 28)
        h = self.up1(torch.cat([h, h1], 1), emb)  # (B, c1, 28, 28)
        return self.out(h)


def check_unet_settings(channels, blocks: int, attention: bool) -> tuple[int, ...]:
    """Validate a UNet's channels (returned as a tuple), blocks and attention; errors say what is expected."""
    channels = tuple(channels)
    if len(channels) not in (2, 3) or min(channels) < 8 or any(c % 8 for c in channels):
        raise ValueError(f"channels must be two or three multiples of 8 (GroupNorm uses 8 groups), got {channels}")
    if blocks < 1:
        raise ValueError(f"blocks (ResBlocks per resolution) must be at least 1, got {blocks}")
    if attention and channels[-1] % 4:
        raise ValueError(f"attention uses 4 heads: the 7x7 channels must be a multiple of 4, got {channels}")
    return channels


def eps_mse(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Mean squared error to the true noise, per example (B,): Ho et al.'s L_simple (eq. 14) per pixel."""
    return (eps_pred - eps).pow(2).flatten(1).mean(1)


# ---- config and presets ------------------------------------------------------------------------------

@dataclass
class DiffusionConfig:
    architecture: str = "unet"  # "unet" (a DDPM) or "seed_mlp" (the original's 784-512-784 denoiser, no t)
    hidden: int = 512  # seed_mlp only: width of its hidden layer
    channels: tuple[int, ...] = (16, 32)  # unet only: channels at 28x28, 14x14 [and a 7x7 bottleneck] (see UNet)
    emb_dim: int = 128  # unet only: size of the time (+ label) embedding
    blocks: int = 1  # unet only: ResBlocks per resolution on the way down and on the way up
    attention: bool = False  # unet only: self-attention in the 7x7 bottleneck
    prediction: str = "eps"  # what the network predicts: "eps" (Ho et al.) or "v" (Salimans & Ho 2022)
    T: int = 1000  # number of diffusion steps of the forward process
    schedule: str = "linear"  # "linear" (Ho et al. 2020) or "cosine" (Nichol & Dhariwal 2021)
    num_classes: int = 0  # > 0: class-conditional, with a null class for classifier-free guidance
    p_uncond: float = 0.1  # conditional only: probability a training label is replaced by the null class
    lr: float = 1e-3  # Adam learning rate
    grad_clip: float = 1.0  # clip the gradient norm to this (0: no clipping)
    batch_size: int = 128  # batch size `fit` uses unless told otherwise

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.T < 2:
            raise ValueError(f"T is the number of diffusion steps and must be at least 2, got {self.T}")
        self.channels = check_unet_settings(self.channels, self.blocks, self.attention)
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.emb_dim < 2 or self.emb_dim % 2:
            raise ValueError(f"emb_dim must be even and >= 2, got {self.emb_dim}")
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
        if not 0.0 <= self.p_uncond < 1.0:
            raise ValueError(f"p_uncond is a probability in [0, 1), got {self.p_uncond}")
        if self.architecture == "seed_mlp" and self.num_classes:
            raise ValueError("the seed_mlp denoiser is the original's and takes no labels: use num_classes=0")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip must be >= 0 (0 turns it off), got {self.grad_clip}")


# ---- the model -----------------------------------------------------------------------------------------

@register
class Diffusion(GenerativeModel):
    """A denoising diffusion model: schedule + network; sampling delegates to genedu.sampling."""

    family = "diffusion"
    Config = DiffusionConfig
    PRESETS = {
        # the original notebook's "simplified diffusion", unchanged: no timestep, noise added once
        "seed": DiffusionConfig(architecture="seed_mlp", lr=1e-3, grad_clip=0.0),
        # a class-conditional DDPM with a null class (so also unconditional, and guidable); ~0.3 s/step on CPU
        "ddpm": DiffusionConfig(architecture="unet", num_classes=10, p_uncond=0.1),
        # the same network unconditional only
        "ddpm_uncond": DiffusionConfig(architecture="unet", num_classes=0),
        # LAPTOP: the small network with the recipe the schedule/parameterisation study chose
        # (benchmarks/results/gpu_references.json, job "study":
        # cosine + v FID 28.1 against linear + eps 73.6 at 180,000 images): what a learner trains on a CPU in minutes
        "laptop": DiffusionConfig(architecture="unet", channels=(16, 32), num_classes=10, p_uncond=0.1,
                                  schedule="cosine", prediction="v", lr=2e-3),
        # REFERENCE: sized for quality at 28x28 (32 / 64 / 128 channels at 28 / 14 / 7, two ResBlocks per
        # level, self-attention at 7x7; 1.1 M parameters), cosine schedule, v-prediction; trained on a GPU
        "reference": DiffusionConfig(architecture="unet", channels=(32, 64, 128), blocks=2, attention=True,
                                     num_classes=10, p_uncond=0.1, schedule="cosine", prediction="v",
                                     lr=1e-3, batch_size=256),
    }
    # EMA with warm-up, learning-rate warm-up and cosine decay over the budget
    RECIPES = {"laptop": {"ema": 0.999, "lr_warmup": 200, "lr_decay": "cosine"},
               "reference": {"ema": 0.9995, "lr_warmup": 500, "lr_decay": "cosine"}}

    def __init__(self, config: DiffusionConfig):
        super().__init__(config)
        c = config
        if c.architecture == "seed_mlp":
            self.net = mlp([784, c.hidden, 784])  # the original's nn.Sequential(Linear, ReLU, Linear)
            self.schedule = None
        else:
            self.net = UNet(c.channels, c.emb_dim, c.num_classes, blocks=c.blocks, attention=c.attention)
            self.schedule = NoiseSchedule(c.T, c.schedule)

    @property
    def is_seed(self) -> bool:
        return self.config.architecture == "seed_mlp"

    def eps_pred(self, x_t: torch.Tensor, t: torch.Tensor | None = None,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        """The network's noise prediction for x_t (B, 1, 28, 28) at timesteps t (B,), labels y or None."""
        if self.is_seed:
            return self.net(x_t.flatten(1)).view_as(x_t)
        out = self.net(x_t, t, y)
        if self.config.prediction == "v":  # eps = sqrt(alpha_bar) v + sqrt(1 - alpha_bar) x_t
            ab = self.schedule._at(self.schedule.alpha_bar, t)
            return ab.sqrt() * out + (1 - ab).sqrt() * x_t
        return out

    forward = eps_pred

    def loss_per_example(self, x0: torch.Tensor, y: torch.Tensor | None = None, *,
                         t: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """eps-MSE per example (B,) and the timesteps t (B,) it was measured at."""
        eps = torch.randn_like(x0)
        if self.is_seed:  # the original: noise added once, at one fixed level, no timestep
            return {"eps_mse": eps_mse(self.eps_pred(x0 + eps), eps)}
        B = len(x0)
        if t is None:
            t = torch.randint(0, self.config.T, (B,), device=x0.device)
        x_t = self.schedule.q_sample(x0, t, eps)
        if self.conditional:
            drop = torch.rand(B, device=x0.device) < self.config.p_uncond
            y = torch.where(drop, torch.full_like(y, self.config.num_classes), y)  # null class
        else:
            y = None
        if self.config.prediction == "v":
            # v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022, sec. 4). Since
            # eps_pred - eps = sqrt(alpha_bar) (v_pred - v), the v-MSE is the eps-MSE times 1 + 1/SNR_t: it
            # weighs the noisiest steps (where predicting eps is trivial) up, and never divides by ~0.
            ab = self.schedule._at(self.schedule.alpha_bar, t)
            v = ab.sqrt() * eps - (1 - ab).sqrt() * x0
            return {"v_mse": eps_mse(self.net(x_t, t, y), v), "t": t}
        return {"eps_mse": eps_mse(self.eps_pred(x_t, t, y), eps), "t": t}

    @torch.no_grad()
    def loss_per_timestep(self, x0: torch.Tensor, y: torch.Tensor | None = None, ts=None, *,
                          generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean eps-MSE of images x0 at each timestep in `ts` (default: 20 evenly spaced), (len(ts),).

        The same noise for every t (drawn from `generator`); labels as given (no dropout)."""
        if self.is_seed:
            raise ValueError("the seed denoiser has no timestep; its loss is one number (eps_mse)")
        ts = torch.linspace(0, self.config.T - 1, 20).round().long() if ts is None else torch.as_tensor(ts)
        eps = self.randn(*x0.shape, generator=generator)
        x0 = x0.to(self.device)
        y = y.to(self.device) if (y is not None and self.conditional) else None
        out = []
        for t in ts.tolist():
            tt = torch.full((len(x0),), t, device=self.device, dtype=torch.long)
            out.append(eps_mse(self.eps_pred(self.schedule.q_sample(x0, tt, eps), tt, y), eps).mean())
        return torch.stack(out).cpu()

    def configure_optimizers(self):
        return {"opt": torch.optim.Adam(self.net.parameters(), lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        x, y = batch
        parts = self.loss_per_example(x, y)
        name = "v_mse" if "v_mse" in parts else "eps_mse"  # what the network was trained to predict
        loss = parts[name].mean()
        opt = optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        opt.step()
        out = {"loss": loss.item(), name: loss.item()}
        if "t" in parts:  # the loss per quarter of the timestep range (improved-diffusion's logging)
            q = (parts["t"] * 4) // self.config.T
            for i in range(4):
                sel = parts[name][q == i].detach()
                if len(sel):  # a quarter absent from a small batch is simply not reported this step
                    out[f"{name}_q{i + 1}"] = sel.mean().item()
        return out

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, sampler: str | None = None, steps: int | None = None,
               eta: float = 0.0, guidance: float | None = None, return_trajectory: bool = False,
               trajectory_every: int = 1, clip_x0: bool = True):
        """n images (n, 1, 28, 28) in [-1, 1]; with return_trajectory also a dict of the path.

        sampler: "ddim" (default; `steps` of them, 50 by default, `eta` 0 = deterministic), "dpm"
        (DPM-Solver++ 2M, second order, `steps` network calls, 20 by default), "ddpm"
        (ancestral, all T steps) or "seed" (the seed preset's only option: x <- x - net(x), `steps` times).
        labels: (n,) digits for a conditional model; None there means the null class (unconditional).
        guidance: classifier-free guidance scale w (0 = unconditional, 1 = conditional, > 1 = guided).
        """
        from .. import sampling

        if self.is_seed:
            sampler = sampler or "seed"
            if sampler != "seed" or labels is not None or guidance is not None:
                raise ValueError("the seed denoiser has no timestep and no labels: it can only use sampler='seed' "
                                 "(x <- x - net(x)); DDPM/DDIM need a model trained on a noise schedule")
            return sampling.seed_sample(self, n, steps=steps or 1, generator=generator,
                                        return_trajectory=return_trajectory)
        sampler = sampler or "ddim"
        if sampler not in ("ddim", "ddpm", "dpm"):
            raise ValueError(f"sampler must be 'ddim', 'dpm' or 'ddpm' for this model, got {sampler!r}")
        if labels is not None or not self.conditional or self.config.p_uncond == 0:
            labels = self.check_labels(n, labels)
        if guidance is not None and not self.conditional:
            raise ValueError("guidance needs a class-conditional model (num_classes > 0) trained with p_uncond > 0")
        if guidance is not None and labels is None:
            raise ValueError("guidance pushes samples towards labels: pass labels (n,) digits 0..9")
        opts = dict(labels=labels, generator=generator, guidance=guidance, return_trajectory=return_trajectory,
                    trajectory_every=trajectory_every, clip_x0=clip_x0)
        if sampler == "ddpm":
            if steps not in (None, self.config.T):
                raise ValueError(f"DDPM ancestral sampling takes all T={self.config.T} steps; "
                                 f"for fewer steps use sampler='ddim' (eta=1 is its stochastic, DDPM-like variant)")
            return sampling.ddpm_sample(self, n, **opts)
        if sampler == "dpm":
            if eta:
                raise ValueError("sampler='dpm' (DPM-Solver++ 2M) is deterministic: eta must be 0")
            return sampling.dpm_solver_sample(self, n, steps=steps or 20, **opts)
        return sampling.ddim_sample(self, n, steps=steps or 50, eta=eta, **opts)
