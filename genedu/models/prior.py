"""Learned priors for a VAE: a Gaussian mixture fitted after training to the encoder's codes.

Why: a VAE's decoder only learns to draw the codes its encoder produces, the aggregate posterior
q(z) = mean_x q(z|x). That distribution does not fill N(0, I): it has clusters and gaps ("holes"), so
some codes drawn from N(0, I) land where no training image was encoded and decode to a blurred blend.
Ex-post density estimation (Ghosh et al. 2020, "From Variational to Deterministic Autoencoders"; the
idea of Dai & Wipf 2019's two-stage VAE) fits a density to q(z) after training and samples from it.
Here: a K-component Gaussian mixture, fitted by EM (Dempster et al. 1977) in float64 on the CPU.

- :class:`GaussianMixture`: the mixture as buffers (saved in checkpoints, loadable with weights_only=True).
- :func:`fit_gmm`: deterministic EM from a seeded k-means++ start.
- :func:`prior_hole_stats`: measures the mismatch between q(z) and N(0, I).
No model is registered here.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)


class GaussianMixture(nn.Module):
    """sum_k w_k N(mu_k, L_k L_k^T) over R^D, held as buffers: weights (K,), means (K, D), scale_tril
    (K, D, D) (lower Cholesky factors; diagonal for a diagonal mixture) and fitted (a bool)."""

    def __init__(self, components: int, dim: int):
        super().__init__()
        if components < 1 or dim < 1:
            raise ValueError(f"a mixture needs components >= 1 and dim >= 1, got {components}, {dim}")
        self.register_buffer("weights", torch.full((components,), 1.0 / components))
        self.register_buffer("means", torch.zeros(components, dim))
        self.register_buffer("scale_tril", torch.eye(dim).expand(components, dim, dim).clone())
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def set(self, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> None:
        if weights.shape != self.weights.shape or means.shape != self.means.shape \
                or scale_tril.shape != self.scale_tril.shape:
            raise ValueError(f"mixture shapes {tuple(weights.shape)}, {tuple(means.shape)}, {tuple(scale_tril.shape)} "
                             f"do not match {tuple(self.weights.shape)}, {tuple(self.means.shape)}, {tuple(self.scale_tril.shape)}")
        self.weights.copy_(weights)
        self.means.copy_(means)
        self.scale_tril.copy_(scale_tril)
        self.fitted.fill_(True)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws (n, D), float32 on the CPU, reproducible from `generator` (a CPU generator)."""
        w = self.weights.detach().double().cpu()
        comp = torch.multinomial(w / w.sum(), n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        L = self.scale_tril.detach().double().cpu()[comp]  # (n, D, D)
        z = self.means.detach().double().cpu()[comp] + (L @ eps.unsqueeze(-1)).squeeze(-1)
        return z.float()

    @torch.no_grad()
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log density of each row of z (N, D): (N,), float64 on the CPU."""
        return gmm_log_prob(z.double().cpu(), self.weights.double().cpu(), self.means.double().cpu(),
                            self.scale_tril.double().cpu())


def _component_log_probs(x: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> torch.Tensor:
    """log N(x_n; mu_k, L_k L_k^T) for every n and k: (N, K). x float64 (N, D)."""
    N, D = x.shape
    out = torch.empty(N, len(means), dtype=x.dtype)
    for k in range(len(means)):
        L = scale_tril[k]
        diff = (x - means[k]).T  # (D, N)
        sol = torch.linalg.solve_triangular(L, diff, upper=False)  # L^{-1} (x - mu)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        out[:, k] = -0.5 * (D * LOG_2PI + logdet + sol.pow(2).sum(0))
    return out


def gmm_log_prob(x, weights, means, scale_tril) -> torch.Tensor:
    return torch.logsumexp(_component_log_probs(x, means, scale_tril) + torch.log(weights), dim=1)


def _kmeans_pp(x: torch.Tensor, k: int, g: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): k rows of x, drawn with the generator g."""
    N = len(x)
    centres = [x[torch.randint(N, (1,), generator=g)].squeeze(0)]
    d2 = (x - centres[0]).pow(2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / N)
        i = torch.multinomial(p, 1, generator=g)
        centres.append(x[i].squeeze(0))
        d2 = torch.minimum(d2, (x - centres[-1]).pow(2).sum(1))
    return torch.stack(centres)


def fit_gmm(x: torch.Tensor, k: int, *, iters: int = 100, seed: int = 0, tol: float = 1e-6,
            covariance: str = "full", reg: float = 1e-6, kmeans_iters: int = 10):
    """Fit a K-component Gaussian mixture to the rows of x (N, D) by EM, deterministically from `seed`.

    Start: k-means++ centres, `kmeans_iters` Lloyd steps, hard assignments as the first responsibilities.
    Then EM until the mean log-likelihood gains less than `tol` or after `iters` steps. Covariances get
    `reg` times the data's mean variance added to the diagonal (no component collapses onto a point).
    Returns (weights (K,), means (K, D), scale_tril (K, D, D)) as float32 and an info dict.
    """
    if covariance not in ("full", "diag"):
        raise ValueError(f"covariance must be 'full' or 'diag', got {covariance!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.dim() != 2 or len(x) < k:
        raise ValueError(f"x must be (N, D) with N >= k={k}, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("the codes contain NaN or inf: the model probably diverged")
    N, D = x.shape
    g = torch.Generator().manual_seed(seed)
    eps = reg * float(x.var(0).mean().clamp_min(1e-12))
    eye = torch.eye(D, dtype=torch.float64)

    centres = _kmeans_pp(x, k, g)
    for _ in range(kmeans_iters):  # a few Lloyd steps
        assign = torch.cdist(x, centres).argmin(1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                centres[j] = members.mean(0)
    resp = nn.functional.one_hot(torch.cdist(x, centres).argmin(1), k).double()

    def m_step(r):
        nk = r.sum(0) + 1e-10  # (K,)
        means = (r.T @ x) / nk[:, None]
        tril = torch.empty(k, D, D, dtype=torch.float64)
        for j in range(k):
            diff = x - means[j]
            if covariance == "full":
                cov = (r[:, j, None] * diff).T @ diff / nk[j] + eps * eye
                tril[j] = torch.linalg.cholesky(cov)
            else:
                var = (r[:, j, None] * diff.pow(2)).sum(0) / nk[j] + eps
                tril[j] = torch.diag(var.sqrt())
        return nk / N, means, tril

    weights, means, tril = m_step(resp)
    prev, ll, steps = -math.inf, -math.inf, 0
    for steps in range(1, iters + 1):
        logp = _component_log_probs(x, means, tril) + torch.log(weights)  # E-step
        lse = torch.logsumexp(logp, 1, keepdim=True)
        ll = float(lse.mean())
        resp = (logp - lse).exp()
        weights, means, tril = m_step(resp)  # M-step
        if ll - prev < tol:
            break
        prev = ll
    ll = float(gmm_log_prob(x, weights, means, tril).mean())
    return weights.float(), means.float(), tril.float(), {"log_likelihood": ll, "iters": steps}


@torch.no_grad()
def prior_hole_stats(mu: torch.Tensor, logvar: torch.Tensor, *, mixture: GaussianMixture | None = None,
                     seed: int = 0, quantile: float = 0.01) -> dict:
    """How far the aggregate posterior q(z) is from N(0, I), from the codes of 2n images (mu, logvar (2n, D)).

    - ``kl_gaussian_fit``: KL( N(m, S) || N(0, I) ), where m, S are the mean and covariance of q(z)
      (S = Cov(mu) + mean diag(sigma^2)): 0 when q(z) has the prior's first two moments. A moment
      summary only: it misses holes inside a q(z) whose moments match.
    - ``hole_fraction``: the share of N(0, I) draws whose density under q(z) (estimated as the mixture
      of the first n posteriors q(z|x_i)) is lower than that of all but `quantile` of the codes drawn
      from the other n posteriors: draws that land where the decoder has (almost) never been trained.
      About `quantile` for a prior that matches q(z); the blurred samples come from the rest.
    - ``hole_fraction_mixture``: the same for draws from the learned prior, when it is fitted.
    - ``active_dims``: latent dimensions whose mean KL to N(0, 1) exceeds 0.01 nats.
    """
    mu, logvar = mu.double().cpu(), logvar.double().cpu()
    N, D = mu.shape
    n = N // 2
    if n < 10:
        raise ValueError(f"need at least 20 encoded images, got {N}")
    m = mu.mean(0)
    S = torch.cov(mu.T).reshape(D, D) + torch.diag(logvar.exp().mean(0))
    kl = 0.5 * (torch.trace(S) + m @ m - D - torch.logdet(S))
    a_mu, a_std = mu[:n], (0.5 * logvar[:n]).exp()

    def log_q(z):  # log (1/n) sum_i N(z; mu_i, sigma_i^2), in chunks: (M,)
        out = []
        for c in z.split(256):
            lp = -0.5 * (LOG_2PI + 2 * a_std.log()[None] + ((c[:, None] - a_mu[None]) / a_std[None]).pow(2)).sum(-1)
            out.append(torch.logsumexp(lp, 1) - math.log(n))
        return torch.cat(out)

    g = torch.Generator().manual_seed(seed)
    b = mu[n:2 * n] + torch.randn(n, D, generator=g, dtype=torch.float64) * (0.5 * logvar[n:2 * n]).exp()
    threshold = torch.quantile(log_q(b), quantile)
    from_prior = torch.randn(n, D, generator=g, dtype=torch.float64)
    kl_dims = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)
    out = {"kl_gaussian_fit": float(kl), "hole_fraction": float((log_q(from_prior) < threshold).double().mean()),
           "quantile": quantile, "active_dims": int((kl_dims > 0.01).sum()), "n": n}
    if mixture is not None and bool(mixture.fitted):
        zm = mixture.sample(n, generator=g).double()
        out["hole_fraction_mixture"] = float((log_q(zm) < threshold).double().mean())
    return out
