"""Generative adversarial network (Goodfellow et al. 2014, "Generative Adversarial Nets"; DCGAN:
Radford et al. 2016; conditional GAN: Mirza & Osindero 2014 with a projection discriminator,
Miyato & Koyama 2018; spectral normalisation: Miyato et al. 2018).

A generator G maps noise z ~ N(0, I) to an image; a discriminator D scores images as real or fake.
They play the minimax game (eq. 1 of the paper)

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

one explicit D step, then one G step, per batch (the two banner blocks of `train_step`, as in
pytorch/examples `dcgan/main.py`). The losses live in `genedu.losses` (`gan_d_loss`, `gan_g_loss`).

Presets:
- `seed`: exactly the original notebook's GAN: MLP G 20-256-784 (ReLU, tanh), MLP D 784-256-1
  (LeakyReLU 0.2, sigmoid), BCE on the sigmoid outputs, Adam 2e-4 (default betas) for both, batch 128;
  the G step reuses the D step's fake batch, not detached, through the just-updated D.
- `dcgan`: a small convolutional G and D with batch norm, the non-saturating loss on logits, Adam
  2e-4 with beta1 = 0.5 (the DCGAN recipe).
- `sngan`: the same networks, spectral normalisation in D (no batch norm there), the hinge loss.
- `cgan`: `dcgan` made class-conditional (label embedding into G, projection discriminator).
- `laptop`: the recipe a learner trains in 5 minutes on a 2-core CPU: small DCGAN nets, spectral
  normalisation in D, the hinge loss, Adam(0.0, 0.9) with a faster D (two time-scale rule).
- `reference`: the GPU reference (about 4 minutes on an H200, batch 512, bf16 autocast): residual G
  and D (SNGAN-style, Miyato et al. 2018, appendix B), width 64, latent 128, hinge loss + spectral
  norm, TTUR lr_d = 4e-4 > lr_g = 1e-4 (Heusel et al. 2017), Adam(0.0, 0.9). Sample from fit's EMA.

Stabilisers beyond spectral norm: `r1_gamma` adds the R1 penalty gamma/2 * E||grad_x D(x)||^2 on
real data (Mescheder et al. 2018), `lr_d`/`lr_g` set the two time-scale update rule, `d_steps` takes
several D steps per G step.

`CollapseMeter` is a `fit` callback that measures mode collapse while training (class histogram of
samples through the evaluation classifier, sample diversity) and warns or stops with a message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .. import losses
from ..nn import mlp
from .base import GenerativeModel, register


@dataclass
class GANConfig:
    arch: str = "mlp"  # "mlp" (the original's fully connected nets), "conv" (DCGAN-style) or "resnet" (SNGAN-style)
    latent_dim: int = 20  # size of the noise z fed to G
    hidden: int = 256  # width of the single hidden layer of the MLP G and D (arch="mlp")
    width: int = 64  # channels of D's first conv and G's last hidden conv; doubled once (conv), up to 4x (resnet)
    d_output: str = "sigmoid"  # "sigmoid": D ends in a sigmoid, losses on probabilities (the original); "logit"
    loss: str = "nonsaturating"  # "minimax" (saturating G loss), "nonsaturating" or "hinge" (needs d_output="logit")
    spectral_norm: bool = False  # spectral normalisation on every D layer (and no batch norm in D)
    num_classes: int = 0  # > 0 makes a class-conditional GAN (cGAN)
    lr: float = 2e-4  # Adam learning rate, for G and D alike
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas (the original used the defaults; DCGAN (0.5, 0.999))
    batch_size: int = 128  # batch size `fit` uses unless told otherwise
    lr_d: float | None = None  # D's Adam learning rate (two time-scale update rule); None = use `lr`
    lr_g: float | None = None  # G's Adam learning rate; None = use `lr`
    r1_gamma: float = 0.0  # R1 penalty weight: + gamma/2 * E||grad_x D(x)||^2 on real data in D's loss; 0 = off
    d_steps: int = 1  # D updates per G update (each on fresh noise, the same real batch)
    minibatch_std: bool = False  # conv D only: give D's score the batch's spread (Karras et al. 2018): a G that draws too few kinds of digit shows it

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.arch not in ("mlp", "conv", "resnet"):
            raise ValueError(f"arch must be 'mlp', 'conv' or 'resnet', got {self.arch!r}")
        if self.latent_dim < 1 or self.hidden < 1 or self.width < 1:
            raise ValueError(f"latent_dim, hidden and width must be at least 1, got "
                             f"{self.latent_dim}, {self.hidden}, {self.width}")
        if self.d_output not in ("sigmoid", "logit"):
            raise ValueError(f"d_output must be 'sigmoid' or 'logit', got {self.d_output!r}")
        if self.loss not in losses.GAN_LOSSES:
            raise ValueError(f"loss must be one of {losses.GAN_LOSSES}, got {self.loss!r}")
        if self.loss == "hinge" and self.d_output != "logit":
            raise ValueError("the hinge loss needs raw scores from D: set d_output='logit'")
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        self.betas = tuple(self.betas)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be a positive learning rate (or None to use lr={self.lr}), got {v}")
        if not self.r1_gamma >= 0:  # also rejects NaN
            raise ValueError(f"r1_gamma must be >= 0 (0 turns the R1 penalty off; 0.1-10 is usual), got {self.r1_gamma}")
        if self.r1_gamma > 0 and self.d_output != "logit":
            raise ValueError("the R1 penalty is on D's raw scores: set d_output='logit'")
        if self.r1_gamma > 0 and self.arch == "conv" and not self.spectral_norm:
            raise ValueError("the R1 penalty needs per-image gradients, which batch norm in D mixes: "
                             "set spectral_norm=True (no batch norm in D) or use arch='resnet'")
        if isinstance(self.d_steps, bool) or int(self.d_steps) != self.d_steps or self.d_steps < 1:
            raise ValueError(f"d_steps must be a whole number >= 1 (D updates per G update), got {self.d_steps}")
        self.d_steps = int(self.d_steps)
        if not isinstance(self.minibatch_std, bool):
            raise ValueError(f"minibatch_std must be True or False, got {self.minibatch_std!r}")
        if self.minibatch_std and self.arch != "conv":
            raise ValueError(f"minibatch_std is built into the conv discriminator only, got arch={self.arch!r}")

    @property
    def d_lr(self) -> float:
        """D's learning rate: `lr_d`, else `lr`."""
        return self.lr if self.lr_d is None else self.lr_d

    @property
    def g_lr(self) -> float:
        """G's learning rate: `lr_g`, else `lr`."""
        return self.lr if self.lr_g is None else self.lr_g


