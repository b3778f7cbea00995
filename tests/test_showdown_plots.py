"""The showdown lesson's tables and printed records (genedu.showdown_plots): each built from the figures it is
given, in the right order, and a record lacking a field refused with a message that names it."""

import copy
import math

import pytest

from genedu import showdown_plots as SP
from genedu.reference import FAMILIES, has_reference, reference_info


def _trial(fid, *, images=275_072, config=None, batch=None):
    recipe = {"ema": 0.999, **({"batch_size": batch} if batch else {})}
    return {"images": images, "fid": fid, "recipe": recipe, "seed": 0, "n": 2000, "machine": "cpu",
            **({"config": config} if config is not None else {})}


def test_recipe_trials_keeps_one_preset_at_one_budget_worst_first():
    record = {"trials": {
        "diffusion/laptop as it is": _trial(89.6),
        "diffusion/laptop unconditional": _trial(52.5, config={"num_classes": 0}),
        "diffusion/laptop unconditional, batch 64": _trial(43.4, config={"num_classes": 0}, batch=64),
        "diffusion/laptop at another budget": _trial(10.0, images=671_232),
        "vae/laptop": _trial(20.0),
    }}
    rows = SP.recipe_trials(record, prefix="diffusion/laptop", images=275_072)
    assert [r["fid"] for r in rows] == [89.6, 52.5, 43.4]
    # the preset's own defaults fill what a trial did not override: 10 classes, batches of 128
    assert [(r["num_classes"], r["batch_size"]) for r in rows] == [(10, 128), (0, 128), (0, 64)]
    assert rows[0]["line"].startswith("FID  89.6  diffusion/laptop as it is") and "2,000 samples" in rows[0]["line"]
    with pytest.raises(ValueError, match="no trial of 'gan/laptop'"):
        SP.recipe_trials(record, prefix="gan/laptop")
    with pytest.raises(ValueError, match=r"lacks \['trials'\]"):
        SP.recipe_trials({"runs": []})


def test_sampler_lines_print_provenance_then_one_row_per_sampler():
    ddpm = {"seeds": [0, 1], "n_per_seed": 1000, "parts": [{"machine": "cpu box"}], "ancestral_fid_mean": 30.25,
            "table": [{"sampler": "DDIM 50, eta 1", "fid_mean": 31.14, "fid_std": 2.1, "network_calls": 50,
                       "over_ancestral": 1.03}]}
    lines = SP.ddpm_sampler_lines(ddpm)
    assert lines[0] == "seeds [0, 1], 1,000 samples each, cpu box; 1,000 ancestral steps: FID 30.2"
    assert len(lines) == 2 and "FID  31.1 +/- 2.1 (50 calls, 1.03x the ancestral FID)" in lines[1]
    flow = {"seeds": [0], "n_per_seed": 500, "parts": [{"ddpm_50_steps": {"sample_options": {"steps": 50}}}],
            "ddpm_50_fid_mean": 31.1, "ddpm_50_fid_std": 2.0,
            "table": [{"sampler": "Euler 10", "network_calls": 10, "fid_mean": 54.6, "fid_std": 1.4,
                       "class_kl_mean": 0.0319}]}
    lines = SP.flow_sampler_lines(flow)
    assert lines == ["DDPM, 50 steps {'steps': 50}: FID 31.1 +/- 2.0 (500 samples per seed, seeds [0])",
                     "flow, Euler 10    (10 calls): FID 54.6 +/- 1.4, class KL 0.032"]
    with pytest.raises(ValueError, match="flow samplers record lacks"):
        SP.flow_sampler_lines({k: v for k, v in flow.items() if k != "table"})


def test_showdown_record_lines_mark_each_target_met_or_missed():
    rec = {"machine": {"description": "a CPU"}, "command": "python benchmarks/showdown.py",
           "settings": {"images": 275_000, "seeds": [0, 1, 2], "n_samples": 2000},
           "targets": {"vae 20x": {"measured_ratio": 27.07, "met": True},
                       "gan class KL": {"measured": 0.0176, "met": False}}}
    lines = SP.showdown_record_lines(rec)
    assert lines[0] == "a CPU; 275,000 images per model; seeds [0, 1, 2]; 2,000 samples scored; python benchmarks/showdown.py"
    assert lines[1].startswith("met ") and lines[1].endswith("vae 20x: measured_ratio 27.07")
    assert lines[2].startswith("missed ") and lines[2].endswith("gan class KL: measured 0.0176")


def test_verdicts_and_strengths_as_text():
    verdicts = [{"criterion": "sample quality", "best": "A", "best_value": 3.0, "unit": "FID", "worst": "B",
                 "worst_value": 40.0},
                {"criterion": "likelihood", "best": "A", "best_value": 86.1, "unit": "NLL in nats", "worst": None,
                 "worst_value": None}]
    lines = SP.verdict_lines(verdicts)
    assert lines[0].endswith("best: A (3 FID); worst: B (40)") and lines[1].endswith("the only one that has it")
    md = SP.strengths_markdown({"A": {"strengths": ["fast", "sharp"], "limitations": []}})
    assert md.splitlines()[2] == "| A | fast; sharp | - |"


