"""The benchmarks that decide recipes and record speed: tiny end-to-end runs write their JSON (machine,
budget, seed inside), and bad settings are refused before any training."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_trial_writes_a_row_and_keeps_the_others(tmp_path):
    trial, out = load("recipe_trial"), tmp_path / "trials.json"
    out.write_text(json.dumps({"trials": {"earlier": {"fid": 1.0}}}))
    assert trial.main(["--model", "vae", "--preset", "seed", "--images", "256", "--n", "100", "--label", "tiny",
                       "--set", "lr_decay=cosine", "lr_warmup=1", "--config", "hidden=64", "--out", str(out),
                       "--save", str(tmp_path / "tiny.pt")]) == 0
    rows = json.loads(out.read_text())["trials"]
    assert rows["earlier"] == {"fid": 1.0}
    row = rows["tiny"]
    assert row["recipe"] == {"lr_decay": "cosine", "lr_warmup": 1} and row["images"] == 256 and row["n"] == 100
    assert row["config"] == {"hidden": 64}
    assert row["fid"] > 0 and len(row["class_histogram"]) == 10 and "CPU" in row["machine"] and row["seed"] == 0
    from genedu.checkpoint import load_model, read_checkpoint

    assert load_model(tmp_path / "tiny.pt").config.hidden == 64  # the trained sampler, kept to score again
    assert read_checkpoint(tmp_path / "tiny.pt")["state"]["images"] == 256


@pytest.mark.parametrize("change, message", [
    ({"--set": "lr_decay"}, "key=value"),
    ({"--images": "0"}, "at least 1"),
    ({"--model": "pixelcnn"}, "unknown model"),
    ({"--config": "widht=3"}, "widht"),
    ({"--config": "latent_dim=0"}, "at least 1"),
])
def test_recipe_trial_refuses_bad_settings(tmp_path, capsys, change, message):
    options = {"--model": "vae", "--preset": "seed", "--images": "256", "--label": "x",
               "--out": str(tmp_path / "t.json"), **change}
    with pytest.raises(SystemExit) as e:
        load("recipe_trial").main([a for pair in options.items() for a in pair])
    assert message in str(e.value.code) + capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_recipe_trial_refuses_an_unknown_preset_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load("recipe_trial").main(["--model", "vae", "--preset", "huge", "--images", "256", "--label", "x",
                                   "--out", str(tmp_path / "t.json")])
    assert "no preset 'huge'" in capsys.readouterr().err and not (tmp_path / "t.json").exists()


def test_speed_benchmark_records_variants_against_the_default(tmp_path, monkeypatch):
    speed, out = load("speed"), tmp_path / "speed.json"
    monkeypatch.setattr(sys, "argv", ["speed.py", "--only", "vae/seed", "vae/conv", "--variants", "default",
                                      "1 thread", "channels_last", "--train-steps", "1", "--min-images", "0", "--warmup", "1", "--n", "10",
                                      "--data-limit", "1024", "--out", str(out)])
    speed.main()
    rec = json.loads(out.read_text())
    rows = {(r["preset"], r["variant"]): r for r in rec["training"]}
    # channels_last only where there are convolutions; every row measured and compared with its default
    assert set(rows) == {("seed", "default"), ("seed", "1 thread"), ("conv", "default"), ("conv", "1 thread"),
                         ("conv", "channels_last")}
    assert all(r["images_per_second"] > 0 and r["speedup_vs_default"] > 0 for r in rows.values())
    assert rows[("conv", "default")]["speedup_vs_default"] == 1.0
    assert rec["machine"]["cpus"] >= 1 and rec["settings"]["seed"] == 0 and len(rec["sampling"]) == 2
    lines = speed.table(rec).splitlines()  # the README's table, one row per preset, "-" where a variant is moot
    assert len(lines) == 4 and lines[2].startswith("| vae `seed` | 128 |") and "| - |" in lines[2]
    # remeasuring one preset keeps the other's rows, in the table's order, and says when it was measured
    monkeypatch.setattr(sys, "argv", ["speed.py", "--only", "vae/seed", "--variants", "default", "--train-steps", "1",
                                      "--min-images", "256", "--warmup", "1", "--n", "10", "--data-limit", "1024", "--out", str(out)])
    speed.main()
    again = json.loads(out.read_text())
    # the file's settings stay those of its other rows; the remeasured row gives its own steps
    assert again["settings"]["train_steps"] == "at least 1, and at least 0 images"
    assert again["training"][0]["steps"] == 2  # 256 images in batches of 128
    assert [(r["preset"], r["variant"]) for r in again["training"]] == [("seed", "default"), ("conv", "default"),
                                                                      ("conv", "1 thread"), ("conv", "channels_last")]
    assert [r["preset"] for r in again["sampling"]] == ["seed", "conv"] and "measured" in again["sampling"][0]
    assert again["training"][1] == rows[("conv", "default")] and "measured" in again["training"][0]
    assert "load_average" not in speed.table(again)  # the table shows a sampler's options, not when it was measured


def test_speed_benchmark_refuses_an_unknown_preset(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["speed.py", "--only", "vae/huge"])
    with pytest.raises(SystemExit):
        load("speed").main()
    assert "unknown family/preset" in capsys.readouterr().err


def _notebook(path, code):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_lesson_times_lanes_deadline_and_keep(tmp_path, monkeypatch):
    """Two lanes side by side: the quick lesson finishes and is timed; the slow one is stopped at the deadline
    and recorded as unfinished; each names the other as run beside it; the executed notebooks are kept."""
    times = load("lesson_times")
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    _notebook(lessons / "90_quick.ipynb", ["x = 6 * 7", "assert x == 42"])
    _notebook(lessons / "91_slow.ipynb", ["import time", "time.sleep(120)"])
    _notebook(lessons / "92_wrong.ipynb", ["assert 1 == 2, 'the lesson checks itself'"])
    monkeypatch.setattr(times, "NOTEBOOKS", lessons)
    out, keep = tmp_path / "t.json", tmp_path / "keep"
    code = times.main(["--lanes", "90_quick,92_wrong", "91_slow", "--deadline-minutes", "0.5", "--out", str(out),
                       "--keep", str(keep), "--threads", "1"])
    rows = json.loads(out.read_text())["lessons"]
    assert code == 1
    quick, slow, wrong = rows["90_quick"], rows["91_slow"], rows["92_wrong"]
    assert quick["ok"] and quick["finished"] and quick["seconds"] < 30 and quick["beside"] == ["91_slow"]
    assert not slow["ok"] and not slow["finished"] and 25 <= slow["seconds"] < 90
    assert "unfinished" in slow["error"] and "90_quick" in slow["beside"]
    assert wrong["finished"] and not wrong["ok"] and "the lesson checks itself" in wrong["error"]
    assert "\x1b[" not in wrong["error"] and str(ROOT) not in wrong["error"]
    assert (keep / "90_quick" / "90_quick.ipynb").is_file() and (keep / "91_slow" / "91_slow.ipynb").is_file()
    assert "mode" in quick and quick["mode"].startswith("normal")


def test_lesson_times_refuses_bad_settings(tmp_path, capsys):
    times = load("lesson_times")
    for argv, message in ((["--lanes", "00_mnist", "--deadline-minutes", "0"], "positive"),
                          (["--lanes", "99_nothing"], "no lesson"),
                          (["00_mnist", "--lanes", "01_vae"], "not both")):
        with pytest.raises(SystemExit):
            times.main([*argv, "--out", str(tmp_path / "t.json")])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_ddpm_samplers_combines_seeds_and_refuses_bad_input(tmp_path, capsys):
    """The sampler comparison behind the showdown DDPM's eta: seeds combine into a mean per sampler, judged
    against the mean ancestral FID; a seed given twice, a folder without a DDPM run and a call with neither
    or both modes are refused before any sampling."""
    samplers = load("ddpm_samplers")
    part = lambda seed, fids, anc: {"seed": seed, "ancestral": {"fid": anc},  # noqa: E731
                                    "rows": [{"sampler": name, "n": 100, "fid": f, "class_kl": 0.01}
                                             for (name, _), f in zip(samplers.SAMPLERS, fids)]}
    a, b = part(0, [40, 38, 30, 36, 41], 29.0), part(1, [42, 40, 32, 38, 43], 31.0)
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    assert samplers.main(["--combine", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                          "--out", str(tmp_path / "all.json")]) == 0
    out = json.loads((tmp_path / "all.json").read_text())
    assert out["seeds"] == [0, 1] and out["ancestral_fid_mean"] == 30.0 and out["best"] == "DDIM 50, eta 1"
    eta1 = next(r for r in out["table"] if r["sampler"] == "DDIM 50, eta 1")
    assert eta1["fid_mean"] == 31.0 and eta1["over_ancestral"] == pytest.approx(31 / 30) and eta1["network_calls"] == 50
    with pytest.raises(SystemExit, match="twice"):
        samplers.main(["--combine", str(tmp_path / "a.json"), str(tmp_path / "a.json"), "--out", str(tmp_path / "x.json")])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "results.json").write_text(json.dumps({"settings": {"contenders": []}, "runs": []}))
    with pytest.raises(SystemExit, match="expected one proper DDPM"):
        samplers.main(["--showdown", str(tmp_path / "empty"), "--out", str(tmp_path / "x.json")])
    for argv in ([], ["--showdown", "d", "--combine", "f"]):
        with pytest.raises(SystemExit):
            samplers.main([*argv, "--out", str(tmp_path / "x.json")])
        assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_reference_unconditional_refuses_too_few_samples(capsys):
    with pytest.raises(SystemExit):
        load("reference_unconditional").main(["--families", "diffusion", "--n", "100"])
    assert "10,000" in capsys.readouterr().err


def test_likelihood_same_data_refuses_another_image_count(capsys):
    """The DDPM's bound beside the VAE's must be on the VAE's own images: another count is refused at once."""
    with pytest.raises(SystemExit):
        load("likelihood_same_data").main(["--n", "100"])
    assert "other images" in capsys.readouterr().err


