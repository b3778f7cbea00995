import subprocess
import sys

import torch

from genedu.cli import main


def test_train_writes_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "vae.pt"
    assert main(["train", "--model", "vae", "--preset", "seed", "--steps", "5", "--out", str(out),
                 "--device", "cpu"]) == 0
    assert "trained vae/seed for 5 steps" in capsys.readouterr().out
    assert torch.load(out, weights_only=True)["state"]["step"] == 5


def test_bad_input_gets_one_clear_line_and_status_2(tmp_path, capsys):
    assert main(["train", "--model", "pixelcnn", "--steps", "1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "unknown --model 'pixelcnn'" in capsys.readouterr().err
    assert main(["train", "--model", "vae", "--preset", "huge", "--steps", "1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "no preset 'huge'" in capsys.readouterr().err
    assert main(["train", "--model", "vae", "--out", str(tmp_path / "x.pt")]) == 2
    assert "give a budget" in capsys.readouterr().err


def test_python_dash_m_genedu_runs():
    r = subprocess.run([sys.executable, "-m", "genedu", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "train" in r.stdout


def test_showdown_passes_its_tiny_settings_through(tmp_path, monkeypatch, capsys):
    """The showdown's every size is a flag, so a test (or a quick trial) can run it in seconds: the
    likelihood settings too, which the contenders with a likelihood (vae/laptop, diffusion/laptop) use."""
    seen = {}

    def fake_showdown(**kwargs):
        seen.update(kwargs)
        return {"summary": {}, "calibration": []}

    monkeypatch.setattr("genedu.showdown.showdown", fake_showdown)
    monkeypatch.setattr("genedu.showdown.table_markdown", lambda summary, calibration: "table")
    assert main(["showdown", "--images", "128", "--samples", "100", "--stages", "1", "--data-limit", "512",
                 "--ddim-steps", "2", "--ddim-samples", "100", "--likelihood-k", "2", "--likelihood-samples", "20",
                 "--only", "vae/laptop", "--out", str(tmp_path)]) == 0
    assert {k: seen[k] for k in ("images", "n_samples", "stages", "data_limit", "ddim_steps", "ddim_samples",
                                 "likelihood_k", "likelihood_n")} == {
        "images": 128, "n_samples": 100, "stages": 1, "data_limit": 512, "ddim_steps": (2,), "ddim_samples": 100,
        "likelihood_k": 2, "likelihood_n": 20}
    assert [c.key for c in seen["contenders"]] == ["vae/laptop"]
    assert main(["showdown", "--images", "128", "--likelihood-k", "0", "--out", str(tmp_path)]) == 2
    assert "argument --likelihood-k" in capsys.readouterr().err