def _summary():
    stat = lambda m: {"mean": m, "std": 0.0, "n": 1}  # noqa: E731
    return {"vae/laptop": {"label": "VAE (laptop)", "fid": stat(40.0), "images_seen": stat(25_600)},
            "vae/seed": {"label": "VAE (seed)", "fid": stat(300.0), "images_seen": stat(25_600)},
            "flow/laptop": {"label": "Flow (laptop)", "fid": stat(60.0), "images_seen": stat(25_600)}}


def test_references_beside_yours_puts_each_reference_beside_your_models_of_its_family():
    info = {f: {"evaluation": {"fid": fid, "n": 10_000}} for f, fid in (("vae", 10.51), ("flow", 1.78))}
    rows = {"vae": {"fid": 20.0, "seconds_per_1000": 0.05}, "flow": {"fid": 30.0, "seconds_per_1000": 1.0}}
    md = SP.references_beside_yours(_summary(), info, rows, n_samples=1000, n_ref=500).splitlines()
    assert len(md) == 4
    assert md[2] == ("| vae | VAE (laptop) | 40.0 (1,000 samples) | 300.0 | 25,600 | 10.51 (10,000) | 20.00 (500) "
                     "| 0.05 |")
    assert "| none (no seed model) |" in md[3]  # the original notebook had no flow
    with pytest.raises(ValueError, match=r"no \['gan/laptop'\]"):
        SP.references_beside_yours(_summary(), info, {"gan": rows["vae"]}, n_samples=1000, n_ref=500)


needs_all = pytest.mark.skipif(not all(has_reference(f) for f in FAMILIES), reason="a shipped reference is missing")


@needs_all
def test_references_table_reads_every_shipped_record():
    info = {f: reference_info(f) for f in FAMILIES}
    lines = SP.references_table(info).splitlines()
    assert len(lines) == 2 + len(FAMILIES)
    assert all(line.count("|") == lines[0].count("|") for line in lines)  # every row has every column
    vae, gan = lines[2].split(" | "), lines[3].split(" | ")
    assert vae[-1].startswith(f"{info['vae']['likelihood']['iwae_nll_nats']:.1f}")  # the VAE has a likelihood
    assert gan[-1].startswith("n/a") and "one pass" in lines[3]  # the GAN has none, and one pass per sample
    assert f"{info['gan']['trained']['images']:,}" in lines[3]
    provenance = SP.reference_record_lines(info)
    assert any(info["diffusion"]["variational_bound"]["setting"] in line for line in provenance)


@needs_all
def test_reference_findings_are_written_from_the_figures_they_quote():
    info = {f: reference_info(f) for f in FAMILIES}
    unc = {f: i["unconditional"] for f, i in info.items()}
    text = SP.reference_findings(info)
    assert len(text.splitlines()) == 8 and all(line.startswith("- **") for line in text.splitlines())
    by_fid = sorted(unc, key=lambda f: unc[f]["fid"])  # best first
    assert ", ".join(f"{f} {unc[f]['fid']:.2f}" for f in by_fid) in text
    bpp = info["vae"]["likelihood"]["iwae_nll_nats"] / (784 * math.log(2))
    assert f"({bpp:.3f} bits per pixel)" in text
    assert f"{info['diffusion']['config']['p_uncond']:.0%} of batches" in text
    # change a figure and the words follow it: a sharp most-precise model earns no sentence on blur
    sharp = copy.deepcopy(info)
    for f in sharp:
        sharp[f]["unconditional"]["sharpness"] = 1.0
    assert "is blur" in text and "is blur" not in SP.reference_findings(sharp)
    with pytest.raises(ValueError, match="need the four references"):
        SP.reference_findings({f: info[f] for f in ("vae", "gan", "diffusion")})
    broken = copy.deepcopy(info)
    del broken["flow"]["unconditional"]
    with pytest.raises(ValueError, match=r"flow reference's record lacks \['unconditional'\]"):
        SP.reference_findings(broken)


@needs_all
def test_findings_rank_the_four_families_unconditionally_with_the_networks_trained_without_labels():
    info = {f: reference_info(f) for f in FAMILIES}
    unc = {"diffusion": reference_info("diffusion_uncond"), "flow": reference_info("flow_uncond")}
    text = SP.reference_findings(info, unc)
    best = {"vae": info["vae"]["evaluation"]["fid"], "gan": info["gan"]["evaluation"]["fid"],
            "diffusion": unc["diffusion"]["evaluation"]["fid"], "flow": unc["flow"]["evaluation"]["fid"]}
    ranked = ", ".join(f"{f} {v:.2f}" for f, v in sorted(best.items(), key=lambda kv: kv[1]))
    assert f"from best to worst: {ranked}." in text and "**without labels**" in text
    assert "without labels" not in SP.reference_findings(info)  # without the records, no such sentence
    conditional = copy.deepcopy(unc)
    conditional["flow"]["config"]["num_classes"] = 10
    with pytest.raises(ValueError, match="class-conditional network"):
        SP.reference_findings(info, conditional)
    with pytest.raises(ValueError, match="'diffusion' and 'flow'"):
        SP.reference_findings(info, {"flow": unc["flow"]})
