"""Lesson 03b's figures and widgets, driven headless: set a control's value, check what the box holds and shows."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

pytest.importorskip("ipywidgets")

from genedu import flow_plots  # noqa: E402
from genedu.models.flow import Flow, FlowConfig  # noqa: E402
from genedu.toy import ToyDiffusion, ToyFlow, eight_gaussians  # noqa: E402
from genedu.widgets import shown_png  # noqa: E402


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def tiny_flow():
    torch.manual_seed(0)
    model = Flow(FlowConfig(channels=(8, 16), emb_dim=16)).eval()
    with torch.no_grad():  # the UNet's last layer starts at zero (v = 0): give it a random, non-zero field
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_toy_steps_explorer_redraws_paths():
    flow, ddpm = ToyFlow(hidden=16), ToyDiffusion(hidden=16)
    samplers = {"flow": lambda e, k: flow.sample(e, steps=k, return_trajectory=True),
                "ddpm": lambda e, k: ddpm.sample(e, steps=k, clip_x0=3.0, return_trajectory=True)}
    box = flow_plots.toy_steps_explorer(samplers, torch.randn(40, 2, generator=_g()), eight_gaussians(40, _g(1)),
                                        steps=2, max_steps=8)
    png = shown_png(box.output)
    assert png and box.paths["flow"].shape == (3, 40, 2)
    box.steps.value = 5
    assert box.paths["flow"].shape == (6, 40, 2) and box.paths["ddpm"].shape == (6, 40, 2)
    assert set(box.distances) == {"flow", "ddpm"} and shown_png(box.output) != png


def test_interpolation_slider_follows_t(tiny_flow):
    digit = torch.rand(1, 28, 28) * 2 - 1
    box = flow_plots.interpolation_slider(tiny_flow, digit, label=3, seed=5, t=0.5)
    png = shown_png(box.output)
    box.t.value = 0.0
    assert torch.allclose(box.x_t, digit.view(1, 1, 28, 28)) and box.error < 1e-10
    box.t.value = 1.0
    assert torch.allclose(box.x_t, torch.randn(1, 1, 28, 28, generator=_g(5)))
    assert box.x0_pred.shape == (1, 1, 28, 28) and shown_png(box.output) != png


def test_flow_sampler_explorer_reacts_to_every_control(tiny_flow):
    box = flow_plots.flow_sampler_explorer(tiny_flow, n=10, steps=2, max_steps=6)
    first = box.samples.clone()
    assert first.shape == (10, 1, 28, 28) and first.min() >= -1 and first.max() <= 1
    box.steps.value = 1
    one = box.samples.clone()
    assert not torch.equal(one, first)
    box.method.value = "heun"
    assert not torch.equal(box.samples, one)
    png = shown_png(box.output)
    box.guidance.value = 3.0
    assert shown_png(box.output) != png and box.seconds >= 0
    box.steps.value = 2  # back to the start settings: the same noise gives the same samples
    box.method.value, box.guidance.value = "euler", 1.0
    assert torch.allclose(box.samples, first, atol=1e-6)


def test_figures_return_figures():
    import matplotlib.pyplot as plt

    path = torch.randn(3, 10, 2)
    figs = [flow_plots.toy_paths({"a": {2: path}}, torch.randn(20, 2), distances={"a": {2: 0.5}}),
            flow_plots.metric_vs_steps({"a": ([1, 2], [3.0, 2.0])}, ylabel="FID", floor=1.0, logy=True),
            flow_plots.same_noise_rows({"x": torch.zeros(4, 1, 28, 28), "y": torch.ones(4, 1, 28, 28)}),
            flow_plots.straightness_bars({"a": {"straightness": 0.3, "length_ratio": 1.2},
                                          "b": {"straightness": 0.1, "length_ratio": 1.05}})]
    assert all(isinstance(f, plt.Figure) for f in figs)
    for f in figs:
        plt.close(f)
