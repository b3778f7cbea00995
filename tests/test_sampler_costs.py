"""Quality per network call: call counts per sampler, points read from records, the plot."""

import json

import matplotlib
import pytest

from genedu.sampler_costs import network_calls, plot_quality_per_call, sampler_points

matplotlib.use("Agg")


def test_network_calls_count_steps_solver_order_and_guidance():
    assert network_calls({}) == 1  # a GAN or a VAE decodes once
    assert network_calls({"prior": "mixture"}) == 1
    assert network_calls({"sampler": "dpm", "steps": 20}) == 20
    assert network_calls({"method": "midpoint", "steps": 10}) == 20
    assert network_calls({"method": "heun", "steps": 10, "guidance": 1.5}) == 40
    assert network_calls({"method": "euler", "steps": 2}) == 2
    with pytest.raises(ValueError, match="CALLS_PER_STEP"):
        network_calls({"sampler": "lms", "steps": 5})


def _record(path, samplers, conditional=True):
    rows = [{"n": n, "fid": fid, "sample_options": o, **({"conditional_accuracy": 0.97} if conditional else {})}
            for o, fid, n in samplers]
    path.write_text(json.dumps({"sample_options": samplers[0][0], "evaluation": rows[0], "samplers": rows}))


def test_points_come_from_the_records_at_the_protocols_sample_count_only(tmp_path):
    refs, results = tmp_path / "refs", tmp_path / "results"
    refs.mkdir(), results.mkdir()
    _record(refs / "flow_fewstep.json", [({"method": "euler", "steps": 1}, 6.5, 10_000),
                                         ({"method": "euler", "steps": 2}, 2.9, 10_000),
                                         ({"method": "euler", "steps": 4}, 9.9, 2_000)])  # another n: left out
    _record(refs / "diffusion_uncond.json", [({"sampler": "ddim", "steps": 50}, 5.0, 10_000)], conditional=False)
    _record(refs / "unknown.json", [({"method": "euler", "steps": 1}, 1.0, 10_000)])  # not a course reference
    (results / "gpu_references.json").write_text(json.dumps({"jobs": {"reflow_u": {"reflow": {"few_steps": [
        {"n": 10_000, "fid": 9.1, "sample_options": {"method": "euler", "steps": 1}}]}}}}))
    pts = sampler_points(refs, results)
    got = {(p["series"], p["calls"]): (p["fid"], p["unconditional"]) for p in pts}
    assert got == {("few-step flow (distilled)", 1): (6.5, False), ("few-step flow (distilled)", 2): (2.9, False),
                   ("DDPM, no labels", 50): (5.0, True), ("reflowed flow", 1): (9.1, False)}
    fig = plot_quality_per_call(pts)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.lines) == 3


def test_the_shipped_records_give_every_family_and_the_few_step_flow_beats_the_plain_flow_at_two_calls():
    pts = sampler_points()
    series = {p["series"] for p in pts}
    assert {"DDPM reference", "flow reference", "GAN reference", "VAE reference", "few-step flow (distilled)"} <= series
    few = {p["calls"]: p["fid"] for p in pts if p["series"] == "few-step flow (distilled)"}
    euler = {p["calls"]: p["fid"] for p in pts if p["series"] == "flow reference" and p["solver"] == "Euler"}
    assert few[2] < euler[2] and few[1] < euler[1]


def test_no_points_is_a_clear_error():
    with pytest.raises(ValueError, match="no sampler points"):
        plot_quality_per_call([])
