"""Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

The `seed` preset is exactly the original notebook's VAE: a 784-400-20 MLP encoder and decoder with a
tanh output, trained on the sum of squared errors plus the KL term, Adam at 1e-3, batch 128.

Per example, with q(z|x) = N(mu, diag(exp(logvar))) and the prior p(z) = N(0, I):

    loss = recon(x, decoder(z)) + beta * KL(q(z|x) || p(z)),   z = mu + exp(logvar / 2) * eps

which is the negative ELBO when beta = 1 and recon is a proper negative log-likelihood.

Presets:
- ``seed``: the original (MLP, tanh output, sum of squared errors). The squared error is a Gaussian
  log-density with a fixed variance on continuous pixels up to a constant, not a probability of the
  binarised digits, so this preset has no likelihood in nats comparable to the literature.
- ``mlp``: the same MLP with a Bernoulli decoder (it outputs logits), trained on dynamically binarised
  digits: recon = -log p(x|z) in nats, so loss = -ELBO (beta = 1).
- ``conv``: a convolutional encoder (28 -> 14 -> 7) and a transposed-convolution decoder, Bernoulli.
- ``cvae``: the ``mlp`` preset conditioned on the digit (one-hot label appended to the encoder's
  features and to z), Sohn et al. (2015), "Learning Structured Output Representation ...".
- ``laptop``: a small residual conv VAE (``arch="resconv"``, 16/32 channels, latent 16, batch 64, beta 0.5)
  that trains in about 5 minutes on a 2-core CPU, with a learned prior (``prior_components=100``): after ``fit``,
  call ``model.fit_prior(data)`` and sample with ``prior="mixture"``.
- ``reference``: the strong conv VAE for a GPU (``arch="resconv"``: residual conv blocks, 64/128 channels,
  latent 32, a 512-wide fc layer, KL warm-up), with a 50-component learned prior.
- ``pixel``: the laptop's residual network (latent 32, beta 1) with a PixelCNN decoder head (``pixel_layers``):
  p(x | z) = prod_i p(x_i | x_<i, z) through masked convolutions (Gulrajani et al. 2017, PixelVAE), the conv
  likelihood anchor; its samples are binary, drawn pixel by pixel (``draw_pixels``).
- ``mlp_reference``: a two-hidden-layer MLP (784-512-256-50 and back), the likelihood anchor of the
  literature (about 87 nats IWAE on binarised MNIST), with a 20-component learned prior.
Any preset takes ``latent_dim=2`` (pictures of the latent space) and ``beta`` (Higgins et al. 2017).

Why samples from N(0, I) are blurred, and the fix (see :mod:`genedu.models.prior`): the encoder's
aggregate posterior q(z) = mean_x q(z|x) does not fill N(0, I); it leaves "holes" where the decoder never
saw a code and decodes a blend of digits. ``prior_hole_stats(data)`` measures it. The fix the field uses is
ex-post density estimation (Ghosh et al. 2020; Dai & Wipf 2019's two-stage VAE): after training, fit a
Gaussian mixture to the codes of the training set (``fit_prior``) and sample from it
(``sample(n, prior="mixture")``). Likelihoods (``genedu.evaluate.likelihood``) still use N(0, I), the
prior the model was trained with, so the ELBO and IWAE figures stay exact bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import losses
from ..data import binarize
from .base import GenerativeModel, register
from .prior import GaussianMixture, fit_gmm, prior_hole_stats as _prior_hole_stats

ARCHS = ("mlp", "conv", "resconv")
PRIOR_COVARIANCES = ("full", "diag")
# fields added after the first checkpoints were written: left out of config_dict() while at their
# defaults, so older checkpoints (which lack them) still match a model built from their preset
_NEW_FIELDS = {"hidden2": 0, "prior_components": 0, "prior_covariance": "full", "kl_warmup_steps": 0,
               "pixel_layers": 0, "pixel_channels": 32}
LIKELIHOODS = ("gaussian_sse", "bernoulli")


class MaskedConv2d(nn.Conv2d):
    """A convolution that sees only the pixels above and to the left (van den Oord et al. 2016, PixelCNN).

    Mask "A" hides the centre pixel too (the first layer: a pixel must not see itself); mask "B" keeps it
    (later layers, whose centre holds features of the pixels before it). Same-size output (padding k // 2).
    """

    def __init__(self, cin: int, cout: int, k: int, mask: str):
        super().__init__(cin, cout, k, 1, k // 2)
        if mask not in ("A", "B"):
            raise ValueError(f"mask must be 'A' or 'B', got {mask!r}")
        m = torch.ones_like(self.weight)
        c = k // 2
        m[:, :, c, c + (mask == "B"):] = 0  # the centre row: the centre (A) and everything right of it
        m[:, :, c + 1:, :] = 0  # every row below
        self.register_buffer("mask", m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelHead(nn.Module):
    """An autoregressive decoder on top of the VAE's decoder (Gulrajani et al. 2017, PixelVAE).

    logits(x_i) = base_i + out(h_i), where h_i sees the decoder's features at pixel i (1x1 conv) and the
    pixels before i in raster order (a 7x7 mask-A conv, then `layers` residual 3x3 mask-B convs). So
    p(x | z) = prod_i p(x_i | x_<i, z): the head models the dependence between nearby pixels that a
    factorised decoder, prod_i p(x_i | z), cannot. Its output layer starts at zero: an untrained head is
    the factorised decoder.
    """

    def __init__(self, ctx_channels: int, channels: int, layers: int):
        super().__init__()
        self.inp = MaskedConv2d(1, channels, 7, "A")
        self.ctx = nn.Conv2d(ctx_channels, channels, 1)
        self.blocks = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B") for _ in range(layers))
        self.out = nn.Conv2d(channels, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.reach = 3 + layers  # rows above a pixel that its logit depends on

    def forward(self, x01: torch.Tensor, ctx: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        h = self.inp(2 * x01 - 1) + self.ctx(ctx)
        for block in self.blocks:
            h = h + block(torch.relu(h))
        return base + self.out(torch.relu(h))


class ResBlock(nn.Module):
    """x + conv3x3(relu(conv3x3(relu(x)))): a pre-activation residual block keeping shape and channels."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(torch.relu(x))))


@dataclass
class VAEConfig:
    hidden: int = 400  # width of the hidden layer of encoder and decoder (fc1 / fc2)
    latent_dim: int = 20  # size of z (2 gives pictures of the latent space)
    likelihood: str = "gaussian_sse"  # "gaussian_sse": tanh output + sum of squared errors (the seed); "bernoulli": logits + BCE on binarised x
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 gives the ELBO
    num_classes: int = 0  # > 0 makes a class-conditional VAE (CVAE)
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128  # batch size `fit` uses unless told otherwise
    arch: str = "mlp"  # "mlp" (the original's), "conv" (conv encoder, transposed-conv decoder) or "resconv" (conv with residual blocks)
    channels: int = 32  # conv/resconv only: channels at 28x28 (the 14x14 and 7x7 stages have twice as many)
    hidden2: int = 0  # > 0 adds a second hidden layer of this width (encoder: feat-hidden-hidden2-z; decoder mirrors it)
    prior_components: int = 0  # > 0: room for a learned prior, a K-component Gaussian mixture fitted after training by fit_prior (0 = N(0, I) only)
    prior_covariance: str = "full"  # the mixture's covariances: "full" (best for 16-32 dims) or "diag"
    kl_warmup_steps: int = 0  # > 0: the KL weight rises linearly from 0 to beta over this many train steps (counted by the model); evaluation stays exact
    pixel_layers: int = 0  # > 0 (resconv, bernoulli only): an autoregressive PixelCNN head with this many mask-B layers on the decoder (PixelVAE)
    pixel_channels: int = 32  # the PixelCNN head's width

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1 (the size of z), got {self.latent_dim}; "
                             "use latent_dim=2 to draw the latent space, 20 for the original")
        if self.hidden < 1:
            raise ValueError(f"hidden must be at least 1, got {self.hidden}")
        if self.beta < 0:
            raise ValueError(f"beta weighs the KL term and must be >= 0 (1 = the ELBO), got {self.beta}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.channels < 1:
            raise ValueError(f"channels must be at least 1, got {self.channels}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
        if self.hidden2 < 0:
            raise ValueError(f"hidden2 must be >= 0 (0 = one hidden layer), got {self.hidden2}")
        if self.prior_components < 0:
            raise ValueError(f"prior_components must be >= 0 (0 = the N(0, I) prior only, K > 0 = a K-component "
                             f"learned mixture prior), got {self.prior_components}")
        if self.prior_covariance not in PRIOR_COVARIANCES:
            raise ValueError(f"prior_covariance must be one of {PRIOR_COVARIANCES}, got {self.prior_covariance!r}")
        if self.kl_warmup_steps < 0:
            raise ValueError(f"kl_warmup_steps must be >= 0 (0 = no warm-up), got {self.kl_warmup_steps}")
        if self.pixel_layers < 0:
            raise ValueError(f"pixel_layers must be >= 0 (0 = a factorised decoder), got {self.pixel_layers}")
        if self.pixel_channels < 1:
            raise ValueError(f"pixel_channels must be at least 1, got {self.pixel_channels}")
        if self.pixel_layers and (self.arch != "resconv" or self.likelihood != "bernoulli"):
            raise ValueError("a PixelCNN decoder head (pixel_layers > 0) models binary pixels one after another: "
                             f"it needs arch='resconv' and likelihood='bernoulli', got arch={self.arch!r}, "
                             f"likelihood={self.likelihood!r}")


@register
class VAE(GenerativeModel):
    family = "vae"
    Config = VAEConfig
    PRESETS = {
        "seed": VAEConfig(),  # the original notebook's VAE, unchanged
        "mlp": VAEConfig(likelihood="bernoulli"),  # same network, a proper likelihood on binarised digits
        "conv": VAEConfig(likelihood="bernoulli", arch="conv", hidden=256, latent_dim=32),
        "cvae": VAEConfig(likelihood="bernoulli", num_classes=10),  # class-conditional mlp
        # a learner's 5 minutes on a 2-core laptop CPU (the reference's residual network at a third of its
        # width, latent 16): then model.fit_prior(train) and model.sample(n, prior="mixture"). Chosen at the
        # showdown's 275,072 images (seed 0, 2,000 samples, benchmarks/results/recipe_trials.json): the
        # earlier "conv" network (32 channels) in batches of 128 with a 20-component prior scored FID 46.5 in
        # the showdown; in batches of 64 (twice the updates, the same images/s on this CPU) 32.6, 50
        # components 29.7, 64 channels 23.6, and residual blocks at 16 channels 20.7 (at 32 channels 14.1, but
        # about 3.5x slower to train than 16 on a CPU). Then beta = 0.5: FID 9.2 for 0.7 nats of likelihood
        # (IWAE 89.9, against 88.8-89.4 in the showdown's three runs at beta 1); beta = 0.25 scored 8.2 but
        # 94.4 nats. With a learned prior the KL term no longer has to make the codes fit N(0, I) for
        # sampling, so a smaller beta keeps more of each digit in its code and decodes sharper (Ghosh et
        # al. 2020). Its likelihood is still measured with the ELBO's beta = 1 (lesson 01). Then 100 prior
        # components: on the showdown's three beta-0.5 networks FID 10.8 +/- 0.6 against 12.2 +/- 1.0 with
        # 50, better for each seed, refitted without training (benchmarks/results/vae_priors.json); about 5 s
        # of EM on 10,000 codes
        "laptop": VAEConfig(likelihood="bernoulli", arch="resconv", channels=16, hidden=256, latent_dim=16,
                            lr=2e-3, batch_size=64, prior_components=100, beta=0.5),
        # the strong conv VAE for a GPU (about 4 minutes on an H200): residual blocks, 64/128 channels,
        # latent 32, KL warm-up over the first 5,000 steps, a 50-component full-covariance learned prior
        # (channels 48 and hidden 256 keep its fp16 file at 6.9 MB, under the 10 MB a reference may take; the GPU
        # trial in benchmarks/results/gpu_trials.json measured channels 64 and hidden 512, a 16.4 MB file)
        "reference": VAEConfig(likelihood="bernoulli", arch="resconv", channels=48, hidden=256, latent_dim=32,
                               batch_size=256, kl_warmup_steps=5000, prior_components=50),
        # the likelihood model for a CPU: the laptop's residual network (latent 32, beta 1) with a PixelCNN
        # decoder head (Gulrajani et al. 2017, PixelVAE): a 7x7 mask-A and four 3x3 mask-B layers of 32
        # channels model each pixel given z and the pixels before it, which a factorised decoder cannot.
        # KL warm-up keeps the code in use while the head learns (Bowman et al. 2016). Sampling draws the
        # 784 pixels one by one (binary images, seconds per hundred on a CPU)
        "pixel": VAEConfig(likelihood="bernoulli", arch="resconv", channels=16, hidden=256, latent_dim=32,
                           lr=2e-3, batch_size=64, kl_warmup_steps=5000, prior_components=100,
                           pixel_layers=4, pixel_channels=32),
        # the MLP likelihood anchor (~87 nats IWAE): 784-512-256-50 and back, KL warm-up, learned prior too
        "mlp_reference": VAEConfig(likelihood="bernoulli", hidden=512, hidden2=256, latent_dim=50,
                                   kl_warmup_steps=5000, prior_components=20),
    }
    # EMA of the weights; the learned prior is fitted after training (after_training)
    # a cosine decay of the learning rate over the budget: the references were trained with it (their JSON
    # records it); the laptop VAE also warms the learning rate up, and at the images five minutes gave on a
    # 2-core CPU the schedule took the preset's earlier conv network from FID 44.2 to 23.2
    # (benchmarks/results/recipe_trials.json)
    RECIPES = {**{p: {"ema": 0.999, "lr_warmup": 200, "lr_decay": "cosine"} for p in ("laptop", "pixel")},
               **{p: {"ema": 0.999, "lr_decay": "cosine"} for p in ("reference", "mlp_reference")}}
    # float32 on a GPU too: the laptop preset (its earlier conv network) at 275,000 images (3 seeds, H100,
    # 10,000 samples) scored FID 41.3 under bf16 autocast against 39.2 in float32, and trained slower
    # (24.2 s against 20.9 s); the vae_amp job of benchmarks/results/gpu_references.json
    AUTOCAST = False

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        c = config
        cond = c.num_classes  # one-hot labels appended to the encoder features and to z
        if c.arch == "mlp":
            feat = 784
            self.enc_conv = None
            self.dec_conv = None
        elif c.arch == "resconv":
            ch = c.channels
            feat = 2 * ch * 7 * 7
            self.enc_conv = nn.Sequential(  # (B, 1, 28, 28) -> (B, 2ch, 7, 7) -> (B, 2ch*49)
                nn.Conv2d(1, ch, 3, 1, 1), ResBlock(ch),
                nn.Conv2d(ch, 2 * ch, 4, 2, 1), ResBlock(2 * ch),
                nn.Conv2d(2 * ch, 2 * ch, 4, 2, 1), ResBlock(2 * ch), nn.ReLU(), nn.Flatten())
            self.dec_conv = nn.Sequential(  # (B, 2ch, 7, 7) -> (B, 1, 28, 28) logits
                ResBlock(2 * ch), nn.ReLU(), nn.ConvTranspose2d(2 * ch, 2 * ch, 4, 2, 1), ResBlock(2 * ch),
                nn.ReLU(), nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), ResBlock(ch),
                nn.ReLU(), nn.Conv2d(ch, 1, 3, 1, 1))
        else:
            ch = c.channels
            feat = 2 * ch * 7 * 7
            self.enc_conv = nn.Sequential(  # (B, 1, 28, 28) -> (B, 2ch, 7, 7) -> (B, 2ch*49)
                nn.Conv2d(1, ch, 4, 2, 1), nn.ReLU(),
                nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.ReLU(), nn.Flatten())
            self.dec_conv = nn.Sequential(  # (B, 2ch, 7, 7) -> (B, 1, 28, 28) logits
                nn.ReLU(), nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), nn.ReLU(),
                nn.ConvTranspose2d(ch, 1, 4, 2, 1))
        # the original's layer names, so its weights would load as they are
        inner = c.hidden2 or c.hidden  # the width next to z
        self.fc1 = nn.Linear(feat + cond, c.hidden)
        if c.hidden2:  # the second hidden layers (only then: older presets keep their parameter names)
            self.fc1b = nn.Linear(c.hidden, c.hidden2)
            self.fc2b = nn.Linear(c.hidden2, c.hidden)
        self.fc_mu = nn.Linear(inner, c.latent_dim)
        self.fc_logvar = nn.Linear(inner, c.latent_dim)
        self.fc2 = nn.Linear(c.latent_dim + cond, inner)
        self.fc3 = nn.Linear(c.hidden, feat)
        if c.prior_components:  # the learned prior, saved with the weights; empty until fit_prior
            self.prior = GaussianMixture(c.prior_components, c.latent_dim)
        # the PixelCNN head (only then: other presets keep their parameter names)
        self.pixel = PixelHead(c.channels, c.pixel_channels, c.pixel_layers) if c.pixel_layers else None
        if c.kl_warmup_steps:  # train steps taken, for the KL warm-up (saved, so a resumed run continues)
            self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))

    def config_dict(self) -> dict:
        d = super().config_dict()
        for k, default in _NEW_FIELDS.items():
            if d.get(k) == default:
                del d[k]
        return d

    @property
    def bernoulli(self) -> bool:
        return self.config.likelihood == "bernoulli"

    def _with_labels(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.conditional:
            return h
        if y is None:
            raise ValueError("this VAE is class-conditional (num_classes > 0): pass the labels y")
        return torch.cat([h, nn.functional.one_hot(y, self.config.num_classes).to(h.dtype)], dim=1)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) in [-1, 1] -> mu, logvar, each (B, latent_dim)."""
        h = x.flatten(1) if self.enc_conv is None else self.enc_conv(x)  # (B, feat)
        h = torch.relu(self.fc1(self._with_labels(h, y)))
        if self.config.hidden2:
            h = torch.relu(self.fc1b(h))
        return self.fc_mu(h), self.fc_logvar(h)

    def _decoder_parts(self, z: torch.Tensor, y: torch.Tensor | None = None):
        """z -> (the features under the last layer, or None for an MLP; the decoder's raw output (B, 1, 28, 28))."""
        h = torch.relu(self.fc2(self._with_labels(z, y)))
        if self.config.hidden2:
            h = torch.relu(self.fc2b(h))
        h = self.fc3(h)
        if self.dec_conv is None:
            return None, h.view(-1, 1, 28, 28)
        feat = self.dec_conv[:-1](h.view(-1, 2 * self.config.channels, 7, 7))
        return feat, self.dec_conv[-1](feat)

    def decoder_output(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> the decoder's raw output (B, 1, 28, 28): pre-tanh, or Bernoulli logits.

        With a PixelCNN head (pixel_layers > 0) these are the logits before the head, which does not see z
        alone: the logits of p(x_i | x_<i, z) come from ``pixel_logits(x01, z)``.
        """
        return self._decoder_parts(z, y)[1]

    def pixel_logits(self, x01: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The Bernoulli logits of every pixel given z and the pixels before it, (B, 1, 28, 28), for binary
        x01 (B, 1, 28, 28): all at once, as in training. Without a head, the decoder's own logits."""
        feat, base = self._decoder_parts(z, y)
        return base if self.pixel is None else self.pixel(x01, feat, base)

    @torch.no_grad()
    def draw_pixels(self, z: torch.Tensor, y: torch.Tensor | None = None, *,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Binary images (B, 1, 28, 28) in {0, 1} drawn pixel by pixel from a PixelCNN head, given z.

        784 steps in raster order; each runs the head on the window of pixels its logit depends on
        (``reach`` rows above, ``reach`` columns either side), the same logit the whole image would give.
        Reproducible from `generator` (a CPU generator).
        """
        if self.pixel is None:
            raise ValueError("draw_pixels needs a PixelCNN decoder head (pixel_layers > 0, the 'pixel' preset)")
        feat, base = self._decoder_parts(z, y)
        u = torch.rand(base.shape, generator=generator).to(base.device)  # one uniform per pixel
        x = torch.zeros_like(base)
        r = self.pixel.reach
        for i in range(28):
            top = max(0, i - r)
            for j in range(28):
                left, right = max(0, j - r), min(28, j + r + 1)
                win = (slice(None), slice(None), slice(top, i + 1), slice(left, right))
                logit = self.pixel(x[win], feat[win], base[win])[:, 0, i - top, j - left]
                x[:, 0, i, j] = (u[:, 0, i, j] < torch.sigmoid(logit)).to(x.dtype)
        return x

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None, *,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> images (B, 1, 28, 28) in [-1, 1] (for Bernoulli: the mean, 2 p - 1).

        With a PixelCNN head there is no mean in closed form: the pixels are drawn one by one
        (``draw_pixels``), so the image is a binary sample, from `generator`.
        """
        if self.pixel is not None:
            return 2 * self.draw_pixels(z, y, generator=generator) - 1
        out = self.decoder_output(z, y)
        return 2 * torch.sigmoid(out) - 1 if self.bernoulli else torch.tanh(out)

    generate = decode  # the name the shared latent widgets call

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar), y), mu, logvar

    def log_px_given_z(self, x01: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x | z) per example (B,) in nats, for binary images x01 (B, 1, 28, 28) in {0, 1}.

        Defined for the Bernoulli presets only. The seed's squared error is a Gaussian density with a
        fixed variance over continuous pixels: on {0, 1} data a density is not a probability (it can
        exceed 1 and grows without bound as the variance shrinks), so no honest figure in nats exists.
        With a PixelCNN head it is the exact sum of log p(x_i | x_<i, z).
        """
        if not self.bernoulli:
            raise ValueError(
                "log p(x|z) is defined only for likelihood='bernoulli' (presets 'mlp', 'conv', 'cvae'): the "
                "seed's sum of squared errors is a Gaussian density on continuous pixels with an arbitrary fixed "
                "variance, not a probability of binarised digits, so its 'NLL' would be a meaningless number")
        return -losses.bernoulli_nll(self.pixel_logits(x01, z, y), x01)

    def loss_per_example(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """recon, kl and loss = recon + beta * kl, each (B,). Bernoulli presets binarise x afresh."""
        y = y if self.conditional else None
        if self.bernoulli:
            x01 = binarize(x)  # dynamic binarisation: a new {0, 1} draw every time
            mu, logvar = self.encode(2 * x01 - 1, y)
            recon = losses.bernoulli_nll(self.pixel_logits(x01, self.reparameterize(mu, logvar), y), x01)
        else:
            x_hat, mu, logvar = self(x, y)
            recon = losses.squared_error(x_hat, x)
        kl = losses.gaussian_kl(mu.float(), logvar.float())  # float32 under autocast too
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    def kl_weight(self) -> float:
        """The KL weight of the training objective now: beta, ramped from 0 over kl_warmup_steps."""
        w = self.config.kl_warmup_steps
        if not w:
            return self.config.beta
        return self.config.beta * min(1.0, (int(self.train_steps) + 1) / w)

    def configure_optimizers(self):
        return {"opt": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        x, y = batch
        parts = self.loss_per_example(x, y)
        opt = optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        if self.config.kl_warmup_steps:  # optimise recon + w * kl; report the true loss (beta) as well
            w = self.kl_weight()
            (parts["recon"] + w * parts["kl"]).sum().backward()
            self.train_steps += 1
        else:
            parts["loss"].sum().backward()  # the original sums over the batch
        opt.step()
        out = {k: v.mean().item() for k, v in parts.items()}  # reported per image
        if self.config.kl_warmup_steps:
            out["kl_weight"] = w
        return out

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean: x (B, 1, 28, 28) in [-1, 1] -> (B, 1, 28, 28) in [-1, 1]."""
        y = y if self.conditional else None
        mu, _ = self.encode(x, y)
        return self.decode(mu, y)

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Mean KL(q(z_j|x) || N(0, 1)) per latent dimension over x: (latent_dim,). Near 0 = collapsed."""
        y = y if self.conditional else None
        if self.bernoulli:
            x = 2 * binarize(x) - 1
        mu, logvar = self.encode(x, y)
        return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)

    # ---- the learned prior ----------------------------------------------------------------------
    @torch.no_grad()
    def encode_dataset(self, data, *, labels=None, batch_size: int = 1000, seed: int = 0,
                       n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior means and log-variances of `data`, each (N, latent_dim) float32 on the CPU.

        data: a genedu MNIST split or images (N, 1, 28, 28) in [-1, 1]; `n` keeps the first n. Bernoulli
        presets see the images binarised (as in training) from a generator seeded `seed`. A conditional
        model takes the labels from the MNIST split, or from `labels`.
        """
        from ..data import MNIST

        if isinstance(data, MNIST):
            x_all, y_all = data.images, data.labels
            to_x = lambda idx: x_all[idx].float().div(127.5).sub(1.0).unsqueeze(1)  # noqa: E731
        else:
            x_all = torch.as_tensor(data)
            if x_all.dim() != 4 or tuple(x_all.shape[1:]) != (1, 28, 28):
                raise ValueError(f"data must be an MNIST split or images (N, 1, 28, 28) in [-1, 1], "
                                 f"got shape {tuple(x_all.shape)}")
            y_all = labels
            to_x = lambda idx: x_all[idx].float()  # noqa: E731
        count = len(x_all) if n is None else min(n, len(x_all))
        if count < 1:
            raise ValueError("no images to encode")
        if self.conditional and y_all is None:
            raise ValueError("this VAE is class-conditional: pass an MNIST split (it has labels) or labels=")
        was_training = self.training
        self.eval()
        g = torch.Generator().manual_seed(seed)
        dev = self.device
        mus, logvars = [], []
        with torch.autocast(dev.type, enabled=False):  # float32 codes, also when called inside fit's autocast
            for i in range(0, count, batch_size):
                idx = torch.arange(i, min(i + batch_size, count))
                x = to_x(idx.to(x_all.device)).cpu()
                if self.bernoulli:
                    x = 2 * binarize(x, generator=g) - 1
                y = torch.as_tensor(y_all)[idx.to(torch.as_tensor(y_all).device)].to(dev) if self.conditional else None
                mu, logvar = self.encode(x.to(dev), y)
                mus.append(mu.float().cpu())
                logvars.append(logvar.float().cpu())
        self.train(was_training)
        return torch.cat(mus), torch.cat(logvars)

    def fit_prior(self, data, *, batch_size: int = 1000, iters: int = 100, seed: int = 0,
                  labels=None, n: int | None = None, tol: float = 1e-6) -> dict:
        """Fit the learned prior: a Gaussian mixture (config.prior_components components) fitted by EM to
        the posterior means mu(x) of `data` (the training set, usually); Ghosh et al. (2020).

        data: a genedu MNIST split or images (N, 1, 28, 28) in [-1, 1]. EM runs in float64 on the CPU
        from a k-means++ start drawn from `seed`, so the same codes and seed give the same mixture.
        Returns {"log_likelihood": mean log-density of the codes, "iters": EM steps run}.
        """
        k = self.config.prior_components
        if k == 0:
            raise ValueError("this VAE has no room for a learned prior (prior_components=0): build it with "
                             "prior_components=K, e.g. VAE.from_preset('laptop') or from_preset(..., prior_components=20)")
        mu, _ = self.encode_dataset(data, labels=labels, batch_size=batch_size, seed=seed, n=n)
        if len(mu) < k:
            raise ValueError(f"need at least prior_components={k} images to fit the prior, got {len(mu)}")
        weights, means, scale_tril, info = fit_gmm(mu, k, iters=iters, seed=seed, tol=tol,
                                                   covariance=self.config.prior_covariance)
        self.prior.set(weights, means, scale_tril)
        return info

    @property
    def prior_fitted(self) -> bool:
        return self.config.prior_components > 0 and bool(self.prior.fitted)

    @torch.no_grad()
    def sample_latents(self, n: int, *, generator: torch.Generator | None = None, prior: str = "normal") -> torch.Tensor:
        """n codes (n, latent_dim) on the model's device: from N(0, I) ("normal") or the fitted mixture."""
        if prior == "normal":
            return self.randn(n, self.config.latent_dim, generator=generator)
        if prior != "mixture":
            raise ValueError(f"prior must be 'normal' (N(0, I)) or 'mixture' (the learned prior), got {prior!r}")
        if self.config.prior_components == 0:
            raise ValueError("prior='mixture' needs a learned prior: this VAE has prior_components=0 "
                             "(build it with prior_components=K, e.g. the 'laptop' or 'reference' preset)")
        if not self.prior_fitted:
            raise ValueError("the learned prior has not been fitted yet: call model.fit_prior(train_data) "
                             "after training, then sample with prior='mixture'")
        return self.prior.sample(n, generator=generator).to(self.device)

    def after_training(self, data, *, seed: int = 0) -> None:
        """Fit the learned prior to the training codes, when this VAE has one (prior_components > 0)."""
        if self.config.prior_components:  # 10,000 codes pin a 20-100 component mixture in seconds on a CPU
            self.fit_prior(data, seed=seed, n=min(10_000, len(data)), iters=50)

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, prior: str | None = None, **sampler_options):
        """n images (n, 1, 28, 28) in [-1, 1]; prior="normal" decodes z ~ N(0, I), prior="mixture" z from
        the learned prior (after fit_prior). The default (None) is the mixture once it is fitted (what
        lesson 01 recommends), else N(0, I). Reproducible from `generator`."""
        if sampler_options:
            raise TypeError(f"VAE.sample takes only prior= ('normal' or 'mixture'), got {sorted(sampler_options)}")
        if prior is None:
            prior = "mixture" if self.config.prior_components and self.prior_fitted else "normal"
        labels = self.check_labels(n, labels)
        z = self.sample_latents(n, generator=generator, prior=prior)
        return self.decode(z, labels, generator=generator).clamp(-1, 1)

    @torch.no_grad()
    def prior_hole_stats(self, data, *, n: int = 2000, seed: int = 0, labels=None,
                         quantile: float = 0.01) -> dict:
        """Why N(0, I) samples are blurred: how far the aggregate posterior is from N(0, I).

        See :func:`genedu.models.prior.prior_hole_stats` for the figures; uses 2n images of `data`.
        """
        mu, logvar = self.encode_dataset(data, labels=labels, seed=seed, n=2 * n)
        mixture = self.prior if self.prior_fitted else None
        return _prior_hole_stats(mu, logvar, mixture=mixture, seed=seed, quantile=quantile)
