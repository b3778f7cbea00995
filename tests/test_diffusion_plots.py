"""Lesson 03's figures and measurements (genedu.diffusion_plots) against hand computations."""

import itertools
import math

import matplotlib
import pytest
import torch

import genedu
from genedu import diffusion_plots as D

matplotlib.use("Agg")


def test_image_rows_one_titled_grid_per_row_and_bad_input():
    g = torch.Generator().manual_seed(0)
    rows = {"a": torch.rand(8, 1, 28, 28, generator=g) * 2 - 1, "b": torch.zeros(3, 1, 28, 28)}
    fig = D.image_rows(rows)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        D.image_rows({"flat": torch.zeros(8, 784)})
    with pytest.raises(ValueError, match="at least one"):
        D.image_rows({})


def test_nearest_distance_against_brute_force():
    g = torch.Generator().manual_seed(1)
    images, reference = torch.randn(5, 1, 28, 28, generator=g), torch.randn(7, 1, 28, 28, generator=g)
    brute = torch.tensor([min((i - r).norm().item() for r in reference) for i in images])
    assert torch.allclose(D.nearest_distance(images, reference), brute, rtol=1e-5)
    assert D.nearest_distance(reference[2:4], reference).abs().max() < 1e-4  # an image of the set: 0
    with pytest.raises(ValueError, match="reference"):
        D.nearest_distance(images, torch.zeros(7, 28, 28))


def test_within_class_spread_is_the_mean_pairwise_distance_per_class():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(9, 1, 28, 28, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 0, 1, 1])  # class 2 holds one image: skipped

    def mean_pair(idx):
        return sum((x[i] - x[j]).norm().item() for i, j in itertools.combinations(idx, 2)) / math.comb(len(idx), 2)

    expected = (mean_pair([0, 1, 6]) + mean_pair([2, 3, 4, 7, 8])) / 2
    assert D.within_class_spread(x, labels) == pytest.approx(expected, rel=1e-5)
    assert D.within_class_spread(x[:2].repeat(2, 1, 1, 1), torch.tensor([0, 1, 0, 1])) == pytest.approx(0, abs=1e-3)
    with pytest.raises(ValueError, match="one label per image"):
        D.within_class_spread(x, labels[:5])
    with pytest.raises(ValueError, match="two images"):
        D.within_class_spread(x[:3], torch.tensor([0, 1, 2]))


def test_measure_samples_on_real_digits():
    test = genedu.load_mnist("test")
    x, y = test.float(torch.arange(200)), test.labels[:200]
    row = D.measure_samples(x, y, seconds=2.0)
    assert row["accuracy"] > 0.95 and row["s_per_1000"] == pytest.approx(10.0)
    assert row["diversity"] == pytest.approx(D.within_class_spread(x, y))
    with pytest.warns(UserWarning, match="biased"):  # the same FID the protocol computes at this count
        assert row["fid"] == pytest.approx(genedu.evaluate.evaluate_samples(x, with_calibration=False).as_dict()["fid"])
    wrong = D.measure_samples(x, (y + 1) % 10)  # the classes asked for are not the ones drawn
    assert wrong["accuracy"] < 0.05 and "s_per_1000" not in wrong


class _Sampler:
    """A stand-in model whose `sample` returns real test digits and records how it was called."""

    def __init__(self):
        self.test = genedu.load_mnist("test")
        self.calls = []

    def sample(self, n, *, labels, sampler, steps, guidance, generator):
        self.calls.append(dict(n=n, labels=labels, sampler=sampler, steps=steps, guidance=guidance,
                               first=torch.rand(1, generator=generator).item()))
        return self.test.float(torch.arange(n))


def test_sample_and_measure_asks_for_balanced_ddim_samples_from_a_fixed_seed():
    model = _Sampler()
    row = D.sample_and_measure(model, 7, n=40, guidance=2.0, seed=3)
    call = model.calls[0]
    assert call["n"] == 40 and call["sampler"] == "ddim" and call["steps"] == 7 and call["guidance"] == 2.0
    assert torch.equal(call["labels"], torch.arange(40) % 10)
    assert call["first"] == torch.rand(1, generator=torch.Generator().manual_seed(3)).item()
    assert row["s_per_1000"] > 0 and set(row) == {"fid", "accuracy", "diversity", "s_per_1000"}
    with pytest.raises(ValueError, match="n >= 20"):
        D.sample_and_measure(model, 7, n=10)


def test_timed_sample_passes_the_options_and_times_the_call():
    model = _Sampler()
    x, seconds = D.timed_sample(model, 12, labels=torch.arange(12), sampler="ddpm", steps=None, guidance=None,
                                generator=torch.Generator().manual_seed(0))
    assert x.shape == (12, 1, 28, 28) and x.device.type == "cpu" and seconds > 0
    assert model.calls[0]["sampler"] == "ddpm" and torch.equal(model.calls[0]["labels"], torch.arange(12))


def test_real_digits_row_is_the_calibration_floor_and_the_digits_spread():
    test = genedu.load_mnist("test")
    x, y = test.float(torch.arange(100)), test.labels[:100]
    row = D.real_digits_row(x, y)
    assert row["fid"] == genedu.evaluate.calibration(100)[0]["fid"] and math.isnan(row["accuracy"])
    assert row["diversity"] == pytest.approx(D.within_class_spread(x, y))


def test_measured_curves_plot_the_rows():
    rows = {2: {"fid": 30.0, "accuracy": 0.5, "diversity": 5.0, "s_per_1000": 1.0},
            10: {"fid": 10.0, "accuracy": 0.9, "diversity": 8.0, "s_per_1000": 5.0}}
    fig = D.plot_steps_rows(rows, 4.0, title="t")
    left, right = fig.axes
    assert [list(line.get_ydata()) for line in left.lines] == [[30.0, 10.0], [4.0, 4.0]]
    assert list(right.lines[0].get_ydata()) == [1.0, 5.0] and left.get_xscale() == "log"
    fig = D.plot_guidance_rows(rows, 10.0)
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [[0.5, 0.9], [0.5, 0.8]]
    with pytest.raises(ValueError, match="positive"):
        D.plot_guidance_rows(rows, 0.0)


def test_sampler_table_lines_and_missing_figures():
    rows = [("DDIM 5 steps", 400, {"fid": 12.345, "accuracy": 0.9, "diversity": 8.0, "s_per_1000": 1.5}),
            ("real digits", 400, {"fid": 3.0, "accuracy": math.nan, "diversity": 9.0})]
    lines = D.sampler_table(rows).splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == "sampler"
    assert lines[1].split()[-4:] == ["1.5", "12.35", "0.900", "8.00"]
    assert lines[2].split()[-4:] == ["nan", "3.00", "nan", "9.00"]