# ---- networks -----------------------------------------------------------------------------------

class MLPGenerator(nn.Module):
    """z (B, latent_dim) [+ one-hot label] -> image (B, 1, 28, 28) in [-1, 1]; `net` as in the original."""

    def __init__(self, c: GANConfig):
        super().__init__()
        self.num_classes = c.num_classes
        self.net = mlp([c.latent_dim + c.num_classes, c.hidden, 784], activation=nn.ReLU, final=nn.Tanh())

    def forward(self, z, y=None):
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).view(-1, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """image (B, 1, 28, 28) [+ one-hot label] -> D output (B, 1): a probability (sigmoid) or a score."""

    def __init__(self, c: GANConfig):
        super().__init__()
        self.num_classes = c.num_classes
        final = nn.Sigmoid() if c.d_output == "sigmoid" else None
        self.net = mlp([784 + c.num_classes, c.hidden, 1], activation=lambda: nn.LeakyReLU(0.2), final=final)
        if c.spectral_norm:
            for m in self.net:
                if isinstance(m, nn.Linear):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x, y=None):
        h = x.flatten(1)
        if self.num_classes:
            h = torch.cat([h, nn.functional.one_hot(y, self.num_classes).to(h.dtype)], dim=1)
        return self.net(h)


class ConvGenerator(nn.Module):
    """DCGAN generator: project z to (2w, 7, 7), then two stride-2 transposed convs to (1, 28, 28)."""

    def __init__(self, c: GANConfig):
        super().__init__()
        w = c.width
        self.num_classes = c.num_classes
        self.embed = nn.Embedding(c.num_classes, c.latent_dim) if c.num_classes else None
        self.project = nn.Sequential(nn.Linear(c.latent_dim, 2 * w * 7 * 7, bias=False),
                                     nn.BatchNorm1d(2 * w * 7 * 7), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),  # (B, w, 14, 14)
            nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh(),  # (B, 1, 28, 28)
        )

    def forward(self, z, y=None):
        if self.num_classes:
            z = z * self.embed(y)  # multiplicative label conditioning of the noise
        h = self.project(z).view(len(z), -1, 7, 7)  # (B, 2w, 7, 7)
        return self.net(h)


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: two stride-2 convs to (2w, 7, 7), a linear score; projection for labels."""

    def __init__(self, c: GANConfig):
        super().__init__()
        w = c.width
        sn = nn.utils.parametrizations.spectral_norm if c.spectral_norm else (lambda m: m)
        norm = nn.Identity() if c.spectral_norm else nn.BatchNorm2d(2 * w)
        self.features = nn.Sequential(
            sn(nn.Conv2d(1, w, 4, 2, 1)), nn.LeakyReLU(0.2),  # (B, w, 14, 14)
            sn(nn.Conv2d(w, 2 * w, 4, 2, 1)), norm, nn.LeakyReLU(0.2),  # (B, 2w, 7, 7)
            nn.Flatten(),
        )
        # minibatch std: one more input to the score, the batch's mean standard deviation over D's features
        self.minibatch_std = c.minibatch_std
        self.head = sn(nn.Linear(2 * w * 7 * 7 + c.minibatch_std, 1))
        self.embed = None
        if c.num_classes:
            self.embed = nn.Embedding(c.num_classes, 2 * w * 7 * 7)
            nn.init.normal_(self.embed.weight, std=0.02)  # small, so <embed(y), h> starts near 0
            self.embed = sn(self.embed)
        self.sigmoid = c.d_output == "sigmoid"

    def forward(self, x, y=None):
        h = self.features(x)  # (B, 2w*7*7)
        if self.minibatch_std:  # a batch of near-copies has a small spread: D can tell it from real data
            spread = (h.var(0, unbiased=False) + 1e-8).sqrt().mean()
            out = self.head(torch.cat([h, spread.expand(len(h), 1)], 1))
        else:
            out = self.head(h)  # (B, 1)
        if self.embed is not None:  # projection discriminator: + <embed(y), h>
            out = out + (self.embed(y) * h).sum(1, keepdim=True)
        return torch.sigmoid(out) if self.sigmoid else out


class GBlock(nn.Module):
    """Residual up-block of G: BN-ReLU-upsample(2x)-conv3-BN-ReLU-conv3, plus upsample-conv1 shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1),
        )
        self.skip = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 1))

    def forward(self, h):
        return self.main(h) + self.skip(h)  # (B, cout, 2H, 2W)