def test_ddpm_samplers_checks_the_showdowns_own_row_first(tmp_path, capsys, monkeypatch):
    """On a tiny showdown folder: the row the showdown also scored (its DDIM 50 eta 1) is drawn first and
    matches the record, the rows come out in the table's order; a record that does not match the checkpoint
    is refused after that one row, before the other samplers run."""
    from genedu import showdown as S

    samplers = load("ddpm_samplers")
    ddpm = S.Contender("diffusion", "ddpm", "DDPM", ema=0.9, sample_options={"sampler": "ddim", "steps": 50, "eta": 1.0},
                       config={"num_classes": 0, "T": 50, "channels": (8, 16), "emb_dim": 32})
    S.showdown(contenders=[ddpm], out=tmp_path, images=256, n_samples=100, stages=1, data_limit=1024,
               progress=False, device="cpu", ddim_steps=(50,), ddim_samples=100, ancestral_steps=50)
    assert samplers._check_row(ddpm.sample_options, {25: 1.0, 50: 1.0}) == "DDIM 50, eta 1"
    assert samplers._check_row({"sampler": "ddim", "steps": 50}, {50: 1.0}) == "DDIM 50, eta 0"
    assert samplers._check_row({"sampler": "dpm", "steps": 20}, {50: 1.0}) is None
    assert samplers.main(["--showdown", str(tmp_path), "--out", str(tmp_path / "s.json")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "'DDIM 50, eta 1'" in printed[0]  # drawn first
    out = json.loads((tmp_path / "s.json").read_text())
    assert [r["sampler"] for r in out["rows"]] == [name for name, _ in samplers.SAMPLERS]
    res = json.loads((tmp_path / "results.json").read_text())
    [curve50] = [p for p in res["runs"][0]["steps_curve"] if p["steps"] == 50]
    assert next(r for r in out["rows"] if r["sampler"] == "DDIM 50, eta 1")["fid"] == pytest.approx(curve50["fid"])
    # a tuple override (channels) survives the trip through results.json: resumed and rescored, not retrained
    monkeypatch.setattr(S, "run_one", None)
    S.showdown(contenders=[ddpm], out=tmp_path, images=256, n_samples=100, stages=1, data_limit=1024,
               progress=False, device="cpu", ddim_steps=(50,), ddim_samples=100, ancestral_steps=50)
    [rescored] = S.rescore(tmp_path, S.replace(ddpm, sample_options={"sampler": "ddim", "steps": 50}), progress=False)
    assert rescored["rescored"]["sample_options"] == ddpm.sample_options
    res = json.loads((tmp_path / "results.json").read_text())
    [curve50] = [p for p in res["runs"][0]["steps_curve"] if p["steps"] == 50]
    curve50["fid"] += 5.0  # a record that is not this checkpoint's
    (tmp_path / "results.json").write_text(json.dumps(res))
    with pytest.raises(SystemExit, match="not the checkpoint"):
        samplers.main(["--showdown", str(tmp_path), "--out", str(tmp_path / "t.json")])
    assert len(capsys.readouterr().out.splitlines()) == 1 and not (tmp_path / "t.json").exists()


def test_flow_samplers_checks_the_showdowns_own_row_and_compares_with_the_ddpm(tmp_path, capsys):
    """On a tiny showdown folder with a DDPM and a flow: the flow's recorded row (Euler 10) is drawn first and
    matches the record, every solver is scored with its network calls beside the DDPM's 50-step FID; seeds
    combine; a record that does not match the checkpoint, a folder without a flow and a seed twice are refused."""
    from genedu import showdown as S

    samplers = load("flow_samplers")
    tiny = {"num_classes": 0, "T": 50, "channels": (8, 16), "emb_dim": 32}
    ddpm = S.Contender("diffusion", "ddpm", "DDPM", ema=0.9, sample_options={"sampler": "ddim", "steps": 50, "eta": 1.0},
                       config=tiny)
    flow = S.Contender("flow", "laptop", "Flow", ema=0.9, sample_options={"method": "euler", "steps": 10},
                       config={k: v for k, v in tiny.items() if k != "T"})
    S.showdown(contenders=[ddpm, flow], out=tmp_path, images=256, n_samples=100, stages=1, data_limit=1024,
               progress=False, device="cpu", ddim_steps=(10, 50), ddim_samples=100)
    assert samplers.main(["--showdown", str(tmp_path), "--out", str(tmp_path / "s0.json")]) == 0
    assert "'Euler 10'" in capsys.readouterr().out.splitlines()[0]  # drawn first
    part = json.loads((tmp_path / "s0.json").read_text())
    assert [r["sampler"] for r in part["rows"]] == [s[0] for s in samplers.SAMPLERS]
    assert [r["network_calls"] for r in part["rows"]] == [10, 50, 50, 50]
    res = json.loads((tmp_path / "results.json").read_text())
    runs = {r["family"]: r for r in res["runs"]}
    [ddpm50] = [p["fid"] for p in runs["diffusion"]["steps_curve"] if p["steps"] == 50]
    [euler10] = [p["fid"] for p in runs["flow"]["steps_curve"] if p["steps"] == 10]
    assert part["ddpm_50_steps"]["fid"] == ddpm50 and part["rows"][0]["fid"] == pytest.approx(euler10)
    other = {**part, "seed": 1, "ddpm_50_steps": {**part["ddpm_50_steps"], "fid": ddpm50 + 2}}
    (tmp_path / "s1.json").write_text(json.dumps(other))
    assert samplers.main(["--combine", str(tmp_path / "s0.json"), str(tmp_path / "s1.json"),
                          "--out", str(tmp_path / "all.json")]) == 0
    out = json.loads((tmp_path / "all.json").read_text())
    assert out["seeds"] == [0, 1] and out["ddpm_50_fid_mean"] == pytest.approx(ddpm50 + 1)
    assert out["table"][0]["over_ddpm_50"] == pytest.approx(part["rows"][0]["fid"] / (ddpm50 + 1))
    with pytest.raises(SystemExit, match="twice"):
        samplers.main(["--combine", str(tmp_path / "s0.json"), str(tmp_path / "s0.json"), "--out", str(tmp_path / "x.json")])
    next(p for p in runs["flow"]["steps_curve"] if p["steps"] == 10)["fid"] += 5.0  # not this checkpoint's record
    (tmp_path / "results.json").write_text(json.dumps(res))
    capsys.readouterr()
    with pytest.raises(SystemExit, match="not the checkpoint"):
        samplers.main(["--showdown", str(tmp_path), "--out", str(tmp_path / "x.json")])
    assert len(capsys.readouterr().out.splitlines()) == 1  # refused after the one row
    res["runs"] = [runs["diffusion"]]
    (tmp_path / "results.json").write_text(json.dumps(res))
    with pytest.raises(SystemExit, match="one proper flow"):
        samplers.main(["--showdown", str(tmp_path), "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()


def test_showdown_record_keeps_each_runs_whole_config_and_retrains_one_contender_from_it(tmp_path, monkeypatch, capsys):
    """The record (benchmarks/showdown.py's JSON) keeps each run's model_config, which changed_since needs to
    see a preset changed under it; --from-record --retrain trains again only the named contender's runs and
    keeps the others' and the record's caveats."""
    from genedu import showdown as S

    bench = load("showdown")
    monkeypatch.setattr(S, "CONTENDERS", [S.Contender("vae", "seed", "VAE (seed)"),
                                          S.Contender("gan", "seed", "GAN (seed)")])
    common = ["--images", "256", "--samples", "100", "--stages", "1", "--data-limit", "1024", "--ddim-steps", "10"]
    record = tmp_path / "record.json"
    bench.main(common + ["--work", str(tmp_path / "a"), "--out", str(record), "--note", "first"])
    rec = json.loads(record.read_text())
    assert all(r["model_config"]["batch_size"] == 128 for r in rec["runs"])  # the seed presets' batch
    assert S.changed_since(rec) == {}
    trained = []
    run_one = S.run_one
    monkeypatch.setattr(S, "run_one", lambda c, *a, **k: trained.append(c.key) or run_one(c, *a, **k))
    with pytest.raises(SystemExit):  # --retrain needs its record, and names a contender
        bench.main(common + ["--work", str(tmp_path / "b"), "--retrain", "gan/seed"])
    with pytest.raises(SystemExit):
        bench.main(common + ["--work", str(tmp_path / "b"), "--from-record", str(record), "--retrain", "gan/dcgan"])
    assert "no such contender" in capsys.readouterr().err and trained == []
    again = tmp_path / "again.json"
    bench.main(common + ["--work", str(tmp_path / "b"), "--out", str(again), "--from-record", str(record),
                         "--retrain", "gan/seed", "--note", "second"])
    assert trained == ["gan/seed"]
    new = json.loads(again.read_text())
    assert new["caveats"] == ["first", "second"] and "--retrain gan/seed" in new["command"]
    assert new["earlier_commands"] == [rec["command"]] and rec["earlier_commands"] == []
    by_key = {r["family"]: r for r in new["runs"]}
    assert by_key["vae"] == next(r for r in rec["runs"] if r["family"] == "vae")  # kept as recorded
    assert "sharpness" in by_key["vae"] and new["summary"]["vae/seed"] == rec["summary"]["vae/seed"]
    assert new["machine"] == rec["machine"] and {v["criterion"] for v in new["verdicts"]} >= {"sample quality"}
    assert by_key["gan"]["model_config"] == next(r for r in rec["runs"] if r["family"] == "gan")["model_config"]


def test_vae_priors_scores_each_mixture_and_temperature_and_refuses_other_checkpoints(tmp_path, capsys):
    """On an untrained small VAE: one row per (components, codes, temperature), each scored; a GAN's
    checkpoint, a missing file and more components than codes are refused before any scoring."""
    from genedu.checkpoint import save_checkpoint
    from genedu.models.gan import GAN
    from genedu.models.vae import VAE

    priors, out = load("vae_priors"), tmp_path / "priors.json"
    save_checkpoint(tmp_path / "vae.pt", VAE.from_preset("laptop", channels=4, hidden=32))
    save_checkpoint(tmp_path / "gan.pt", GAN.from_preset("seed"))
    assert priors.main(["--checkpoint", str(tmp_path / "vae.pt"), "--components", "2", "3", "--codes", "200",
                        "--temperatures", "1.0", "0.5", "--n", "100", "--label", "tiny ", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert sorted(rec["rows"]) == sorted(f"tiny K={k} codes=200 T={t}" for k in (2, 3) for t in (1.0, 0.5))
    assert all(r["fid"] > 0 and r["n"] == 100 for r in rec["rows"].values()) and "CPU" in rec["machine"]
    assert rec["checkpoints"]["tiny "]["config"]["channels"] == 4 and all(r["seed"] == 0 for r in rec["rows"].values())
    for argv, message in ([["--checkpoint", str(tmp_path / "gan.pt")], "not a VAE"],
                          [["--checkpoint", str(tmp_path / "none.pt")], "no such file"],
                          [["--checkpoint", str(tmp_path / "vae.pt"), "--components", "300", "--codes", "200"],
                           "at least as many codes"]):
        with pytest.raises(SystemExit):
            priors.main(argv + ["--out", str(tmp_path / "x.json")])
        assert message in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_vae_likelihood_scores_a_checkpoint_side_by_side_with_samples(tmp_path, capsys, monkeypatch):
    """--checkpoint scores a trained VAE without training (a tiny PixelCNN-headed one here): the bounds in
    nats and the samples' own-suite figures; a GAN, the seed's squared error, a missing file and a file
    that is not the preset it is named after are refused before any data is read."""
    from genedu.checkpoint import save_checkpoint
    from genedu.models.gan import GAN
    from genedu.models.vae import VAE

    lik, out = load("vae_likelihood"), tmp_path / "lik.json"
    tiny = VAE.from_preset("pixel", channels=4, hidden=16, latent_dim=4, pixel_channels=4, pixel_layers=1,
                           prior_components=0)
    save_checkpoint(tmp_path / "tiny.pt", tiny)
    assert lik.main(["--checkpoint", str(tmp_path / "tiny.pt"), "--k", "3", "--n-iwae", "20", "--samples", "30",
                     "--results", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["preset"] == "tiny" and rec["recipe"] is None and rec["config"]["pixel_layers"] == 1
    assert 0 < rec["iwae_nll_first_n"] <= rec["neg_elbo_first_n"] + 5  # IWAE is the tighter bound (noise aside)
    assert rec["samples"]["n"] == 30 and rec["samples"]["fid"] > 0 and rec["k"] == 3
    from genedu import reference

    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path / "refs")  # --export ships it with these figures
    assert lik.main(["--checkpoint", str(tmp_path / "tiny.pt"), "--k", "2", "--n-iwae", "10", "--results", str(out),
                     "--export", "vae_pixel", "--trained-with", "genedu train ..."]) == 0
    shipped = reference.reference_info("vae_pixel")
    assert round(shipped["likelihood"]["iwae_nll_nats"], 2) == json.loads(out.read_text())["iwae_nll_first_n"]
    assert shipped["command"] == "genedu train ..." and "--export vae_pixel" in shipped["scored_with"]
    assert reference.load_reference("vae_pixel").config.pixel_layers == 1
    save_checkpoint(tmp_path / "gan.pt", GAN.from_preset("seed"))
    save_checkpoint(tmp_path / "seed.pt", VAE.from_preset("seed"))
    save_checkpoint(tmp_path / "laptop.pt", tiny)
    for argv, message in ([["--checkpoint", str(tmp_path / "gan.pt")], "not a Bernoulli VAE"],
                          [["--checkpoint", str(tmp_path / "seed.pt")], "not a Bernoulli VAE"],
                          [["--checkpoint", str(tmp_path / "none.pt")], "no such file"],
                          [["--checkpoint", str(tmp_path / "tiny.pt"), "--preset", "big"], "not a VAE preset"],
                          [["--checkpoint", str(tmp_path / "tiny.pt"), "--k", "0"], "at least 1"],
                          [["--checkpoint", str(tmp_path / "tiny.pt"), "--export", "vae_pixel"], "--trained-with"],
                          [["--checkpoint", str(tmp_path / "tiny.pt"), "--export", "gan", "--trained-with", "x"],
                           "not a VAE reference"]):
        with pytest.raises(SystemExit):
            lik.main(argv + ["--results", str(tmp_path / "x.json")])
        assert message in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    with pytest.raises(Exception, match="pixel_channels"):  # named after a preset it does not hold
        lik.main(["--checkpoint", str(tmp_path / "laptop.pt"), "--results", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()


def test_references_tables_take_every_record_like_with_like(tmp_path):
    """A new reference appears by adding its JSON: an unconditional DDPM among the label-free rows, a few-step
    flow among the conditional ones, each with its network calls per sample."""
    rt = load("references_table")
    for name in ("vae", "diffusion", "flow"):
        (tmp_path / f"{name}.json").write_text((rt.REFS / f"{name}.json").read_text())
    uncond = json.loads((rt.REFS / "diffusion.json").read_text())
    uncond["config"]["num_classes"] = 0
    uncond.pop("unconditional")
    uncond["evaluation"].pop("conditional_accuracy")
    uncond["sample_options"] = uncond["evaluation"]["sample_options"] = {"sampler": "ddim", "steps": 50, "eta": 1.0}
    (tmp_path / "diffusion_uncond.json").write_text(json.dumps(uncond))
    few = json.loads((rt.REFS / "flow.json").read_text())
    few.pop("unconditional")
    few["evaluation"]["sample_options"] = {"method": "euler", "steps": 2}
    (tmp_path / "flow_fewstep.json").write_text(json.dumps(few))
    refs = rt.load_references(tmp_path)
    assert [name for name, _ in refs] == ["vae", "diffusion", "diffusion_uncond", "flow", "flow_fewstep"]
    rows = [line.split(" | ") for line in rt.summary_table(refs).splitlines()[2:]]
    drawn = [(r[0].strip("| "), r[1], r[3]) for r in rows]
    assert drawn == [("vae", "no label (unconditional model)", "1"), ("diffusion", "null label", "20"),
                     ("diffusion_uncond", "no label (unconditional model)", "50"), ("flow", "null label", "20"),
                     ("diffusion", drawn[4][1], "20"), ("flow", drawn[5][1], "20"), ("flow_fewstep", drawn[6][1], "2")]
    assert all(d[1].startswith("class requested (9") for d in drawn[4:])
    full = rt.trained_table(refs)
    assert full.count("\n| ") == 5 and "| diffusion_uncond | `reference` |" in full
    # the 2-core CPU's time only where family, preset and sampler match what reference_cpu_sampling.py drew
    # (matched by the reference's name, float32 rows, the latest of each)
    cpu_rows = [r for r in json.loads(rt.CPU.read_text())["rows"] if not r.get("bf16")]
    flow_cpu = [r for r in cpu_rows if r.get("reference", r["family"]) == "flow"
                and r["sample_options"] == {"method": "midpoint", "steps": 10}][-1]
    few_cpu = [r for r in cpu_rows if r.get("reference") == "flow_fewstep" and r["sample_options"] == few["evaluation"]
               ["sample_options"]]
    assert full.splitlines()[-1].endswith(f"| {few_cpu[-1]['seconds_per_1000']:.1f} |" if few_cpu else "| not measured |")
    assert full.splitlines()[-2].endswith(f"| {flow_cpu['seconds_per_1000']:.1f} |")
    (tmp_path / "vae_other.json").write_text((rt.REFS / "vae.json").read_text())  # a name never measured on the CPU
    assert rt.trained_table(rt.load_references(tmp_path)).count("| not measured |") >= 1
    assert rt.unconditional_table(refs).count("\n| ") == 3  # only the records drawn by reference_unconditional.py


def test_network_calls_per_sample_and_an_unknown_sampler_refused():
    rt = load("references_table")
    assert rt.network_calls({"family": "gan"}, {}) == 1
    assert rt.network_calls({"family": "vae", "config": {"pixel_layers": 4}}, {}) == 784
    assert rt.network_calls({"family": "diffusion", "config": {"T": 1000}}, {"sampler": "ddpm"}) == 1000
    assert rt.network_calls({"family": "flow"}, {"method": "heun", "steps": 10, "guidance": 1.5}) == 40
    assert rt.network_calls({"family": "flow"}, {"method": "midpoint", "steps": 10, "guidance": 1.0}) == 20
    with pytest.raises(ValueError, match="no rule for the network calls.*CALLS_PER_STEP"):
        rt.network_calls({"family": "flow"}, {"method": "rk4", "steps": 4})


def test_lessons_table_reads_titles_and_times(tmp_path, monkeypatch):
    times = load("lesson_times")
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (lessons / "07_toy.py").write_text("# %% [markdown]\n# # 07 · A toy lesson\n#\n" + "# word\n" * 150 +
                                       "\n# %%\n" + "x = 1\n" * 15)
    (lessons / "08_new.py").write_text("# %% [markdown]\n# # Lesson 08: Not timed yet\n")
    monkeypatch.setattr(times, "NOTEBOOKS", lessons)
    cpu = tmp_path / "t.json"
    cpu.write_text(json.dumps({"lessons": {"07_toy": {"minutes": 2.25, "ok": True}}}))
    rows = times.lessons_table(cpu, repo_url="https://github.com/me/course").splitlines()[2:]
    assert rows[0].startswith("| 07 | [A toy lesson](notebooks/07_toy.ipynb) | 2 min | 2.2 min |")  # 150 words + 15 lines
    assert "colab.research.google.com/github/me/course/blob/main/notebooks/07_toy.ipynb" in rows[0]
    assert rows[1].startswith("| 08 | [Not timed yet](notebooks/08_new.ipynb) | 0 min | not measured |")
