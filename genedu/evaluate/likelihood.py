"""Likelihood of a VAE on dynamically binarised MNIST, in nats: the ELBO and the importance-weighted bound.

For a model exposing ``encode(x, y=None) -> (mu, logvar)`` (x in [-1, 1]) and
``log_px_given_z(x01, z, y=None) -> (B,)``, with K samples z_k ~ q(z|x) and the importance weights

    log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x),

- ELBO (Kingma & Welling 2014, eq. 3):  L_1 = mean_k log w_k            <= log p(x)
- IWAE (Burda et al. 2016, eq. 8):      L_K = logsumexp_k log w_k - log K,  L_1 <= L_K <= log p(x),

and L_K -> log p(x) as K grows, so ``iwae_nll = -L_K`` is the figure the literature reports as the
"NLL" (for example 86.8 nats for a plain MLP VAE with K = 5000; about 81 for a conv VAE).

The protocol: each test image is binarised afresh, x01 ~ Bernoulli(pixel intensity), from a seeded
generator, so the same seed gives the same binary test set. The seed preset's squared-error decoder
has no log p(x|z) on binary data (its ``log_px_given_z`` raises and says why): a Gaussian density with
a fixed variance is not a probability of {0, 1} pixels, so it gets no number here.
"""

from __future__ import annotations

import math

import torch

from ..data import MNIST, binarize

LOG_2PI = math.log(2 * math.pi)


def _normal_logpdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


@torch.no_grad()
def log_weights(model, x01: torch.Tensor, y: torch.Tensor | None = None, *, k: int = 1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Importance log-weights log p(x, z_k) - log q(z_k | x) for binary x01 (B, 1, 28, 28): (B, k)."""
    if k < 1:
        raise ValueError(f"k (samples per image) must be at least 1, got {k}")
    y = y if getattr(model, "conditional", False) else None
    mu, logvar = model.encode(2 * x01 - 1, y)  # (B, D) each
    B, D = mu.shape
    eps = torch.randn(k, B, D, generator=generator).to(mu.device)
    z = mu + eps * torch.exp(0.5 * logvar)  # (k, B, D)
    log_q = _normal_logpdf(z, mu, logvar)  # (k, B)
    log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)  # (k, B)
    x_rep = x01.unsqueeze(0).expand(k, *x01.shape).reshape(k * B, *x01.shape[1:])
    y_rep = None if y is None else y.repeat(k)
    log_px = model.log_px_given_z(x_rep, z.reshape(k * B, D), y_rep).view(k, B)
    return (log_px + log_prior - log_q).T  # (B, k)


def _binary_batches(data, *, batch_size: int, seed: int, n: int | None, device):
    """Yield (x01, y) batches: an MNIST split binarised from `seed`, or a tensor already in {0, 1}."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(data, MNIST):
        count = len(data) if n is None else min(n, len(data))
        for i in range(0, count, batch_size):
            idx = slice(i, min(i + batch_size, count))
            x = data.float(idx).cpu()
            yield binarize(x, generator=g).to(device), data.labels[idx].to(device)
    else:
        x01 = torch.as_tensor(data)
        if x01.dim() != 4 or x01.shape[1:] != (1, 28, 28):
            raise ValueError(f"data must be an MNIST split or binary images (N, 1, 28, 28), got {tuple(x01.shape)}")
        if not torch.all((x01 == 0) | (x01 == 1)):
            raise ValueError("likelihoods here are for binary images in {0, 1}: binarise first (genedu.binarize)")
        count = len(x01) if n is None else min(n, len(x01))
        for i in range(0, count, batch_size):
            yield x01[i:i + batch_size].to(device), None


@torch.no_grad()
def _bound(model, data, *, k: int, iwae: bool, batch_size: int, seed: int, n: int | None,
           reduce: bool):
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed + 1)
    out = []
    for x01, y in _binary_batches(data, batch_size=batch_size, seed=seed, n=n, device=device):
        lw = log_weights(model, x01, y, k=k, generator=g)  # (B, k)
        out.append((torch.logsumexp(lw, 1) - math.log(k)) if iwae else lw.mean(1))
    values = torch.cat(out).cpu()
    return values.mean().item() if reduce else values


def elbo(model, data, *, k: int = 1, batch_size: int = 500, seed: int = 0, n: int | None = None,
         reduce: bool = True):
    """The ELBO in nats (a lower bound on log p(x), so a negative number; -elbo is the "NLL bound").

    `data`: an MNIST split (binarised afresh from `seed`) or binary images (N, 1, 28, 28); `n`: use
    the first n images; `k`: posterior samples averaged per image. Returns the mean (float), or one
    value per image (N,) with reduce=False.
    """
    return _bound(model, data, k=k, iwae=False, batch_size=batch_size, seed=seed, n=n, reduce=reduce)


def iwae_nll(model, data, *, k: int = 100, batch_size: int = 100, seed: int = 0, n: int | None = None,
             reduce: bool = True):
    """-L_K, the importance-weighted estimate of -log p(x) in nats (Burda et al. 2016); <= -elbo.

    Same arguments as `elbo`; a larger `k` gives a tighter (smaller) figure at k times the cost.
    """
    lk = _bound(model, data, k=k, iwae=True, batch_size=batch_size, seed=seed, n=n, reduce=reduce)
    return -lk
