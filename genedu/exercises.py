"""Checkers for the exercises in which the learner writes the core of each family.

Each lesson asks the learner for the few lines that *are* the idea, and checks them here: the checker
runs the learner's function and genedu's own implementation on fixed, seeded inputs and says what
differs (which output, which input, shape or value), raising ``AssertionError`` with that message.
On success it prints (and returns) a one-line verdict.

=====================  ======  ===========================================================================
checker                lesson  the learner writes
=====================  ======  ===========================================================================
``check_elbo``         01      ``fn(x01, mu, logvar, decoder, eps) -> (recon, kl)``: -ELBO with the
                               reparameterisation trick (genedu: ``VAE.reparameterize``, ``losses``)
``check_gan_losses``   02      ``fn(d_real, d_fake) -> (d_loss, g_loss)``: the non-saturating GAN losses on
                               logits (genedu: ``losses.gan_d_loss``, ``losses.gan_g_loss``)
``check_q_sample``     03      ``fn(x0, t, eps, alpha_bar) -> x_t`` (genedu: ``NoiseSchedule.q_sample``)
``check_l_simple``     03      ``fn(eps_model, x0, t, eps, alpha_bar) -> (B,)``: Ho et al.'s L_simple per
                               image (genedu: ``q_sample`` then ``diffusion.eps_mse``)
``check_ddim_step``    03      ``fn(x_t, eps_pred, alpha_bar_t, alpha_bar_prev) -> x_prev``: one DDIM step,
                               eta = 0, no clipping (genedu: one step of ``sampling.ddim_sample``)
``check_guidance``     03      ``fn(eps_cond, eps_uncond, w) -> eps`` (genedu: ``sampling.guided_eps``)
``check_flow_target``  03b     ``fn(x0, eps, t) -> (x_t, u_t)``: the straight path and its velocity, the
                               flow-matching target (genedu: ``models.flow.path_sample``)
``check_euler_step``   03b     ``fn(velocity, x, t, h) -> x``: one Euler step from t to t - h, backwards in
                               time (genedu: one step of ``sampling.ode_solve``, "euler")
``check_jump_target``  03b     ``fn(x_a, x_b, d) -> v``: the velocity a few-step flow learns, which lands on
                               the teacher's x_b in one jump of size d (genedu:
                               ``models.flow.jump_velocity_target``)
=====================  ======  ===========================================================================

``reference_*`` functions have the learner's signatures and call genedu's code, so a checker compares
two things with the same signature. ``implemented(fn)`` tells a stub (still raising
``NotImplementedError``) from a learner's function; ``expect_rejection(check, fn)`` runs a checker on a
function that should fail and returns the checker's message (the lessons use it to show a classic slip).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import torch

from . import losses, sampling
from .models.diffusion import NoiseSchedule, eps_mse
from .models.vae import VAE

ATOL, RTOL = 1e-5, 1e-4  # float32 arithmetic in a different order differs by about 1e-6


def implemented(fn) -> bool:
    """False for None or for a stub whose body still raises NotImplementedError; True otherwise."""
    if fn is None:
        return False
    code = getattr(fn, "__code__", None)
    return code is None or "NotImplementedError" not in code.co_names


def expect_rejection(check: Callable, fn: Callable) -> str:
    """Run `check(fn)` on a function that should be wrong; return the checker's message.

    Raises AssertionError if the checker accepts it (then the checker is too lenient)."""
    try:
        check(fn, verbose=False)
    except AssertionError as err:
        return f"{check.__name__} rejects {getattr(fn, '__name__', fn)}: {err}"
    raise AssertionError(f"{check.__name__} accepted {getattr(fn, '__name__', fn)}, which should be wrong")


# ---- the comparison every checker makes ----------------------------------------------------------------

def _call(checker: str, fn: Callable, case: str, *args, hint: str = ""):
    if not implemented(fn):
        raise AssertionError(f"{checker}: {getattr(fn, '__name__', 'the function')} is still the stub: "
                             f"replace its `raise NotImplementedError(...)` with your code")
    try:
        return fn(*args)
    except NotImplementedError as err:
        raise AssertionError(f"{checker}: not written yet ({err})") from err
    except Exception as err:  # noqa: BLE001  report any failure of the learner's code with the input that caused it
        raise AssertionError(f"{checker}, input '{case}': your function raised {type(err).__name__}: {err}"
                             + (f". Hint: {hint}" if hint else "")) from err


def _compare(checker: str, case: str, name: str, got, want: torch.Tensor, hint: str = "") -> float:
    """Shape, finiteness and value of one output; returns the largest absolute difference."""
    where = f"{checker}, input '{case}': {name}"
    hint = f" Hint: {hint}" if hint else ""
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{where} is a {type(got).__name__}, expected a tensor of shape {tuple(want.shape)}.{hint}")
    if tuple(got.shape) != tuple(want.shape):
        raise AssertionError(f"{where} has shape {tuple(got.shape)}, expected {tuple(want.shape)}.{hint}")
    got = got.detach().to(want.dtype)
    if not torch.isfinite(got).all():
        bad = int((~torch.isfinite(got)).sum())
        raise AssertionError(f"{where} has {bad} non-finite value(s) (inf or nan) where genedu's are all finite.{hint}")
    diff = (got - want.detach()).abs()
    if not torch.allclose(got, want.detach(), atol=ATOL, rtol=RTOL):
        i = int(diff.flatten().argmax())
        raise AssertionError(f"{where} differs from genedu's: largest difference {diff.max().item():.3g} "
                             f"(yours {got.flatten()[i].item():.6g}, genedu {want.flatten()[i].item():.6g} "
                             f"at flat index {i}).{hint}")
    return diff.max().item()


def _verdict(checker: str, what: str, n_cases: int, worst: float, verbose: bool) -> str:
    msg = f"{checker}: correct. It matches {what} on {n_cases} inputs (largest difference {worst:.1e})."
    if verbose:
        print(msg)
    return msg


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- lesson 01: the ELBO with the reparameterisation trick ------------------------------------------------

def reference_elbo(x01, mu, logvar, decoder, eps):
    """(recon, kl) per image with genedu's code, z = mu + sigma * eps drawn by `VAE.reparameterize`.

    `VAE.reparameterize` draws its own noise; it is run with the torch seed that `eps` was drawn from
    (``_elbo_cases`` records it), else z is computed from `eps` the same way."""
    seed = getattr(eps, "_genedu_seed", None)
    if seed is None:
        z = mu + eps * torch.exp(0.5 * logvar)  # what VAE.reparameterize computes with its noise eps
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            z = VAE.reparameterize(mu, logvar)
    return losses.bernoulli_nll(decoder(z), x01), losses.gaussian_kl(mu, logvar)


def _elbo_cases():
    latent, B = 3, 4
    g = _gen(0)
    weight = torch.randn(784, latent, generator=g) * 0.5
    bias = torch.randn(784, generator=g) * 0.5

    def decoder(z):  # a fixed linear decoder: z (B, latent) -> Bernoulli logits (B, 1, 28, 28)
        return (z @ weight.T + bias).view(-1, 1, 28, 28)

    cases = []
    for i, (name, mu_scale, logvar_shift) in enumerate([
            ("random posterior", 1.0, 0.0),
            ("the prior itself (mu = 0, logvar = 0: KL = 0)", 0.0, None),
            ("a confident encoder (logvar near -4)", 1.5, -4.0)]):
        g = _gen(10 + i)
        x01 = (torch.rand(B, 1, 28, 28, generator=g) < 0.3).float()
        mu = torch.randn(B, latent, generator=g) * mu_scale
        logvar = torch.zeros(B, latent) if logvar_shift is None else \
            torch.randn(B, latent, generator=g) * 0.5 + logvar_shift
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + i)
            eps = torch.randn_like(mu)  # exactly the noise VAE.reparameterize draws under this seed
        eps._genedu_seed = 100 + i
        cases.append((name, x01, mu, logvar, decoder, eps))
    return cases


def check_elbo(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(x01, mu, logvar, decoder, eps) -> (recon, kl), each (B,), against genedu's VAE loss.

    recon = -log p(x01 | z) (Bernoulli, logits = decoder(z), summed over pixels), z = mu + exp(logvar / 2) * eps;
    kl = KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dimensions. Also checks that the gradients
    of recon + kl reach mu and logvar (the reparameterisation trick) and equal genedu's."""
    name, worst = "check_elbo", 0.0
    cases = _elbo_cases()
    for case, x01, mu, logvar, decoder, eps in cases:
        mu_r, lv_r = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
        recon_r, kl_r = reference_elbo(x01, mu_r, lv_r, decoder, eps)
        grad_mu_r, grad_lv_r = torch.autograd.grad((recon_r + kl_r).sum(), (mu_r, lv_r))
        mu_l, lv_l = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
        out = _call(name, fn, case, x01, mu_l, lv_l, decoder, eps.clone())
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError(f"{name}: return two tensors (recon, kl), each of shape ({len(x01)},); "
                                 f"got {type(out).__name__}")
        recon, kl = out
        worst = max(worst, _compare(name, case, "recon", recon, recon_r,
                                    "recon is the Bernoulli negative log-likelihood of x01 given the decoder's logits "
                                    "at z = mu + exp(logvar / 2) * eps, summed over the 784 pixels "
                                    "(F.binary_cross_entropy_with_logits(..., reduction='none'))"))
        worst = max(worst, _compare(name, case, "kl", kl, kl_r,
                                    "kl = -1/2 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)), one value per image"))
        if not (isinstance(recon, torch.Tensor) and recon.requires_grad and kl.requires_grad):
            raise AssertionError(f"{name}, input '{case}': recon + kl carries no gradient to mu and logvar. "
                                 "Hint: z must be computed from mu and logvar (z = mu + exp(logvar / 2) * eps), "
                                 "not drawn by torch.normal or detached")
        grads = torch.autograd.grad((recon + kl).sum(), (mu_l, lv_l), allow_unused=True)
        for var, got, want in (("mu", grads[0], grad_mu_r), ("logvar", grads[1], grad_lv_r)):
            if got is None:
                raise AssertionError(f"{name}, input '{case}': no gradient reaches {var}. Hint: build z from mu and "
                                     "logvar with the given eps: z = mu + exp(logvar / 2) * eps")
            worst = max(worst, _compare(name, case, f"the gradient of recon + kl with respect to {var}", got, want,
                                        "the reparameterisation z = mu + exp(logvar / 2) * eps: sigma is "
                                        "exp(logvar / 2), not exp(logvar)"))
    return _verdict(name, "genedu's VAE loss (losses.bernoulli_nll, losses.gaussian_kl, VAE.reparameterize) "
                    "and its gradients", len(cases), worst, verbose)


