"""Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

The `seed` preset is exactly the original notebook's VAE: a 784-400-20 MLP encoder and decoder with a
tanh output, trained on the sum of squared errors plus the KL term, Adam at 1e-3, batch 128.

Per example, with q(z|x) = N(mu, diag(exp(logvar))) and the prior p(z) = N(0, I):

    loss = recon(x, decoder(z)) + beta * KL(q(z|x) || p(z)),   z = mu + exp(logvar / 2) * eps

which is the negative ELBO when beta = 1 and recon is a proper negative log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import losses
from .base import GenerativeModel, register


@dataclass
class VAEConfig:
    hidden: int = 400  # width of the single hidden layer of encoder and decoder
    latent_dim: int = 20  # size of z (2 gives pictures of the latent space)
    likelihood: str = "gaussian_sse"  # "gaussian_sse": tanh output + sum of squared errors (the seed)
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 gives the ELBO
    num_classes: int = 0  # > 0 makes a class-conditional VAE (CVAE)
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 128  # batch size `fit` uses unless told otherwise

    def __post_init__(self):
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be at least 1, got {self.hidden}")
        if self.beta < 0:
            raise ValueError(f"beta weighs the KL term and must be >= 0, got {self.beta}")
        if self.likelihood not in ("gaussian_sse",):
            raise ValueError(f"likelihood must be 'gaussian_sse', got {self.likelihood!r}")
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
    }

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        c = config
        cond = c.num_classes  # one-hot labels appended to the encoder and decoder inputs
        # the original's layer names, so its weights would load as they are
        self.fc1 = nn.Linear(784 + cond, c.hidden)
        self.fc_mu = nn.Linear(c.hidden, c.latent_dim)
        self.fc_logvar = nn.Linear(c.hidden, c.latent_dim)
        self.fc2 = nn.Linear(c.latent_dim + cond, c.hidden)
        self.fc3 = nn.Linear(c.hidden, 784)

    def _with_labels(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.conditional:
            return h
        return torch.cat([h, nn.functional.one_hot(y, self.config.num_classes).to(h.dtype)], dim=1)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) in [-1, 1] -> mu, logvar, each (B, latent_dim)."""
        h = torch.relu(self.fc1(self._with_labels(x.flatten(1), y)))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> images (B, 1, 28, 28) in [-1, 1]."""
        h = torch.relu(self.fc2(self._with_labels(z, y)))
        return torch.tanh(self.fc3(h)).view(-1, 1, 28, 28)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar), y), mu, logvar

    def loss_per_example(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """recon, kl and loss = recon + beta * kl, each (B,)."""
        x_hat, mu, logvar = self(x, y if self.conditional else None)
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
    def sample(self, n, *, labels=None, generator=None, **sampler_options):
        if sampler_options:
            raise TypeError(f"VAE.sample takes no sampler options, got {sorted(sampler_options)}")
        labels = self.check_labels(n, labels)
        z = self.randn(n, self.config.latent_dim, generator=generator)
        return self.decode(z, labels).clamp(-1, 1)
