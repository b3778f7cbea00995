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


# ---- diffusion: the variational bound of Ho et al. (2020), in bits per dimension ---------------------------

def _discretized_gaussian_nll(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, *, levels: int = 256) -> torch.Tensor:
    """-log P(x) per image (B,) for x on the grid of `levels` values in [-1, 1], under N(mean, var) integrated
    over each value's bin (width 2 / (levels - 1)); the end bins reach to -inf and +inf (Ho et al. 2020, eq. 13)."""
    half = 1.0 / (levels - 1)
    sd = var.sqrt()
    normal = torch.distributions.Normal(torch.zeros((), dtype=x.dtype, device=x.device), 1.0)
    upper = torch.where(x > 1 - 1e-3, torch.ones_like(x), normal.cdf((x + half - mean) / sd))
    lower = torch.where(x < -1 + 1e-3, torch.zeros_like(x), normal.cdf((x - half - mean) / sd))
    return -(upper - lower).clamp(min=1e-12).log().flatten(1).sum(1)


@torch.no_grad()
def diffusion_bound(model, data, *, n: int = 1000, t_samples: int = 8, batch_size: int = 250, seed: int = 0,
                    levels: int = 256) -> dict:
    """The DDPM's variational bound on -log p(x) for 8-bit test images, in nats and bits per dimension.

    With the code's t = 0 .. T-1 (the paper's t - 1), for x_0 on the 8-bit grid in [-1, 1]:

        -log p(x_0) <= L_T + sum_{t=1}^{T-1} L_t + L_0
        L_T = KL(q(x_T | x_0) || N(0, I))                       (the prior term; no network)
        L_t = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))     (Gaussians with the posterior variance)
            = c_t^2 |x_0 - x0_pred(x_t, t)|^2 / (2 beta_tilde_t),  c_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t)
        L_0 = -log of N(x0_pred(x_1, 0), beta_tilde_1) integrated over x_0's bin (the discretised decoder)

    This is the model genedu's ancestral sampler draws from (variance beta_tilde_t; Ho et al.'s
    "fixedsmall", its t = 0 variance clipped to beta_tilde at t = 1). The sum over t is estimated without
    bias from `t_samples` uniform timesteps per image: (T - 1) times their mean. Labels: none (the null
    class of a conditional model, so the figure is for the unconditional p(x)).

    Returns {"nats", "bits_per_dim", "bits_per_dim_stderr" (over images), "prior", "diffusion",
    "decoder" (mean nats of each term), "n", "t_samples", "setting"}. The data: the first `n` images of
    `data` as stored (8-bit greys, not binarised), so the figure is not comparable with a bound on
    binarised MNIST such as the VAE's.
    """
    if getattr(model, "schedule", None) is None:
        raise ValueError("diffusion_bound needs a DDPM with a noise schedule; the seed preset adds noise once and "
                         "has no reverse process, so it has no such bound")
    if n < 1 or t_samples < 1 or batch_size < 1:
        raise ValueError(f"n, t_samples and batch_size must be at least 1, got {n}, {t_samples}, {batch_size}")
    model.eval()
    device = next(model.parameters()).device
    s = model.schedule
    T = s.T
    ab, ab_prev, betas = s.alpha_bar.double(), s.alpha_bar_prev.double(), s.betas.double()
    post_var = s.posterior_var.double().clone()
    post_var[0] = post_var[1]  # beta_tilde_0 is 0: the decoder's variance is clipped to the next one
    coef = (ab_prev.sqrt() * betas / (1 - ab)).to(device)  # c_t: weight of x_0 in the posterior mean
    post_var = post_var.to(device)
    g = torch.Generator().manual_seed(seed)
    x_all = data.float(torch.arange(min(n, len(data)))) if isinstance(data, MNIST) else torch.as_tensor(data)[:n]
    if x_all.min() < -1 or x_all.max() > 1:
        raise ValueError("diffusion_bound takes images in [-1, 1] (MNIST.float())")
    per_image = {"prior": [], "diffusion": [], "decoder": []}

    def x0_pred(x0, t):
        eps = torch.randn(x0.shape, generator=g).to(device)
        tt = torch.full((len(x0),), t, dtype=torch.long, device=device) if isinstance(t, int) else t.to(device)
        x_t = s.q_sample(x0.float(), tt, eps.float())
        return s.x0_from_eps(x_t, tt, model.eps_pred(x_t, tt, None)).double(), tt

    for i in range(0, len(x_all), batch_size):
        x0 = x_all[i:i + batch_size].to(device).double()
        a_T = ab[-1]
        prior = 0.5 * (a_T * x0.pow(2) + (1 - a_T) - 1 - torch.log(1 - a_T)).flatten(1).sum(1)
        mean0, _ = x0_pred(x0, 0)
        decoder = _discretized_gaussian_nll(x0, mean0, post_var[0], levels=levels)
        terms = torch.zeros(len(x0), dtype=torch.float64, device=device)
        for _ in range(t_samples):
            t = torch.randint(1, T, (len(x0),), generator=g)
            pred, tt = x0_pred(x0, t)
            c, v = coef[tt].view(-1, 1, 1, 1), post_var[tt].view(-1, 1, 1, 1)
            terms += (c.pow(2) * (x0 - pred).pow(2) / (2 * v)).flatten(1).sum(1)
        per_image["prior"].append(prior.cpu())
        per_image["decoder"].append(decoder.cpu())
        per_image["diffusion"].append((T - 1) * terms.cpu() / t_samples)
    parts = {k: torch.cat(v) for k, v in per_image.items()}
    total = parts["prior"] + parts["diffusion"] + parts["decoder"]
    dims = x_all[0].numel()
    bpd = total / (dims * math.log(2))
    return {"nats": float(total.mean()), "bits_per_dim": float(bpd.mean()),
            "bits_per_dim_stderr": float(bpd.std() / math.sqrt(len(bpd))) if len(bpd) > 1 else float("nan"),
            **{k: float(v.mean()) for k, v in parts.items()}, "n": len(total), "t_samples": t_samples,
            "setting": f"8-bit test images in [-1, 1] (not binarised), first {len(total)}, {t_samples} timesteps "
                       f"per image, posterior variance, unconditional (null class)"}
