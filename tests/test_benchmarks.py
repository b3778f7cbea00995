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
                       "--set", "lr_decay=cosine", "lr_warmup=1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["trials"]
    assert rows["earlier"] == {"fid": 1.0}
    row = rows["tiny"]
    assert row["recipe"] == {"lr_decay": "cosine", "lr_warmup": 1} and row["images"] == 256 and row["n"] == 100
    assert row["fid"] > 0 and len(row["class_histogram"]) == 10 and "CPU" in row["machine"] and row["seed"] == 0


@pytest.mark.parametrize("change, message", [
    ({"--set": "lr_decay"}, "key=value"),
    ({"--images": "0"}, "at least 1"),
    ({"--model": "pixelcnn"}, "unknown model"),
])
def test_recipe_trial_refuses_bad_settings(tmp_path, capsys, change, message):
    options = {"--model": "vae", "--preset": "seed", "--images": "256", "--label": "x",
               "--out": str(tmp_path / "t.json"), **change}
    with pytest.raises(SystemExit) as e:
        load("recipe_trial").main([a for pair in options.items() for a in pair])
    assert message in str(e.value.code) + capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_recipe_trial_refuses_an_unknown_preset_before_training(tmp_path):
    with pytest.raises(ValueError, match="no preset 'huge'"):
        load("recipe_trial").main(["--model", "vae", "--preset", "huge", "--images", "256", "--label", "x",
                                   "--out", str(tmp_path / "t.json")])


def test_speed_benchmark_records_variants_against_the_default(tmp_path, monkeypatch):
    speed, out = load("speed"), tmp_path / "speed.json"
    monkeypatch.setattr(sys, "argv", ["speed.py", "--only", "vae/seed", "vae/conv", "--variants", "default",
                                      "1 thread", "channels_last", "--train-steps", "1", "--warmup", "1", "--n", "10",
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


def test_speed_benchmark_refuses_an_unknown_preset(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["speed.py", "--only", "vae/huge"])
    with pytest.raises(SystemExit):
        load("speed").main()
    assert "unknown family/preset" in capsys.readouterr().err
