"""The showdown end to end on a tiny budget: results.json, report and figures; verdicts computed from
the numbers; an interrupted showdown resumes without retraining what finished; bad settings refused."""

import json

import pytest
import torch

from genedu import showdown as S
from genedu.cli import main

TINY = dict(images=256, n_samples=100, stages=2, data_limit=1024, progress=False, device="cpu",
            likelihood_k=2, likelihood_n=50, ddim_steps=(2, 4), ddim_samples=100)
PAIR = [S.Contender("vae", "seed", "VAE (seed)"), S.Contender("vae", "mlp", "VAE (mlp)", likelihood=True)]


def test_showdown_writes_results_report_and_figures(tmp_path):
    contenders = PAIR + [S.Contender("diffusion", "ddpm", "DDPM", ema=0.9,
                                     sample_options={"sampler": "ddim", "steps": 3}, likelihood=True),
                         S.Contender("flow", "laptop", "Flow", ema=0.9, sample_options={"method": "euler", "steps": 3})]
    res = S.showdown(contenders=contenders, seeds=2, out=tmp_path, **TINY)
    assert len(res["runs"]) == 8
    for run in res["runs"]:
        assert run["images_seen"] >= 256 and len(run["curve"]) == 2
        assert run["curve"][0]["images"] < run["curve"][1]["images"]
        assert run["n"] == 100 and run["fid"] > 0 and 1 <= run["inception_score"] <= 10
    ddpm_and_flow = [r for r in res["runs"] if r["family"] in ("diffusion", "flow")]
    assert len(ddpm_and_flow) == 4 and all([c["steps"] for c in r["steps_curve"]] == [2, 4] for r in ddpm_and_flow)
    # sampled unconditionally, like the VAE, although both are class-conditional models: no requested class
    assert not any("conditional_accuracy" in r for r in ddpm_and_flow)
    assert (tmp_path / "sampler_steps.png").is_file()
    mlp = res["summary"]["vae/mlp"]
    assert mlp["seeds"] == 2 and mlp["fid"]["n"] == 2 and mlp["fid"]["std"] >= 0
    assert 0 < mlp["nll_nats"]["mean"] < 784  # a likelihood only where the family has one
    assert "nll_nats" not in res["summary"]["vae/seed"]
    assert mlp["nll_bpd_binarised"]["mean"] == pytest.approx(mlp["nll_nats"]["mean"] / (784 * 0.6931471805599453))
    # the DDPM's variational bound on 8-bit images, in bits per pixel (at most about 8 for a poor model, more
    # for an untrained one; well above 0), and it counts as a likelihood in the verdicts
    ddpm = res["summary"]["diffusion/ddpm"]
    assert ddpm["nll_bpd_8bit"]["n"] == 2 and ddpm["nll_bpd_8bit"]["mean"] > 0
    assert all("8-bit" in r["nll_bpd_8bit_setting"] for r in res["runs"] if r["family"] == "diffusion")
    likelihood = next(v for v in res["verdicts"] if v["metric"] == "nll_nats")
    assert "DDPM" not in likelihood["lacking"] and "Flow" in likelihood["lacking"]
    # verdicts follow the numbers
    fid = {v["label"]: v["fid"]["mean"] for v in res["summary"].values()}
    row = next(v for v in res["verdicts"] if v["metric"] == "fid")
    assert row["best"] == min(fid, key=fid.get) and row["worst"] == max(fid, key=fid.get)
    assert [c["name"] for c in res["calibration"]] == ["train vs test (floor)", "noise (ceiling)"]
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["summary"] == json.loads(json.dumps(res["summary"]))
    report = (tmp_path / "report.md").read_text()
    for text in ("VAE (mlp)", "train vs test (floor)", "Strengths and limitations", "sampler_steps.png", "samples.png"):
        assert text in report
    for png in ("quality_vs_time.png", "sampler_steps.png", "samples.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_interrupted_showdown_resumes_without_retraining(tmp_path, monkeypatch):
    real_run_one, calls = S.run_one, []

    def run_one_then_crash(contender, *args, **kwargs):
        if contender.preset == "mlp":
            raise KeyboardInterrupt  # the learner's Colab disconnects during the second run
        calls.append(contender.key)
        return real_run_one(contender, *args, **kwargs)

    monkeypatch.setattr(S, "run_one", run_one_then_crash)
    with pytest.raises(KeyboardInterrupt):
        S.showdown(contenders=PAIR, out=tmp_path, **TINY)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["preset"] for r in saved["runs"]] == ["seed"]

    def counting_run_one(contender, *args, **kwargs):
        calls.append(contender.key)
        return real_run_one(contender, *args, **kwargs)

    monkeypatch.setattr(S, "run_one", counting_run_one)
    res = S.showdown(contenders=PAIR, out=tmp_path, **TINY)
    assert calls == ["vae/seed", "vae/mlp"]  # vae/seed was not trained a second time
    assert [r["preset"] for r in res["runs"]] == ["seed", "mlp"]
    res = S.showdown(contenders=PAIR, out=tmp_path, seeds=[0, 1], **TINY)  # one more seed: only it is trained
    assert calls == ["vae/seed", "vae/mlp", "vae/seed", "vae/mlp"]
    assert res["summary"]["vae/mlp"]["seeds"] == 2 and res["settings"]["seeds"] == [0, 1]
    with pytest.raises(ValueError, match="other settings"):
        S.showdown(contenders=PAIR, out=tmp_path, **{**TINY, "images": 512})