class DBlock(nn.Module):
    """Residual block of D (no batch norm): [ReLU]-conv3-ReLU-conv3 [avgpool 2x], plus a conv1 [pool]
    shortcut. `first`: the input is the image itself, so no ReLU before the first conv."""

    def __init__(self, cin: int, cout: int, *, down: bool, first: bool = False, sn=lambda m: m):
        super().__init__()
        pool = nn.AvgPool2d(2) if down else nn.Identity()
        self.main = nn.Sequential(
            nn.Identity() if first else nn.ReLU(), sn(nn.Conv2d(cin, cout, 3, 1, 1)), nn.ReLU(),
            sn(nn.Conv2d(cout, cout, 3, 1, 1)), pool,
        )
        self.skip = nn.Sequential(sn(nn.Conv2d(cin, cout, 1)), pool) if (cin != cout or down) else nn.Identity()

    def forward(self, x):
        return self.main(x) + self.skip(x)


class ResGenerator(nn.Module):
    """SNGAN-style residual G: z -> (4w, 7, 7) -> res-up (2w, 14, 14) -> res-up (w, 28, 28) -> conv, tanh."""

    def __init__(self, c: GANConfig):
        super().__init__()
        w = c.width
        self.num_classes = c.num_classes
        self.embed = nn.Embedding(c.num_classes, c.latent_dim) if c.num_classes else None
        self.project = nn.Linear(c.latent_dim, 4 * w * 7 * 7)
        self.net = nn.Sequential(
            GBlock(4 * w, 2 * w),  # (B, 2w, 14, 14)
            GBlock(2 * w, w),  # (B, w, 28, 28)
            nn.BatchNorm2d(w), nn.ReLU(), nn.Conv2d(w, 1, 3, 1, 1), nn.Tanh(),  # (B, 1, 28, 28)
        )

    def forward(self, z, y=None):
        if self.num_classes:
            z = z * self.embed(y)
        return self.net(self.project(z).view(len(z), -1, 7, 7))


