"""genedu.gan_plots: the 1-D divergences of lesson 02 against closed forms, and its two tables."""

import math

import pytest
import torch

from genedu.gan_plots import js, js_against_distance, kl, mode_seeking_table

X = torch.linspace(-20, 40, 12001, dtype=torch.float64)


def _normal(mu, sd):
    return torch.distributions.Normal(mu, sd).log_prob(X)


def test_kl_matches_the_closed_form_for_two_gaussians():
    # KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
    want = math.log(1.5 / 1.0) + (1.0 + 2.0**2) / (2 * 1.5**2) - 0.5
    assert kl(_normal(0.0, 1.0), _normal(2.0, 1.5), X).item() == pytest.approx(want, abs=1e-6)
    assert kl(_normal(1.0, 2.0), _normal(1.0, 2.0), X).item() == pytest.approx(0.0, abs=1e-9)


def test_js_is_symmetric_and_lies_between_0_and_log_2():
    p, q = _normal(0.0, 1.0), _normal(1.5, 0.8)
    assert js(p, q, X).item() == pytest.approx(js(q, p, X).item(), abs=1e-9)
    assert js(p, p, X).item() == pytest.approx(0.0, abs=1e-9)
    assert js(p, _normal(30.0, 1.0), X).item() == pytest.approx(math.log(2), abs=1e-6)
    assert 0 < js(p, q, X).item() < math.log(2)


def test_mode_seeking_table_ranks_a_collapsed_generator_before_a_broad_one(capsys):
    two_modes = torch.logaddexp(_normal(-3.0, 0.7), _normal(3.0, 0.7)) - math.log(2)
    scores = mode_seeking_table({"collapse": _normal(3.0, 0.7), "broad": _normal(0.0, 3.08), "data": two_modes},
                                two_modes, X)
    assert scores["data"] < scores["collapse"] < scores["broad"]
    assert scores["data"] == pytest.approx(0.0, abs=1e-6)  # p_g = p_data: KL 0 and JS 0
    out = capsys.readouterr().out
    assert "collapse" in out and "broad" in out and len(out.strip().splitlines()) == 4


def test_js_against_distance_has_no_gradient_once_the_gaussians_are_apart(capsys):
    grads = js_against_distance([0.0, 1.0, 16.0], X)
    assert abs(grads[0.0]) < 1e-9  # JS is smallest at mu = 0
    assert grads[1.0] > 0.1  # close: moving p_g changes JS
    assert abs(grads[16.0]) < 1e-9  # far apart: JS = log 2 whatever mu is
    # against a finite difference of js itself
    h = torch.tensor(1e-4, dtype=torch.float64)  # float64 means: a float mean would be rounded to float32
    fd = (js(_normal(0.0, 1.0), _normal(1.0 + h, 1.0), X) - js(_normal(0.0, 1.0), _normal(1.0 - h, 1.0), X)) / (2 * h)
    assert grads[1.0] == pytest.approx(fd.item(), rel=1e-5)
    assert len(capsys.readouterr().out.strip().splitlines()) == 4


def test_a_density_off_the_grid_gets_a_clear_error():
    with pytest.raises(ValueError, match="evaluate each density on the grid"):
        kl(_normal(0.0, 1.0)[:-1], _normal(0.0, 1.0), X)
    with pytest.raises(ValueError, match="1-D grid"):
        js_against_distance([1.0], X[:-1].reshape(2, -1))
