"""The exercise checkers: each accepts genedu's own function and a learner's correct one, and rejects a
classic wrong one with a message that names what differs (output, input, shape or value)."""

import pytest
import torch
import torch.nn.functional as F

from genedu import exercises as ex
from genedu.models.diffusion import NoiseSchedule


# ---- correct functions as a learner would write them (independent of genedu's code) ----------------------

def elbo_ok(x01, mu, logvar, decoder, eps):
    z = mu + torch.exp(0.5 * logvar) * eps
    recon = F.binary_cross_entropy_with_logits(decoder(z), x01, reduction="none").flatten(1).sum(1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    return recon, kl


def gan_ok(d_real, d_fake):
    return F.softplus(-d_real) + F.softplus(d_fake), F.softplus(-d_fake)


def q_sample_ok(x0, t, eps, alpha_bar):
    ab = alpha_bar[t].view(-1, 1, 1, 1)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def l_simple_ok(eps_model, x0, t, eps, alpha_bar):
    return (eps_model(q_sample_ok(x0, t, eps, alpha_bar), t) - eps).pow(2).flatten(1).mean(1)


def ddim_ok(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
    x0_pred = (x_t - (1 - alpha_bar_t).sqrt() * eps_pred) / alpha_bar_t.sqrt()
    return alpha_bar_prev.sqrt() * x0_pred + (1 - alpha_bar_prev).sqrt() * eps_pred


def guidance_ok(eps_cond, eps_uncond, w):
    return eps_uncond + w * (eps_cond - eps_uncond)


def flow_target_ok(x0, eps, t):
    t = t.view(-1, *[1] * (x0.dim() - 1))
    return (1 - t) * x0 + t * eps, eps - x0


def euler_step_ok(velocity, x, t, h):
    return x - h * velocity(x, t)


def jump_target_ok(x_a, x_b, d):
    return (x_a - x_b) / d.view(-1, *[1] * (x_a.dim() - 1))


def jump_target_forwards(x_a, x_b, d):  # the jump taken forwards in time: the sign flipped
    return (x_b - x_a) / d.view(-1, *[1] * (x_a.dim() - 1))


def jump_target_times_d(x_a, x_b, d):  # the displacement scaled by d instead of divided
    return (x_a - x_b) * d.view(-1, *[1] * (x_a.dim() - 1))


CASES = [  # checker, genedu's own function, a learner's correct one
    (ex.check_elbo, ex.reference_elbo, elbo_ok),
    (ex.check_gan_losses, ex.reference_gan_losses, gan_ok),
    (ex.check_q_sample, ex.reference_q_sample, q_sample_ok),
    (ex.check_l_simple, ex.reference_l_simple, l_simple_ok),
    (ex.check_ddim_step, ex.reference_ddim_step, ddim_ok),
    (ex.check_guidance, ex.reference_guidance, guidance_ok),
    (ex.check_flow_target, ex.reference_flow_target, flow_target_ok),
    (ex.check_euler_step, ex.reference_euler_step, euler_step_ok),
    (ex.check_jump_target, ex.reference_jump_target, jump_target_ok),
]


@pytest.mark.parametrize("check, reference, learner", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_checker_accepts_genedus_function_and_a_correct_one(check, reference, learner, capsys):
    for fn in (reference, learner):
        verdict = check(fn)
        assert verdict.startswith(f"{check.__name__}: correct") and "largest difference" in verdict
    assert f"{check.__name__}: correct" in capsys.readouterr().out  # the verdict is printed
    assert check(learner, verbose=False) and capsys.readouterr().out == ""


# ---- classic slips, and the words the checker must use about each ---------------------------------------

def elbo_std_is_variance(x01, mu, logvar, decoder, eps):  # sigma = exp(logvar) instead of exp(logvar / 2)
    z = mu + torch.exp(logvar) * eps
    recon = F.binary_cross_entropy_with_logits(decoder(z), x01, reduction="none").flatten(1).sum(1)
    return recon, -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def elbo_kl_sign(x01, mu, logvar, decoder, eps):
    recon, kl = elbo_ok(x01, mu, logvar, decoder, eps)
    return recon, -kl


def elbo_mean_over_pixels(x01, mu, logvar, decoder, eps):
    recon, kl = elbo_ok(x01, mu, logvar, decoder, eps)
    return recon / 784, kl


def elbo_no_reparameterisation(x01, mu, logvar, decoder, eps):
    z = (mu + torch.exp(0.5 * logvar) * eps).detach()  # the sample is right, but no gradient reaches the encoder
    recon = F.binary_cross_entropy_with_logits(decoder(z), x01, reduction="none").flatten(1).sum(1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    return recon, kl


def elbo_batch_sum(x01, mu, logvar, decoder, eps):
    recon, kl = elbo_ok(x01, mu, logvar, decoder, eps)
    return recon.sum(), kl.sum()


def gan_minimax_g(d_real, d_fake):
    return F.softplus(-d_real) + F.softplus(d_fake), -F.softplus(d_fake)  # log(1 - D(G(z))): saturating


def gan_naive_logs(d_real, d_fake):
    D_real, D_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
    return -torch.log(D_real) - torch.log(1 - D_fake), -torch.log(D_fake)


def gan_swapped(d_real, d_fake):
    return F.softplus(d_real) + F.softplus(-d_fake), F.softplus(-d_fake)


def q_no_sqrt(x0, t, eps, alpha_bar):
    ab = alpha_bar[t].view(-1, 1, 1, 1)
    return ab * x0 + (1 - ab) * eps


def q_no_reshape(x0, t, eps, alpha_bar):
    ab = alpha_bar[t]  # (B,) against (B, 1, 28, 28): broadcasts over the wrong dimension, or fails
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def q_first_t_only(x0, t, eps, alpha_bar):
    ab = alpha_bar[t[0]]
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def l_simple_sum(eps_model, x0, t, eps, alpha_bar):
    return (eps_model(q_sample_ok(x0, t, eps, alpha_bar), t) - eps).pow(2).flatten(1).sum(1)


def l_simple_scalar(eps_model, x0, t, eps, alpha_bar):
    return (eps_model(q_sample_ok(x0, t, eps, alpha_bar), t) - eps).pow(2).mean()


def l_simple_predicts_x0(eps_model, x0, t, eps, alpha_bar):
    return (eps_model(q_sample_ok(x0, t, eps, alpha_bar), t) - x0).pow(2).flatten(1).mean(1)


def ddim_ddpm_mean(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):  # the next state without the eps direction
    x0_pred = (x_t - (1 - alpha_bar_t).sqrt() * eps_pred) / alpha_bar_t.sqrt()
    return alpha_bar_prev.sqrt() * x0_pred


def ddim_clipped(x_t, eps_pred, alpha_bar_t, alpha_bar_prev):
    x0_pred = ((x_t - (1 - alpha_bar_t).sqrt() * eps_pred) / alpha_bar_t.sqrt()).clamp(-1, 1)
    return alpha_bar_prev.sqrt() * x0_pred + (1 - alpha_bar_prev).sqrt() * eps_pred


def guidance_ho_salimans(eps_cond, eps_uncond, w):  # their convention: off by one in genedu's
    return (1 + w) * eps_cond - w * eps_uncond


def guidance_swapped(eps_cond, eps_uncond, w):
    return eps_cond + w * (eps_uncond - eps_cond)


def flow_target_reversed_velocity(x0, eps, t):  # the velocity pointing from noise to data
    t = t.view(-1, *[1] * (x0.dim() - 1))
    return (1 - t) * x0 + t * eps, x0 - eps


def flow_target_no_reshape(x0, eps, t):  # t (B,) against (B, 2) or (B, 1, 28, 28): fails to broadcast
    return (1 - t) * x0 + t * eps, eps - x0


def euler_step_forwards(velocity, x, t, h):  # moves forwards in t: adds the velocity
    return x + h * velocity(x, t)


def euler_step_at_the_end(velocity, x, t, h):  # asks the field at the end of the step, t - h
    return x - h * velocity(x, t - h)


WRONG = [  # checker, a wrong function, words the message must contain
    (ex.check_elbo, elbo_std_is_variance, ["recon", "differs", "random posterior"]),
    (ex.check_elbo, elbo_kl_sign, ["kl", "differs"]),
    (ex.check_elbo, elbo_mean_over_pixels, ["recon", "differs", "summed over the 784 pixels"]),
    (ex.check_elbo, elbo_no_reparameterisation, ["no gradient", "mu"]),
    (ex.check_elbo, elbo_batch_sum, ["recon", "shape ()", "expected (4,)"]),
    (ex.check_gan_losses, gan_minimax_g, ["g_loss", "differs", "non-saturating"]),
    (ex.check_gan_losses, gan_naive_logs, ["confident D", "non-finite", "softplus"]),
    (ex.check_gan_losses, gan_swapped, ["d_loss", "differs", "random logits"]),
    (ex.check_q_sample, q_no_sqrt, ["x_t", "differs", "sqrt"]),
    (ex.check_q_sample, q_no_reshape, ["t = 0, 500, 999", "raised", "(B, 1, 1, 1)"]),
    (ex.check_q_sample, q_first_t_only, ["x_t", "differs", "t = 0, 500, 999"]),
    (ex.check_l_simple, l_simple_sum, ["the loss", "differs", "averaged"]),
    (ex.check_l_simple, l_simple_scalar, ["shape ()", "expected (3,)"]),
    (ex.check_l_simple, l_simple_predicts_x0, ["the loss", "differs"]),
    (ex.check_ddim_step, ddim_ddpm_mean, ["x_prev", "differs", "t = 999 to 949"]),
    (ex.check_ddim_step, ddim_clipped, ["x_prev", "differs", "no clipping"]),
    (ex.check_guidance, guidance_ho_salimans, ["w = 0 (unconditional)", "differs", "genedu's w - 1"]),
    (ex.check_guidance, guidance_swapped, ["w = 0", "differs"]),
    (ex.check_flow_target, flow_target_reversed_velocity, ["u_t", "differs", "eps - x0"]),
    (ex.check_flow_target, flow_target_no_reshape, ["raised", "(B, 1, ..., 1)"]),
    (ex.check_euler_step, euler_step_forwards, ["x at t = 0", "differs", "a constant field, 1 step", "backwards"]),
    (ex.check_euler_step, euler_step_at_the_end, ["x at t = 0", "differs", "a curved field, 1 step"]),
    (ex.check_jump_target, jump_target_forwards, ["v", "differs", "x_b = x_a - d * v"]),
    (ex.check_jump_target, jump_target_times_d, ["v", "differs", "half and quarter jumps mixed"]),
]


@pytest.mark.parametrize("check, wrong, words", WRONG, ids=lambda c: getattr(c, "__name__", ""))
def test_checker_rejects_a_wrong_function_naming_the_difference(check, wrong, words):
    with pytest.raises(AssertionError) as err:
        check(wrong, verbose=False)
    msg = str(err.value)
    assert msg.startswith(check.__name__), msg
    for w in words:
        assert w in msg, f"{w!r} not in the message: {msg}"
    assert ex.expect_rejection(check, wrong).startswith(f"{check.__name__} rejects {wrong.__name__}:")


def test_a_stub_is_not_implemented_and_the_checker_says_so():
    def stub(x0, t, eps, alpha_bar):
        """A learner's stub."""
        raise NotImplementedError("write q_sample")

    assert not ex.implemented(stub) and not ex.implemented(None) and ex.implemented(q_sample_ok)
    with pytest.raises(AssertionError, match="still the stub"):
        ex.check_q_sample(stub)


def test_expect_rejection_fails_when_the_checker_accepts():
    with pytest.raises(AssertionError, match="accepted guidance_ok"):
        ex.expect_rejection(ex.check_guidance, guidance_ok)


def test_references_equal_the_formulas_in_the_papers():
    """The references call genedu's code (one DDIM step through sampling.ddim_sample on a stand-in model);
    pin them against the equations, so a checker never compares with something else."""
    ab = NoiseSchedule(1000, "linear").alpha_bar
    g = torch.Generator().manual_seed(0)
    x_t, eps = torch.randn(2, 1, 28, 28, generator=g), torch.randn(2, 1, 28, 28, generator=g)
    for t, t_prev in ((999, 949), (10, -1)):
        ab_t, ab_prev = ab[t], (ab[t_prev] if t_prev >= 0 else torch.tensor(1.0))
        torch.testing.assert_close(ex.reference_ddim_step(x_t, eps, ab_t, ab_prev), ddim_ok(x_t, eps, ab_t, ab_prev),
                                   atol=1e-5, rtol=1e-4)
    t = torch.tensor([0, 999])
    torch.testing.assert_close(ex.reference_q_sample(x_t, t, eps, ab), q_sample_ok(x_t, t, eps, ab))
    assert torch.equal(ex.reference_guidance(x_t, eps, 0.0), eps)  # w = 0: the unconditional prediction
    torch.testing.assert_close(ex.reference_guidance(x_t, eps, 1.0), x_t)  # w = 1: the conditional one
    d_loss, g_loss = ex.reference_gan_losses(torch.zeros(3), torch.zeros(3))
    torch.testing.assert_close(d_loss, torch.full((3,), 2 * torch.log(torch.tensor(2.0)).item()))  # 2 log 2 at D = 1/2
    torch.testing.assert_close(g_loss, torch.full((3,), torch.log(torch.tensor(2.0)).item()))