class ResDiscriminator(nn.Module):
    """SNGAN-style residual D, no batch norm: res-down (w, 14, 14) -> res-down (2w, 7, 7) -> res (2w, 7, 7)
    -> ReLU, global sum pooling -> linear score; projection (<embed(y), h>) for labels."""

    def __init__(self, c: GANConfig):
        super().__init__()
        w = c.width
        sn = nn.utils.parametrizations.spectral_norm if c.spectral_norm else (lambda m: m)
        self.features = nn.Sequential(
            DBlock(1, w, down=True, first=True, sn=sn),  # (B, w, 14, 14)
            DBlock(w, 2 * w, down=True, sn=sn),  # (B, 2w, 7, 7)
            DBlock(2 * w, 2 * w, down=False, sn=sn),  # (B, 2w, 7, 7)
            nn.ReLU(),
        )
        self.head = sn(nn.Linear(2 * w, 1))
        self.embed = sn(nn.Embedding(c.num_classes, 2 * w)) if c.num_classes else None
        self.sigmoid = c.d_output == "sigmoid"

    def forward(self, x, y=None):
        h = self.features(x).sum((2, 3))  # (B, 2w): global sum pooling
        out = self.head(h)  # (B, 1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1, keepdim=True)
        return torch.sigmoid(out) if self.sigmoid else out


def grad_norm(module: nn.Module) -> float:
    """The L2 norm of all of `module`'s gradients together (0 when none)."""
    sq = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return math.sqrt(float(torch.stack(sq).sum())) if sq else 0.0


# ---- the model ----------------------------------------------------------------------------------

