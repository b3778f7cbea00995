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