def test_a_run_resumed_mid_budget_keeps_its_curve_honest(tmp_path, monkeypatch):
    """A run stopped after its checkpoint passed a stage keeps the points it measured (beside the
    checkpoint) and never reports a later checkpoint as an earlier stage's point."""
    from genedu.data import load_mnist

    data = load_mnist("train").subset(torch.arange(1024))
    contender = S.Contender("vae", "seed", "VAE (seed)")
    kwargs = dict(seed=0, images=768, seconds=None, stages=3, n_samples=100, out=tmp_path, device="cpu",
                  progress=False)
    (tmp_path / "checkpoints").mkdir()
    real, scored = S.sample_and_score, []

    def crash_at_stage_two(*args, **kw):
        if len(scored) == 1:
            raise KeyboardInterrupt  # stopped after stage 2's training, before its point was measured
        scored.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(S, "sample_and_score", crash_at_stage_two)
    with pytest.raises(KeyboardInterrupt):
        S.run_one(contender, data, **kwargs)
    points = tmp_path / "checkpoints" / "vae_seed_seed0.curve.json"
    first = json.loads(points.read_text())
    assert [p["stage"] for p in first] == [1]
    monkeypatch.setattr(S, "sample_and_score", real)
    run = S.run_one(contender, data, **kwargs)
    assert [p["stage"] for p in run["curve"]] == [1, 2, 3] and run["curve"][0] == first[0]  # kept, not redone
    assert [p["images"] for p in run["curve"]] == [256, 512, 768]
    # the same checkpoint without its kept points: stages 1 and 2 are behind it, so only stage 3 is reported
    points.unlink()
    run = S.run_one(contender, data, **kwargs)
    assert [(p["stage"], p["images"]) for p in run["curve"]] == [(3, 768)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "needs a budget"),
    (dict(images=-5), "must be positive"),
    (dict(minutes=0.0), "must be positive"),
    (dict(images=100, n_samples=10), "too few"),
    (dict(images=100, seeds=[]), "at least one seed"),
    (dict(images=100, stages=0), "stages"),
    (dict(images=100, contenders=[S.Contender("gan", "huge", "?")]), "no preset 'huge'"),
    (dict(images=100, data_limit=0), "data_limit"),
    (dict(images=100, contenders=[S.Contender("pixelcnn", "seed", "?")]), "unknown family"),
    (dict(images=100, ancestral_steps=50), "ancestral sampling takes all of them"),
    (dict(images=100, contenders=[S.Contender("diffusion", "laptop", "?", config={"num_clases": 0})]),
     "does not fit diffusion/laptop"),
    (dict(images=100, contenders=[S.Contender("flow", "laptop", "?", config={"batch_size": 0})]),
     "batch_size must be at least 1"),
])
def test_bad_settings_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.showdown(out=tmp_path, progress=False, **kwargs)


