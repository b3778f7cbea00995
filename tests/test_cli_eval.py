"""`genedu evaluate` and `genedu sample` round trips through genedu.cli.main."""

import json

import numpy as np
import pytest
import torch

import genedu
from genedu.cli import main


@pytest.fixture(scope="module")
def test_images():
    return genedu.load_mnist("test").float(torch.arange(2000)).numpy()


def test_evaluate_round_trip_on_real_images(tmp_path, test_images, capsys):
    path = tmp_path / "real.npz"
    np.savez(path, samples=test_images.astype(np.float32))
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fid" in out and "train vs test (floor)" in out and "noise (ceiling)" in out
    assert main(["evaluate", str(path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n"] == 2000 and rep["inception_score"] > 9 and rep["class_kl"] < 0.02
    assert rep["fid"] < 0.2 * rep["calibration"][1]["fid"]


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((10, 1, 28, 28), np.float32)}, "no array named 'samples'"),
    ({"samples": np.zeros((10, 28, 29), np.float32)}, "shape"),
    ({"samples": np.full((10, 1, 28, 28), 200.0, np.float32)}, "[-1, 1]"),
    ({"samples": np.full((10, 1, 28, 28), np.nan, np.float32)}, "NaN"),
])
def test_evaluate_bad_inputs(tmp_path, capsys, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    assert main(["evaluate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_warns_on_few_samples(tmp_path, test_images, capsys):
    path = tmp_path / "few.npz"
    np.savez(path, samples=test_images[:200])
    assert main(["evaluate", str(path), "--no-calibration"]) == 0
    assert "biased" in capsys.readouterr().err


def test_sample_round_trip_and_errors(tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "vae.pt"
    assert main(["train", "--model", "vae", "--preset", "seed", "--steps", "2", "--out", str(ckpt)]) == 0
    out = tmp_path / "s.npz"
    assert main(["sample", "--model", "vae", "--checkpoint", str(ckpt), "--n", "50", "--out", str(out),
                 "--device", "cpu"]) == 0
    s = np.load(out)["samples"]
    assert s.shape == (50, 1, 28, 28) and s.dtype == np.float32 and s.min() >= -1 and s.max() <= 1
    assert main(["sample", "--model", "vae", "--checkpoint", str(ckpt), "--n", "5", "--out", str(out),
                 "--steps", "10", "--device", "cpu"]) == 2
    assert "--steps is for --model diffusion or flow; a vae takes --prior" in capsys.readouterr().err
    monkeypatch.setattr("genedu.reference.REFERENCE_DIR", tmp_path / "no-references")
    assert main(["sample", "--model", "gan", "--reference", "--n", "5", "--out", str(out)]) == 2
    assert "no reference checkpoint" in capsys.readouterr().err