# ---- lesson 02: the non-saturating GAN losses ------------------------------------------------------------

def reference_gan_losses(d_real, d_fake):
    """(d_loss, g_loss) per example with genedu's `losses`: the non-saturating pair, on logits."""
    loss_real, loss_fake = losses.gan_d_loss(d_real, d_fake, "nonsaturating")
    return loss_real + loss_fake, losses.gan_g_loss(d_fake, "nonsaturating")


def _gan_cases():
    g = _gen(1)
    return [("random logits", torch.randn(6, generator=g) * 2, torch.randn(6, generator=g) * 2),
            ("D undecided (all logits 0: D = 1/2)", torch.zeros(4), torch.zeros(4)),
            ("a confident D (logits of +-50)", torch.tensor([50.0, -50.0, 50.0, -50.0]),
             torch.tensor([-50.0, -50.0, 50.0, 50.0]))]


def check_gan_losses(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(d_real, d_fake) -> (d_loss, g_loss), each (B,), for D's logits on real and fake images:

    d_loss = -log D(x) - log(1 - D(G(z))), g_loss = -log D(G(z)) (non-saturating), D = sigmoid(logit)."""
    name, worst = "check_gan_losses", 0.0
    cases = _gan_cases()
    stable = "-log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l) (torch.nn.functional.softplus) " \
             "never take the log of a number that rounded to 0 or 1"
    for case, d_real, d_fake in cases:
        d_loss_r, g_loss_r = reference_gan_losses(d_real, d_fake)
        out = _call(name, fn, case, d_real.clone(), d_fake.clone())
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError(f"{name}: return two tensors (d_loss, g_loss), each of shape ({len(d_real)},); "
                                 f"got {type(out).__name__}")
        hint_d = "d_loss = -log D(x) - log(1 - D(G(z))) per example, with D = sigmoid(logit)"
        hint_g = ("the non-saturating g_loss is -log D(G(z)); log(1 - D(G(z))) is the saturating (minimax) one, "
                  "whose gradient vanishes when D rejects the fakes")
        if "confident" in case:
            hint_d = hint_g = stable
        worst = max(worst, _compare(name, case, "d_loss", out[0], d_loss_r, hint_d))
        worst = max(worst, _compare(name, case, "g_loss", out[1], g_loss_r, hint_g))
    return _verdict(name, "genedu's losses.gan_d_loss + losses.gan_g_loss ('nonsaturating')", len(cases), worst,
                    verbose)


# ---- lesson 03: q_sample, L_simple, a DDIM step, guidance -------------------------------------------------

def reference_q_sample(x0, t, eps, alpha_bar):
    """x_t with genedu's `NoiseSchedule.q_sample`, on the given alpha_bar (T,)."""
    schedule = SimpleNamespace(alpha_bar=alpha_bar, _at=NoiseSchedule._at)  # the method needs only these two
    return NoiseSchedule.q_sample(schedule, x0, t, eps)


def _q_cases():
    lin, cos = NoiseSchedule(1000, "linear").alpha_bar, NoiseSchedule(1000, "cosine").alpha_bar
    cases = []
    for i, (name, alpha_bar, t) in enumerate([
            ("linear schedule, t = 0, 500, 999 in one batch", lin, torch.tensor([0, 500, 999])),
            ("cosine schedule, five random timesteps", cos, torch.randint(0, 1000, (5,), generator=_gen(3))),
            ("linear schedule, t = 250 for the whole batch", lin, torch.full((4,), 250))]):
        g = _gen(20 + i)
        x0 = torch.rand(len(t), 1, 28, 28, generator=g) * 2 - 1
        eps = torch.randn(len(t), 1, 28, 28, generator=g)
        cases.append((name, x0, t, eps, alpha_bar))
    return cases


_Q_HINT = ("x_t = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * eps, with alpha_bar[t] of shape (B,) "
           "reshaped to (B, 1, 1, 1) so that each image gets its own timestep")


def check_q_sample(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(x0, t, eps, alpha_bar) -> x_t (B, 1, 28, 28): Ho et al. eq. 4, one timestep per image."""
    name, worst = "check_q_sample", 0.0
    cases = _q_cases()
    for case, x0, t, eps, alpha_bar in cases:
        want = reference_q_sample(x0, t, eps, alpha_bar)
        got = _call(name, fn, case, x0.clone(), t.clone(), eps.clone(), alpha_bar.clone(), hint=_Q_HINT)
        worst = max(worst, _compare(name, case, "x_t", got, want, _Q_HINT))
    return _verdict(name, "genedu's NoiseSchedule.q_sample", len(cases), worst, verbose)


def reference_l_simple(eps_model, x0, t, eps, alpha_bar):
    """L_simple per image with genedu's code: eps_mse(eps_model(q_sample(x0, t, eps), t), eps)."""
    return eps_mse(eps_model(reference_q_sample(x0, t, eps, alpha_bar), t), eps)


def _toy_eps_model():
    """A fixed, seeded stand-in for the UNet: (x_t (B, 1, 28, 28), t (B,)) -> eps_pred (B, 1, 28, 28)."""
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.no_grad():
        g = _gen(7)
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.3)
        conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
    conv.requires_grad_(False)

    def eps_model(x_t, t):
        return conv(x_t) * (1 + t.float().view(-1, 1, 1, 1) / 1000)

    return eps_model


def check_l_simple(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(eps_model, x0, t, eps, alpha_bar) -> (B,): the squared error of eps_model(x_t, t) to eps,
    averaged over the pixels of each image (Ho et al. eq. 14, per pixel, as genedu's eps_mse)."""
    name, worst = "check_l_simple", 0.0
    cases = _q_cases()
    eps_model = _toy_eps_model()
    for case, x0, t, eps, alpha_bar in cases:
        want = reference_l_simple(eps_model, x0, t, eps, alpha_bar)
        got = _call(name, fn, case, eps_model, x0.clone(), t.clone(), eps.clone(), alpha_bar.clone())
        worst = max(worst, _compare(name, case, "the loss", got, want,
                                    "noise x0 with your q_sample, ask eps_model(x_t, t) for the noise, and return "
                                    "((eps_pred - eps) ** 2) averaged over each image's pixels: shape (B,)"))
    return _verdict(name, "genedu's eps_mse(eps_model(q_sample(x0, t, eps), t), eps)", len(cases), worst, verbose)


class _OneStepModel:
    """Just enough of a `Diffusion` model for `sampling.ddim_sample` to take one step from a given x_t with a
    given eps_pred: a two-step schedule alpha_bar = [alpha_bar_prev, alpha_bar_t], noise that *is* x_t."""

    def __init__(self, x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
        self.x_t, self.eps = x_t, eps_pred
        self.schedule = SimpleNamespace(T=2, alpha_bar=torch.stack([torch.as_tensor(alpha_bar_prev),
                                                                    torch.as_tensor(alpha_bar_t)]).float())

    def randn(self, *shape, generator=None):
        return self.x_t.clone()

    def eps_pred(self, x_t, t, labels=None):
        return self.eps if int(t[0]) == 1 else torch.zeros_like(x_t)  # only the first step is read


def reference_ddim_step(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
    """x_{t-1} from one step of genedu's `sampling.ddim_sample` (eta = 0, no clipping of x0_pred)."""
    model = _OneStepModel(x_t, eps_pred, alpha_bar_t, alpha_bar_prev)
    _, traj = sampling.ddim_sample(model, len(x_t), steps=2, eta=0.0, return_trajectory=True, clip_x0=False)
    return traj["x_t"][1]  # the state after the first step: x_{t-1}


def _ddim_cases():
    ab = NoiseSchedule(1000, "linear").alpha_bar
    one = torch.tensor(1.0)
    cases = []
    for i, (name, t, t_prev) in enumerate([("from pure noise, t = 999 to 949", 999, 949),
                                           ("mid-way, t = 500 to 450", 500, 450),
                                           ("the last step, t = 0 to the clean image (alpha_bar_prev = 1)", 0, -1)]):
        g = _gen(30 + i)
        x_t = torch.randn(3, 1, 28, 28, generator=g)
        eps_pred = torch.randn(3, 1, 28, 28, generator=g) * 0.8
        cases.append((name, x_t, eps_pred, ab[t], ab[t_prev] if t_prev >= 0 else one))
    return cases


def check_ddim_step(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(x_t, eps_pred, alpha_bar_t, alpha_bar_prev) -> x_prev (B, 1, 28, 28): DDIM eq. 12 with eta = 0,
    x0_pred not clipped. alpha_bar_t and alpha_bar_prev are 0-dim tensors (one timestep for the batch)."""
    name, worst = "check_ddim_step", 0.0
    cases = _ddim_cases()
    for case, x_t, eps_pred, ab_t, ab_prev in cases:
        want = reference_ddim_step(x_t, eps_pred, ab_t, ab_prev)
        got = _call(name, fn, case, x_t.clone(), eps_pred.clone(), ab_t.clone(), ab_prev.clone())
        worst = max(worst, _compare(name, case, "x_prev", got, want,
                                    "x0_pred = (x_t - sqrt(1 - alpha_bar_t) * eps_pred) / sqrt(alpha_bar_t), then "
                                    "x_prev = sqrt(alpha_bar_prev) * x0_pred + sqrt(1 - alpha_bar_prev) * eps_pred "
                                    "(no clipping of x0_pred in this exercise)"))
    return _verdict(name, "one step of genedu's sampling.ddim_sample (eta = 0, clip_x0=False)", len(cases), worst,
                    verbose)


def reference_guidance(eps_cond, eps_uncond, w):
    """genedu's `sampling.guided_eps` (its w = 0 is unconditional, w = 1 conditional)."""
    return sampling.guided_eps(eps_cond, eps_uncond, w)


def check_guidance(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(eps_cond, eps_uncond, w) -> eps (B, 1, 28, 28): classifier-free guidance in genedu's convention,
    w = 0 the unconditional model, w = 1 the conditional one (Ho & Salimans' w plus one)."""
    name, worst = "check_guidance", 0.0
    g = _gen(40)
    eps_cond, eps_uncond = torch.randn(2, 1, 28, 28, generator=g), torch.randn(2, 1, 28, 28, generator=g)
    ws = [0.0, 1.0, 3.0, 7.5]
    for w in ws:
        case = f"w = {w:g}" + {0.0: " (unconditional)", 1.0: " (conditional)"}.get(w, " (guided)")
        want = reference_guidance(eps_cond, eps_uncond, w)
        got = _call(name, fn, case, eps_cond.clone(), eps_uncond.clone(), w)
        worst = max(worst, _compare(name, case, "eps", got, want,
                                    "eps = eps_uncond + w * (eps_cond - eps_uncond): w = 0 must give eps_uncond and "
                                    "w = 1 eps_cond (Ho & Salimans write (1 + w) eps_cond - w eps_uncond: their w "
                                    "is genedu's w - 1)"))
    return _verdict(name, "genedu's sampling.guided_eps", len(ws), worst, verbose)


# ---- lesson 03b: the flow-matching target and an Euler step ----------------------------------------------

def reference_flow_target(x0, eps, t):
    """(x_t, u_t) with genedu's `models.flow.path_sample`: x_t = (1 - t) x0 + t eps, u_t = eps - x0."""
    from .models.flow import path_sample

    return path_sample(x0, eps, t)


def check_flow_target(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(x0, eps, t) -> (x_t, u_t), for t (B,) in [0, 1], one time per example, on 2-D points and on
    MNIST-shaped images: the straight path from data (t = 0) to noise (t = 1) and its velocity, the
    flow-matching target."""
    name, worst, n = "check_flow_target", 0.0, 0
    g = _gen(50)
    for shape in ((5, 2), (4, 1, 28, 28)):
        x0, eps = torch.rand(shape, generator=g) * 2 - 1, torch.randn(shape, generator=g)
        B = shape[0]
        for case, t in ((f"t = 0 (the data), shape {shape}", torch.zeros(B)),
                        (f"t = 1 (the noise), shape {shape}", torch.ones(B)),
                        (f"a different t per example, shape {shape}", torch.linspace(0.1, 0.9, B))):
            want_x, want_u = reference_flow_target(x0, eps, t)
            hint = ("t has one value per example, shape (B,): reshape it to (B, 1, ..., 1) before multiplying, "
                    "t.view(-1, *[1] * (x0.dim() - 1)); x_t = (1 - t) * x0 + t * eps")
            got = _call(name, fn, case, x0.clone(), eps.clone(), t.clone(), hint=hint)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise AssertionError(f"{name}, input '{case}': return two tensors (x_t, u_t), got {type(got).__name__}")
            worst = max(worst, _compare(name, case, "x_t", got[0], want_x, hint + " (t = 0 is data, t = 1 is noise)"))
            worst = max(worst, _compare(name, case, "u_t", got[1], want_u,
                                        "u_t is d x_t / dt, the derivative of (1 - t) x0 + t eps in t: eps - x0 "
                                        "(it points from the data to the noise and does not depend on t)"))
            n += 1
    return _verdict(name, "genedu's models.flow.path_sample", n, worst, verbose)


def _curved_velocity(x, t):
    """A fixed velocity field whose paths are curved (it depends on x and on t): Euler's error shows."""
    return torch.sin(3 * x) * t + 0.5 * x


def reference_euler(velocity, x, steps):
    """x at t = 0 from genedu's `sampling.ode_solve(velocity, x, steps=steps, method="euler")`."""
    return sampling.ode_solve(velocity, x, steps=steps, method="euler")


def reference_euler_step(velocity, x, t, h):
    """x at time t - h from one Euler step of genedu's `sampling.ode_solve` (which runs from 1 to 0 in steps
    of 1 / steps): one step on the field rescaled to the interval [t - h, t]."""
    return sampling.ode_solve(lambda y, s: h * velocity(y, t - h + h * s), x, steps=1, method="euler")


def check_euler_step(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(velocity, x, t, h) -> x at time t - h (one Euler step of dx/dt = velocity(x, t), t a float,
    h > 0: backwards in time), by running it as a whole solver from t = 1 to t = 0 against genedu's
    `sampling.ode_solve(method="euler")` on a constant and on a curved field."""
    from .sampling import ode_timesteps

    name, worst = "check_euler_step", 0.0
    g = _gen(60)
    x1, shift = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    cases = [("a constant field, 1 step", (lambda x_, t: shift), 1), ("a curved field, 1 step", _curved_velocity, 1),
             ("a curved field, 3 steps", _curved_velocity, 3), ("a curved field, 10 steps", _curved_velocity, 10)]
    hint = "the step goes backwards in time, from t to t - h: x - h * velocity(x, t)"
    for case, velocity, steps in cases:
        ts, x = ode_timesteps(steps), x1.clone()
        for i in range(steps):
            x = _call(name, fn, case, velocity, x, float(ts[i]), float(ts[i] - ts[i + 1]), hint=hint)
        worst = max(worst, _compare(name, case, "x at t = 0", x, reference_euler(velocity, x1, steps), hint))
    return _verdict(name, "genedu's sampling.ode_solve(method='euler')", len(cases), worst, verbose)


def reference_jump_target(x_a, x_b, d):
    """genedu's `models.flow.jump_velocity_target`: (x_a - x_b) / d, d one jump size per example."""
    from .models.flow import jump_velocity_target

    return jump_velocity_target(x_a, x_b, d)


def check_jump_target(fn: Callable, *, verbose: bool = True) -> str:
    """Check fn(x_a, x_b, d) -> v: the velocity that carries x_a (at time t) to x_b (at t - d) in one Euler
    jump, x_b = x_a - d v; d (B,) holds one jump size per example. Checked on 2-D points and on MNIST-shaped
    images, and by taking the jump: x_a - d v must land on x_b."""
    name, worst, n = "check_jump_target", 0.0, 0
    g = _gen(70)
    hint = ("one Euler jump backwards in time is x_b = x_a - d * v: solve it for v. d has one value per example, "
            "shape (B,): reshape it to (B, 1, ..., 1) before dividing")
    for shape in ((5, 2), (4, 1, 28, 28)):
        x_a, x_b = torch.randn(shape, generator=g), torch.rand(shape, generator=g) * 2 - 1
        B = shape[0]
        for case, d in ((f"one jump over the whole path (d = 1), shape {shape}", torch.ones(B)),
                        (f"half and quarter jumps mixed, shape {shape}", torch.tensor([0.5, 0.25] * B)[:B])):
            got = _call(name, fn, case, x_a.clone(), x_b.clone(), d.clone(), hint=hint)
            worst = max(worst, _compare(name, case, "v", got, reference_jump_target(x_a, x_b, d), hint))
            landed = x_a - d.view(-1, *([1] * (x_a.dim() - 1))) * got
            worst = max(worst, _compare(name, case, "x_a - d v (where the jump lands)", landed, x_b, hint))
            n += 1
    return _verdict(name, "genedu's models.flow.jump_velocity_target", n, worst, verbose)


__all__ = ["implemented", "expect_rejection", "check_elbo", "check_gan_losses", "check_q_sample", "check_l_simple",
           "check_ddim_step", "check_guidance", "reference_elbo", "reference_gan_losses", "reference_q_sample",
           "reference_l_simple", "reference_ddim_step", "reference_guidance", "check_flow_target", "check_euler_step",
           "reference_flow_target", "reference_euler",
           "reference_euler_step", "check_jump_target", "reference_jump_target"]