def test_cli_showdown(tmp_path, capsys):
    out = tmp_path / "sd"
    assert main(["showdown", "--images", "128", "--samples", "100", "--stages", "1", "--only", "gan/seed",
                 "--data-limit", "512", "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "GAN (seed)" in printed and "noise (ceiling)" in printed
    assert (out / "report.md").is_file()
    assert main(["showdown", "--images", "128", "--only", "gan/huge", "--out", str(out)]) == 2
    assert "unknown contender" in capsys.readouterr().err


def test_proper_contenders_train_with_their_recipe_and_fit_the_learned_prior(tmp_path, monkeypatch):
    """The laptop VAE is sampled from its learned prior (fitted after each stage), and a preset's recipe
    (EMA, warm-up, cosine decay over the whole budget, not each stage) reaches fit."""
    from genedu.models.vae import VAE

    assert [c.key for c in S.CONTENDERS] == ["vae/seed", "vae/laptop", "gan/seed", "gan/laptop", "diffusion/seed",
                                             "diffusion/laptop", "flow/laptop"]
    seen, real_fit = [], S.fit

    def spy(model, data, **kw):
        seen.append({k: kw.get(k) for k in ("ema", "lr_warmup", "lr_decay", "lr_decay_over", "images")})
        return real_fit(model, data, **kw)

    fitted, real_after = [], VAE.after_training

    def after(self, data, *, seed=0):
        real_after(self, data, seed=seed)
        fitted.append(self.prior_fitted)

    monkeypatch.setattr(S, "fit", spy)
    monkeypatch.setattr(VAE, "after_training", after)
    res = S.showdown(contenders=[S.Contender("vae", "laptop", "VAE (laptop)"),
                                 S.Contender("diffusion", "laptop", "DDPM (laptop)",
                                             sample_options={"sampler": "ddim", "steps": 2})],
                     out=tmp_path, **{**TINY, "ddim_steps": ()})
    assert fitted == [True, True]  # both stages: the prior is refitted to the codes, then sampled from
    vae = seen[:2]
    assert all(s["ema"] == 0.999 for s in seen)
    assert [s["images"] for s in vae] == [128, 256]
    assert all(s["lr_decay"] == "cosine" and s["lr_decay_over"] == {"images": 256, "seconds": None} for s in seen)
    assert all(s["lr_warmup"] == 200 for s in seen)
    assert res["summary"]["vae/laptop"]["fid"]["n"] == 1


def test_config_overrides_reach_the_model_and_are_recorded(tmp_path):
    """The showdown's DDPM and flow are their laptop networks trained unconditionally at batch 64 (like with
    like against the unconditional VAE and GAN); an override builds the model, names its checkpoint (so a
    checkpoint of the preset as it is is never resumed) and is recorded with the run."""
    by_key = {c.key: c for c in S.CONTENDERS}
    for key in ("diffusion/laptop", "flow/laptop"):
        assert by_key[key].config == {"num_classes": 0, "batch_size": 64}
    contender = S.Contender("diffusion", "laptop", "DDPM (laptop)", sample_options={"sampler": "ddim", "steps": 2},
                            config={"num_classes": 0, "batch_size": 32})
    res = S.showdown(contenders=[contender], out=tmp_path, **{**TINY, "ddim_steps": ()})
    run = res["runs"][0]
    assert run["config"] == {"num_classes": 0, "batch_size": 32}
    assert run["images_seen"] == 256  # 8 steps of the overridden batch of 32
    assert run["model_config"]["batch_size"] == 32 and run["model_config"]["num_classes"] == 0
    ckpt = tmp_path / "checkpoints" / "diffusion_laptop_batch_size32_num_classes0_seed0.pt"
    saved = torch.load(ckpt, weights_only=False, map_location="cpu")
    assert saved["config"]["num_classes"] == 0 and saved["config"]["batch_size"] == 32


def test_a_record_names_the_contenders_changed_since_it_was_made(tmp_path, monkeypatch):
    """A record made before a contender's override, sampler, recipe or preset changed is named as such
    (lesson 05 prints it under the recorded table); one of today's contenders is not."""
    contender = S.Contender("gan", "seed", "GAN (seed)")
    rec = S.showdown(contenders=[contender], out=tmp_path, **{**TINY, "ddim_steps": ()})
    assert S.changed_since(rec, [contender]) == {}
    assert S.changed_since(json.loads((tmp_path / "results.json").read_text()), [contender]) == {}  # as saved
    override = S.changed_since(rec, [S.Contender("gan", "seed", "GAN (seed)", config={"batch_size": 32})])
    assert "config was {}" in override["gan/seed"] and "batch_size was 128, now 32" in override["gan/seed"]
    assert "recipe was" in S.changed_since(rec, [S.Contender("gan", "seed", "GAN (seed)", ema=0.99)])["gan/seed"]
    assert S.changed_since(rec, [S.Contender("vae", "seed", "VAE (seed)")]) == {"vae/seed": "not in this record"}
    # the preset itself changed since (here: its batch size), with no override to show it
    from dataclasses import replace

    from genedu.models.gan import GAN

    monkeypatch.setitem(GAN.PRESETS, "seed", replace(GAN.PRESETS["seed"], batch_size=64))
    assert S.changed_since(rec, [contender]) == {"gan/seed": "batch_size was 128, now 64"}


def test_a_new_sampler_is_scored_from_the_kept_checkpoints_without_training(tmp_path, monkeypatch):
    """rescore: a finished DDPM sampled again with other sample_options (DDIM's eta) from its checkpoint;
    its figures, grid and steps curve are new, the likelihood bound and the ancestral baseline are kept, the
    run says what it was before, and the showdown with the new contender reports it without training."""
    ddim = S.Contender("diffusion", "ddpm", "DDPM", ema=0.9, sample_options={"sampler": "ddim", "steps": 3},
                       likelihood=True, config={"num_classes": 0})
    kwargs = {**TINY, "ancestral_steps": None}
    first = S.showdown(contenders=[ddim], out=tmp_path, **kwargs)["runs"][0]
    grid_before = torch.load(tmp_path / "grids" / "diffusion_ddpm_seed0.pt")
    eta1 = S.replace(ddim, sample_options={"sampler": "ddim", "steps": 3, "eta": 1.0})
    with pytest.raises(ValueError, match="no contender like"):  # another network is not a new sampler
        S.rescore(tmp_path, S.replace(eta1, config={"num_classes": 10}), progress=False)
    with pytest.raises(ValueError, match="other settings"):  # the showdown alone refuses the changed sampler
        S.showdown(contenders=[eta1], out=tmp_path, **kwargs)
    [run] = S.rescore(tmp_path, eta1, device="cpu", progress=False)
    assert run["rescored"] == {"sample_options": {"sampler": "ddim", "steps": 3}, "fid": first["fid"]}
    assert run["fid"] != first["fid"] and run["curve"][-1]["fid"] == run["fid"]
    assert run["curve"][0]["sample_options"] == {"sampler": "ddim", "steps": 3}  # an earlier stage says so
    assert [p["steps"] for p in run["steps_curve"]] == [2, 4] and run["steps_curve"] != first["steps_curve"]
    assert run["nll_bpd_8bit"] == first["nll_bpd_8bit"] and run["images_seen"] == first["images_seen"]
    assert not torch.equal(torch.load(tmp_path / "grids" / "diffusion_ddpm_seed0.pt"), grid_before)

    def no_training(*args, **kw):
        raise AssertionError("a rescored run was trained again")

    monkeypatch.setattr(S, "run_one", no_training)
    res = S.showdown(contenders=[eta1], out=tmp_path, **kwargs)
    assert res["summary"]["diffusion/ddpm"]["fid"]["mean"] == pytest.approx(run["fid"])
    [dpm] = S.rescore(tmp_path, S.replace(eta1, sample_options={"sampler": "dpm", "steps": 3}), progress=False)
    assert "steps_curve" not in dpm  # a sampler the curve does not sweep keeps no curve of another sampler
    (tmp_path / "checkpoints" / "diffusion_ddpm_num_classes0_seed0.pt").unlink()
    with pytest.raises(FileNotFoundError, match="missing checkpoints"):
        S.rescore(tmp_path, S.replace(eta1, sample_options={"sampler": "ddim", "steps": 5}), progress=False)
