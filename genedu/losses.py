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


# ---- GAN losses ---------------------------------------------------------------------------------
# Goodfellow et al. (2014), "Generative Adversarial Nets", eq. 1 and section 3 (the non-saturating
# generator loss); Lim & Ye (2017) / Miyato et al. (2018) for the hinge loss. `real` and `fake` are
# the discriminator's outputs D(x) and D(G(z)), shape (B,) or (B, 1): probabilities when
# `from_probs=True` (a D ending in a sigmoid, as the original notebook's), else raw scores (logits).
# The D loss is returned as its two per-example halves (real, fake), so the caller can reduce them
# as the original did: mean(real) + mean(fake).

GAN_LOSSES = ("minimax", "nonsaturating", "hinge")


def _check_gan_kind(kind: str, from_probs: bool) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"GAN loss must be one of {GAN_LOSSES}, got {kind!r}")
    if kind == "hinge" and from_probs:
        raise ValueError("the hinge loss works on raw scores: give D a linear output (from_probs=False)")


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(len(t), -1).squeeze(1) if t.dim() > 1 else t


def _bce(p: torch.Tensor, target: float) -> torch.Tensor:
    """torch's BCELoss per example on probabilities (log clamped at -100), in float32 outside any autocast
    region: on a GPU, fit's bf16 autocast refuses binary_cross_entropy on probabilities as unsafe."""
    with torch.autocast(device_type=p.device.type, enabled=False):
        p = p.float()
        return F.binary_cross_entropy(p, torch.full_like(p, target), reduction="none")


def gan_d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str = "nonsaturating", *,
               from_probs: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's loss per example, as (loss on real (B,), loss on fake (B,)).

    minimax / nonsaturating (the same D loss): -log D(x) and -log(1 - D(G(z)))  (eq. 1, maximised by D)
    hinge: max(0, 1 - D(x)) and max(0, 1 + D(G(z)))
    With probabilities the BCE clamps log at -100, exactly as torch.nn.BCELoss (the original's).
    """
    _check_gan_kind(kind, from_probs)
    real, fake = _flat(real), _flat(fake)
    if kind == "hinge":
        return F.relu(1.0 - real), F.relu(1.0 + fake)
    if from_probs:
        return _bce(real, 1.0), _bce(fake, 0.0)
    return F.softplus(-real), F.softplus(fake)  # -log sigmoid(r), -log(1 - sigmoid(f))


def gan_g_loss(fake: torch.Tensor, kind: str = "nonsaturating", *, from_probs: bool = False) -> torch.Tensor:
    """The generator's loss per example (B,), on D(G(z)).

    minimax (saturating): log(1 - D(G(z)))  -- its gradient vanishes when D rejects the fakes
    nonsaturating:        -log D(G(z))       -- the same fixed point, strong gradients early on
    hinge:                -D(G(z))
    """
    _check_gan_kind(kind, from_probs)
    fake = _flat(fake)
    if kind == "hinge":
        return -fake
    if kind == "minimax":
        if from_probs:
            return -_bce(fake, 0.0)
        return -F.softplus(fake)  # log(1 - sigmoid(f))
    if from_probs:
        return _bce(fake, 1.0)
    return F.softplus(-fake)  # -log sigmoid(f)


def r1_penalty(real_scores: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """||grad_x D(x)||^2 per example (B,) on real data: the R1 penalty of Mescheder et al. (2018),
    "Which Training Methods for GANs do actually Converge?", eq. 9 (the caller scales it by gamma / 2).

    `real_images` must require grad and `real_scores` (raw scores, (B,) or (B, 1)) must have been
    computed from it. The graph is kept (create_graph=True), so the penalty can be backpropagated
    into D's weights. Each score depends only on its own image, so the gradient of the sum is each
    example's own gradient.
    """
    if not real_images.requires_grad:
        raise ValueError("r1_penalty needs the real images with requires_grad=True, and D's scores computed from them")
    (grad,) = torch.autograd.grad(real_scores.sum(), real_images, create_graph=True)
    return _per_example(grad.pow(2))
