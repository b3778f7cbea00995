"""Per-example objectives. Every function returns one value per example, shape (B,); the caller reduces.

References:
- Kingma & Welling (2014), "Auto-Encoding Variational Bayes", Appendix B: the closed-form KL of a
  diagonal Gaussian to the standard normal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _per_example(t: torch.Tensor) -> torch.Tensor:
    """Sum every dimension but the first: (B, ...) -> (B,)."""
    return t.flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, exp(logvar)) || N(0, I) ) per example (Kingma & Welling 2014, Appendix B).

    -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)
    """
    return _per_example(-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()))


def squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors per example (the original notebook's `mse_loss(..., reduction='sum')`, per image)."""
    return _per_example((x_hat - x).pow(2))


def bernoulli_nll(logits: torch.Tensor, x01: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) per example for x in {0, 1} (or [0, 1]), in nats."""
    return _per_example(F.binary_cross_entropy_with_logits(logits, x01, reduction="none"))