@register
class GAN(GenerativeModel):
    """G and D in one module: `self.G`, `self.D`; optimisers {"d": Adam(D), "g": Adam(G)}."""

    family = "gan"
    Config = GANConfig
    PRESETS = {
        # the original notebook's GAN, unchanged
        "seed": GANConfig(),
        # DCGAN recipe: conv nets with batch norm, non-saturating loss on logits, Adam(2e-4, 0.5)
        "dcgan": GANConfig(arch="conv", latent_dim=64, width=32, d_output="logit", betas=(0.5, 0.999)),
        # a stabiliser: spectral normalisation in D and the hinge loss
        "sngan": GANConfig(arch="conv", latent_dim=64, width=32, d_output="logit", loss="hinge",
                           spectral_norm=True, betas=(0.5, 0.999)),
        # dcgan, class-conditional
        "cgan": GANConfig(arch="conv", latent_dim=64, width=32, d_output="logit", betas=(0.5, 0.999),
                          num_classes=10),
        # the learner's laptop recipe (5 minutes on a 2-core CPU, ~1,300-1,650 images/s): small DCGAN nets,
        # spectral norm in D + hinge (stable at small budgets, keeps every digit), TTUR with a faster D.
        # Rates 4e-4 / 8e-4 (twice the earlier 2e-4 / 4e-4): at five minutes' images (583,104, seed 0)
        # FID 34.6 against 46.0 with the same EMA (benchmarks/results/recipe_trials.json). Batch 32 (was 64):
        # at 477,120 images 35.9 and 33.8 against 37.8 and 41.3 (seeds 0, 1). Smaller batches train fewer
        # images per second, and a learner's five minutes still score better: 35.9 +/- 3.4 over three runs
        # (394,048 to 490,784 images) against 42.9 for batch 64 (benchmarks/results/five_minutes.json).
        # Minibatch std (minibatch_std=True) did not balance its digits: at the showdown's 275,072 images, seeds
        # 0-2, class KL 0.029 / 0.022 / 0.015 and FID 38.8 / 40.1 / 45.1, against the showdown's runs without it
        # 0.014 / 0.022 / 0.017 and 40.4 / 38.7 / 45.9; both draw too few 4s and too many 9s (recipe_trials.json)
        "laptop": GANConfig(arch="conv", latent_dim=64, width=32, d_output="logit", loss="hinge",
                            spectral_norm=True, lr=4e-4, lr_d=8e-4, lr_g=4e-4, betas=(0.0, 0.9),
                            batch_size=32),
        # the GPU reference (5 minutes on an H100, 5,900 steps of batch 512, bf16 autocast, constant learning
        # rates): residual G and D, width 64, latent 128, hinge + spectral norm, TTUR 4e-4 / 1e-4, Adam(0.0, 0.9).
        # Trained with fit(ema=0.999); at that length the raw generator scored best (FID 3.62 against 3.87 for an
        # EMA of 0.995 and 4.58 for 0.999, benchmarks/results/gpu_references.json), so the raw weights ship
        "reference": GANConfig(arch="resnet", latent_dim=128, width=64, d_output="logit", loss="hinge",
                               spectral_norm=True, lr=1e-4, lr_d=4e-4, lr_g=1e-4, betas=(0.0, 0.9),
                               batch_size=512),
    }
    # an EMA of the generator's weights (fit keeps it for the whole module; samples come from it). The laptop's
    # is shorter (0.995, about 200 steps): at five minutes' images it scored FID 46.0 against 47.1 for 0.999
    RECIPES = {"laptop": {"ema": 0.995}, "reference": {"ema": 0.999}}

    def __init__(self, config: GANConfig):
        super().__init__(config)
        c = config
        # G first, then D: the original's order, so the same seed gives the same initial weights
        nets = {"mlp": (MLPGenerator, MLPDiscriminator), "conv": (ConvGenerator, ConvDiscriminator),
                "resnet": (ResGenerator, ResDiscriminator)}[c.arch]
        self.G = nets[0](c)
        self.D = nets[1](c)

    def config_dict(self) -> dict:
        d = super().config_dict()
        if not d.get("minibatch_std"):  # added later: older checkpoints lack it, so it is left out at its default
            del d["minibatch_std"]
        return d

    @property
    def from_probs(self) -> bool:
        return self.config.d_output == "sigmoid"

    def configure_optimizers(self):
        c = self.config
        return {"d": torch.optim.Adam(self.D.parameters(), lr=c.d_lr, betas=c.betas),
                "g": torch.optim.Adam(self.G.parameters(), lr=c.g_lr, betas=c.betas)}

    def _as_reported(self, d_out: torch.Tensor) -> float:
        """Mean D output as reported: a probability (sigmoid/logit D with a BCE loss), the raw score for hinge."""
        d_out = d_out.detach()
        if self.config.loss == "hinge":
            return d_out.mean().item()
        return (d_out if self.from_probs else torch.sigmoid(d_out)).mean().item()

    def _d_scores_real(self, x, y):
        """D(x), and with R1 on also the per-image penalty ||grad_x D(x)||^2 (B,), else None.

        With R1 the forward pass runs in float32 even under autocast: the penalty is a gradient of a
        gradient, and bf16 would round its small values away.
        """
        if not self.config.r1_gamma:
            return self.D(x, y), None
        x = x.detach().float().requires_grad_(True)
        with torch.autocast(device_type=x.device.type, enabled=False):
            d_real = self.D(x, y).float()
            return d_real, losses.r1_penalty(d_real, x)

    def _d_step(self, x, fake, y, opt_d):
        """One D update on real x and (detached) fakes; returns (d_loss, d_real, d_fake, r1, grad norm)."""
        c = self.config
        d_real, r1 = self._d_scores_real(x, y)
        d_fake = self.D(fake, y)  # fake is detached: no gradient into G
        loss_real, loss_fake = losses.gan_d_loss(d_real, d_fake, c.loss, from_probs=self.from_probs)
        d_loss = loss_real.mean() + loss_fake.mean()  # the original: BCE(D(x), 1) + BCE(D(G(z)), 0)
        total = d_loss if r1 is None else d_loss + c.r1_gamma / 2 * r1.mean()
        opt_d.zero_grad()
        total.backward()
        d_grad = grad_norm(self.D)
        opt_d.step()
        return d_loss, d_real, d_fake, r1, d_grad

    def train_step(self, batch, optimizers):
        """`d_steps` D steps (1 by default), then one G step on the last D step's fake batch. Reports
        (all means over the batch):

        d_loss, g_loss: the two objectives as minimised (d_loss without the R1 term); loss = g_loss
        (the generator's objective; neither number measures sample quality, since each player's
        loss depends on the other); d_real = D(x), d_fake = D(G(z)) before the (last) D step,
        d_fake_g = D(G(z)) after it (the G step's); d_grad_norm, g_grad_norm: L2 norm of each
        network's gradient at its step; r1 = E||grad_x D(x)||^2 when r1_gamma > 0.
        """
        x, y = batch
        c = self.config
        y = y if self.conditional else None
        opt_d, opt_g = optimizers["d"], optimizers["g"]

        ############################
        # (1) update D: maximise log D(x) + log(1 - D(G(z)))   [hinge: minimise relu(1 - D(x)) + relu(1 + D(G(z)))]
        #     [+ r1_gamma/2 * ||grad_x D(x)||^2 on the real batch]
        ############################
        for _ in range(c.d_steps - 1):  # the extra D steps, each on fresh fakes
            with torch.no_grad():
                extra = self.G(self.randn(len(x), c.latent_dim), y)
            self._d_step(x, extra, y, opt_d)
        z = self.randn(len(x), c.latent_dim)  # (B, latent_dim)
        fake = self.G(z, y)  # (B, 1, 28, 28)
        d_loss, d_real, d_fake, r1, d_grad = self._d_step(x, fake.detach(), y, opt_d)

        ############################
        # (2) update G: maximise log D(G(z))   [minimax: minimise log(1 - D(G(z))); hinge: maximise D(G(z))]
        ############################
        self.D.requires_grad_(False)  # D is only a fixed critic here: its weights get no gradient
        d_fake_g = self.D(fake, y)  # the same fake batch, not detached, through the updated D
        g_loss = losses.gan_g_loss(d_fake_g, c.loss, from_probs=self.from_probs).mean()
        opt_g.zero_grad()
        g_loss.backward()
        g_grad = grad_norm(self.G)
        opt_g.step()
        self.D.requires_grad_(True)

        out = {"loss": g_loss.item(), "d_loss": d_loss.item(), "g_loss": g_loss.item(),
               "d_real": self._as_reported(d_real), "d_fake": self._as_reported(d_fake),
               "d_fake_g": self._as_reported(d_fake_g), "d_grad_norm": d_grad, "g_grad_norm": g_grad}
        if r1 is not None:
            out["r1"] = r1.detach().mean().item()
        return out

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) for given noise (B, latent_dim) (e.g. a latent walk): images (B, 1, 28, 28) in [-1, 1]."""
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must have shape (B, {self.config.latent_dim}), got {tuple(z.shape)}")
        labels = self.check_labels(len(z), labels)
        with torch.no_grad():
            return self.G(z.to(self.device), labels).clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, **sampler_options):
        if sampler_options:
            raise TypeError(f"GAN.sample takes no sampler options, got {sorted(sampler_options)}")
        z = self.randn(n, self.config.latent_dim, generator=generator)
        return self.generate(z, labels)


# ---- diagnostics: they live in genedu.diagnostics (re-exported here for older imports) ------------------

from ..diagnostics import CollapseMeter, histogram_entropy, sample_diversity  # noqa: E402,F401


def interpolate_latents(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor | float, *,
                        spherical: bool = True) -> torch.Tensor:
    """Points between noise vectors z_a and z_b (each (D,)) at fractions t ((T,) or a float) -> (T, D).

    Spherical (slerp, White 2016, "Sampling Generative Networks") keeps the norm a Gaussian sample
    has (about sqrt(D)); linear interpolation passes through shorter vectors G rarely saw.
    """
    t = torch.as_tensor(t, dtype=z_a.dtype).reshape(-1, 1)  # (T, 1)
    if not spherical:
        return (1 - t) * z_a + t * z_b
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)
