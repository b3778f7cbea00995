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
Any preset takes ``latent_dim=2`` (pictures of the latent space) and ``beta`` (Higgins et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import losses
from ..data import binarize
from .base import GenerativeModel, register

ARCHS = ("mlp", "conv")
LIKELIHOODS = ("gaussian_sse", "bernoulli")


@dataclass
class VAEConfig:
    hidden: int = 400  # width of the hidden layer of encoder and decoder (fc1 / fc2)
    latent_dim: int = 20  # size of z (2 gives pictures of the latent space)
    likelihood: str = "gaussian_sse"  # "gaussian_sse": tanh output + sum of squared errors (the seed); "bernoulli": logits + BCE on binarised x
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 gives the ELBO
    num_classes: int = 0  # > 0 makes a class-conditional VAE (CVAE)
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128  # batch size `fit` uses unless told otherwise
    arch: str = "mlp"  # "mlp" (the original's) or "conv" (conv encoder, transposed-conv decoder)
    channels: int = 32  # conv only: channels of the first conv layer (the second has twice as many)

    def __post_init__(self):
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


@register
class VAE(GenerativeModel):
    family = "vae"
    Config = VAEConfig
    PRESETS = {
        "seed": VAEConfig(),  # the original notebook's VAE, unchanged
        "mlp": VAEConfig(likelihood="bernoulli"),  # same network, a proper likelihood on binarised digits
        "conv": VAEConfig(likelihood="bernoulli", arch="conv", hidden=256, latent_dim=32),
        "cvae": VAEConfig(likelihood="bernoulli", num_classes=10),  # class-conditional mlp
    }

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        c = config
        cond = c.num_classes  # one-hot labels appended to the encoder features and to z
        if c.arch == "mlp":
            feat = 784
            self.enc_conv = None
            self.dec_conv = None
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
        self.fc1 = nn.Linear(feat + cond, c.hidden)
        self.fc_mu = nn.Linear(c.hidden, c.latent_dim)
        self.fc_logvar = nn.Linear(c.hidden, c.latent_dim)
        self.fc2 = nn.Linear(c.latent_dim + cond, c.hidden)
        self.fc3 = nn.Linear(c.hidden, feat)

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
        return self.fc_mu(h), self.fc_logvar(h)

    def decoder_output(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> the decoder's raw output (B, 1, 28, 28): pre-tanh, or Bernoulli logits."""
        h = torch.relu(self.fc2(self._with_labels(z, y)))
        h = self.fc3(h)
        if self.dec_conv is None:
            return h.view(-1, 1, 28, 28)
        return self.dec_conv(h.view(-1, 2 * self.config.channels, 7, 7))

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> images (B, 1, 28, 28) in [-1, 1] (for Bernoulli: the mean, 2 p - 1)."""
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
        """
        if not self.bernoulli:
            raise ValueError(
                "log p(x|z) is defined only for likelihood='bernoulli' (presets 'mlp', 'conv', 'cvae'): the "
                "seed's sum of squared errors is a Gaussian density on continuous pixels with an arbitrary fixed "
                "variance, not a probability of binarised digits, so its 'NLL' would be a meaningless number")
        return -losses.bernoulli_nll(self.decoder_output(z, y), x01)

    def loss_per_example(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """recon, kl and loss = recon + beta * kl, each (B,). Bernoulli presets binarise x afresh."""
        y = y if self.conditional else None
        if self.bernoulli:
            x01 = binarize(x)  # dynamic binarisation: a new {0, 1} draw every time
            mu, logvar = self.encode(2 * x01 - 1, y)
            recon = losses.bernoulli_nll(self.decoder_output(self.reparameterize(mu, logvar), y), x01)
        else:
            x_hat, mu, logvar = self(x, y)
            recon = losses.squared_error(x_hat, x)
        kl = losses.gaussian_kl(mu, logvar)
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    def configure_optimizers(self):
        return {"opt": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        x, y = batch
        parts = self.loss_per_example(x, y)
        opt = optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        parts["loss"].sum().backward()  # the original sums over the batch
        opt.step()
        return {k: v.mean().item() for k, v in parts.items()}  # reported per image

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

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, **sampler_options):
        if sampler_options:
            raise TypeError(f"VAE.sample takes no sampler options, got {sorted(sampler_options)}")
        labels = self.check_labels(n, labels)
        z = self.randn(n, self.config.latent_dim, generator=generator)
        return self.decode(z, labels).clamp(-1, 1)
