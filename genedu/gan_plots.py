"""The 1-D computations of lesson 02 (GANs): divergences between densities given on a grid, and the two
tables that show what a GAN's generator loss rewards (Arjovsky and Bottou 2017, Theorem 2.5 and section 2).

Densities are given as their logs on a 1-D grid `x` (float64 for accuracy); integrals use the trapezoid
rule, so the grid must cover where the densities live.
"""

from __future__ import annotations

import math

import torch

__all__ = ["kl", "js", "mode_seeking_table", "js_against_distance"]


def _check_grid(x: torch.Tensor, *logs: torch.Tensor) -> None:
    if x.dim() != 1 or len(x) < 2:
        raise ValueError(f"x must be a 1-D grid of at least 2 points, got shape {tuple(x.shape)}: "
                         "pass e.g. torch.linspace(-8, 10, 4001, dtype=torch.float64)")
    for log_p in logs:
        if log_p.shape != x.shape:
            raise ValueError(f"a log-density has shape {tuple(log_p.shape)} but the grid x has {tuple(x.shape)}: "
                             "evaluate each density on the grid, e.g. Normal(0, 1).log_prob(x)")


def kl(log_p: torch.Tensor, log_q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """KL(p || q) = integral of p log(p / q), for two densities given as logs on the grid x."""
    _check_grid(x, log_p, log_q)
    return torch.trapezoid(log_p.exp() * (log_p - log_q), x)


def js(log_p: torch.Tensor, log_q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """JS(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2: 0 when p = q, log 2 when they do
    not overlap."""
    log_m = torch.logaddexp(log_p, log_q) - math.log(2)
    return 0.5 * kl(log_p, log_m, x) + 0.5 * kl(log_q, log_m, x)


def mode_seeking_table(candidates: dict[str, torch.Tensor], log_p_data: torch.Tensor, x: torch.Tensor) -> dict[str, float]:
    """Score candidate generators (name -> log-density on x) against p_data by what the non-saturating G step
    follows, KL(p_g || p_data) - 2 JS(p_data || p_g). Prints it beside the forward KL(p_data || p_g) that
    maximum likelihood minimises; returns the first per name."""
    scores = {}
    print(f"{'generator':>26} | KL(p_g||p_data) - 2 JS | KL(p_data||p_g), what likelihood minimises")
    for name, log_g in candidates.items():
        scores[name] = (kl(log_g, log_p_data, x) - 2 * js(log_p_data, log_g, x)).item()
        print(f"{name:>26} | {scores[name]:22.3f} | {kl(log_p_data, log_g, x).item():8.3f}")
    return scores


def js_against_distance(mus, x: torch.Tensor) -> dict[float, float]:
    """JS between p_data = N(0, 1) and p_g = N(mu, 1) for each mu, and its derivative dJS/dmu by autograd.
    Prints the table (JS in units of its maximum, log 2); returns {mu: dJS/dmu}."""
    _check_grid(x)
    log_p_data = torch.distributions.Normal(0.0, 1.0).log_prob(x)
    grads = {}
    print(f"{'mu':>4} | JS / log 2 | dJS/dmu")
    for mu in mus:
        m = torch.tensor(float(mu), dtype=x.dtype, requires_grad=True)
        j = js(log_p_data, torch.distributions.Normal(m, 1.0).log_prob(x), x)
        (grad,) = torch.autograd.grad(j, m)
        grads[mu] = grad.item()
        print(f"{mu:4.0f} | {j.item() / math.log(2):10.4f} | {grads[mu]:.2e}")
    return grads
