"""Bad command-line input: status 2, one line on stderr saying what was expected, and nothing long started.

Every test here replaces the long work (loading MNIST, training, sampling, scoring) with a function that
fails the test if it is reached, so a check that came too late shows as a failure, not as a slow test.
"""

import os
import pathlib

import numpy as np
import pytest
import torch

import genedu
from genedu.cli import main


def _never(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} started although the input was bad")
    return fail


@pytest.fixture
def no_long_work(monkeypatch):
    """Loading data, training, sampling, scoring and the showdown all fail the test if reached."""
    monkeypatch.setattr("genedu.data.load_mnist", _never("loading MNIST"))
    monkeypatch.setattr("genedu.train.fit", _never("training"))
    monkeypatch.setattr("genedu.evaluate.evaluate_samples", _never("scoring"))
    monkeypatch.setattr("genedu.evaluate.train_classifier", _never("training the classifier"))
    monkeypatch.setattr("genedu.showdown.showdown", _never("the showdown"))
    monkeypatch.setattr("genedu.reference.make_reference", _never("making a reference"))


def _refused(argv, capsys, *needles):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def vae_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "vae.pt"
    genedu.save_checkpoint(path, genedu.VAE.from_preset("seed"))
    return path


@pytest.mark.parametrize("args, needle", [
    (["--steps", "0"], "argument --steps: expected a whole number greater than 0, got '0'"),
    (["--steps", "-3"], "greater than 0"),
    (["--epochs", "0"], "argument --epochs: expected a number greater than 0"),
    (["--images", "-1"], "argument --images"),
    (["--seconds", "0"], "argument --seconds"),
    (["--seconds", "nan"], "argument --seconds"),
    (["--steps", "2", "--batch-size", "0"], "argument --batch-size"),
    (["--steps", "2", "--checkpoint-every", "0"], "argument --checkpoint-every"),
    (["--steps", "2", "--ema", "1.5"], "strictly between 0 and 1"),
    (["--steps", "two"], "got 'two'"),
    ([], "give a budget: --epochs, --steps, --images, --seconds"),
    (["--steps", "2", "--device", "tpu"], "expected cpu, cuda, cuda:N or mps, got 'tpu'"),
])
def test_train_refuses_bad_numbers_and_devices(tmp_path, capsys, no_long_work, args, needle):
    line = _refused(["train", "--model", "vae", "--out", tmp_path / "x.pt", *args], capsys, needle)
    assert line.startswith("genedu train: error:")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused_with_what_to_do(tmp_path, capsys, no_long_work):
    _refused(["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "x.pt", "--device", "cuda"], capsys,
             "CUDA is not available", "--device cpu")


def test_cuda_device_number_must_exist(tmp_path, capsys, no_long_work):
    _refused(["sample", "--model", "vae", "--reference", "--out", tmp_path / "s.npz", "--device", "cuda:99"],
             capsys, "cuda:99")


def test_output_folders_must_exist(tmp_path, capsys, no_long_work):
    missing = tmp_path / "no" / "such"
    _refused(["train", "--model", "vae", "--steps", "2", "--out", missing / "x.pt"], capsys,
             "does not exist", "mkdir -p")
    _refused(["sample", "--model", "vae", "--reference", "--out", missing / "s.npz"], capsys, "does not exist")
    _refused(["showdown", "--images", "100", "--out", missing / "run"], capsys, "does not exist")
    _refused(["reference", "--model", "vae", "--preset", "conv", "--steps", "2", "--work", missing], capsys,
             "does not exist")
    _refused(["evaluate", "train-classifier", "--out", missing], capsys, "does not exist")
    (tmp_path / "a-file").write_text("")
    _refused(["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "a-file" / "x.pt"], capsys,
             "does not exist")
    _refused(["train", "--model", "vae", "--steps", "2", "--out", tmp_path], capsys, "is a folder")


def test_sample_refuses_bad_counts_kinds_and_ignored_options(tmp_path, capsys, no_long_work, vae_ckpt):
    base = ["sample", "--model", "vae", "--checkpoint", vae_ckpt, "--out", tmp_path / "s.npz"]
    _refused(base + ["--n", "0"], capsys, "argument --n: expected a whole number greater than 0")
    _refused(base + ["--batch-size", "-5"], capsys, "argument --batch-size")
    _refused(base + ["--steps", "0"], capsys, "argument --steps")
    _refused(base + ["--guidance", "-1"], capsys, "argument --guidance")
    _refused(base + ["--labels", "balanced"], capsys, "unconditional", "leave --labels out")
    _refused(["sample", "--model", "vae", "--checkpoint", vae_ckpt, "--out", tmp_path / "s.npy"], capsys,
             "expected a .npz file name")
    assert not (tmp_path / "s.npz").exists()


def test_random_bytes_named_pt_are_refused(tmp_path, capsys, no_long_work):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(4096))
    _refused(["sample", "--model", "vae", "--checkpoint", junk, "--n", "4", "--out", tmp_path / "s.npz"], capsys,
             "not a readable checkpoint")
    _refused(["train", "--model", "vae", "--steps", "2", "--resume", "--out", junk], capsys,
             "not a readable checkpoint")


class _Planted:
    """A pickle that writes a marker file when it is unpickled: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.write_text, (self.marker, "code ran on load"))


def test_a_checkpoint_that_would_run_code_on_load_is_refused(tmp_path, capsys, no_long_work):
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pt"
    model = genedu.VAE.from_preset("seed")
    torch.save({"family": "vae", "config": model.config_dict(), "model": model.state_dict(),
                "optimizers": {}, "ema": None, "state": {}, "payload": _Planted(marker)}, evil)
    assert not marker.exists()
    _refused(["sample", "--model", "vae", "--checkpoint", evil, "--n", "4", "--out", tmp_path / "s.npz"], capsys,
             "not a readable checkpoint")
    _refused(["train", "--model", "vae", "--steps", "2", "--resume", "--out", evil], capsys,
             "not a readable checkpoint")
    with pytest.raises(genedu.CheckpointError, match="not a readable checkpoint"):
        genedu.load_model(evil)
    assert not marker.exists()  # nothing in the file ran
    torch.load(evil, weights_only=False)  # the file really would run code: the test plants what it claims
    assert marker.read_text() == "code ran on load"


@pytest.mark.parametrize("make, needle", [
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros((10, 1, 28, 28), np.float32)), "an .npz file was expected"),
    (lambda p: p.write_bytes(os.urandom(2048)), "not a readable .npz file"),
    (lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(2048)), "not a readable .npz file"),
    (lambda p: p.with_suffix(".npy").rename(p) if np.save(p.with_suffix(".npy"), np.zeros(3)) is None else None,
     "holds a single array (.npy format)"),
    (lambda p: np.savez(p, samples=np.zeros((3, 1, 28, 28), np.float32)), "need at least 4 samples"),
    (lambda p: np.savez(p, samples=np.zeros((8, 1, 28, 28), np.float32), labels=np.array([0, 1, 2, 3, 4, 5, 6, 10])),
     "labels must be digits 0..9"),
    (lambda p: np.savez(p, samples=np.zeros((8, 1, 28, 28), np.float32), labels=-np.ones(8, np.int64)),
     "labels must be digits 0..9"),
    (lambda p: np.savez(p, samples=np.zeros((8, 1, 28, 28), np.float32), labels=np.zeros(5, np.int64)),
     "got 5 labels for 8 samples"),
])
def test_evaluate_refuses_files_of_the_wrong_kind_before_scoring(tmp_path, capsys, no_long_work, make, needle):
    path = tmp_path / "s.npz"
    make(path)
    target = path if path.exists() else path.with_suffix(".npy")
    _refused(["evaluate", target], capsys, needle)


def test_evaluate_names_a_missing_file(tmp_path, capsys, no_long_work):
    _refused(["evaluate", tmp_path / "nothing.npz"], capsys, "no file", "genedu sample")


def test_showdown_refuses_zero_counts_and_a_zero_data_limit(tmp_path, capsys, no_long_work):
    base = ["showdown", "--images", "1000", "--out", tmp_path / "run"]
    for flag in ("--data-limit", "--seeds", "--samples", "--stages", "--ddim-samples", "--ddim-steps"):
        _refused(base + [flag, "0"], capsys, f"argument {flag}", "greater than 0")
    _refused(["showdown", "--images", "0", "--out", tmp_path / "run"], capsys, "argument --images")
    _refused(["showdown", "--minutes", "-1", "--out", tmp_path / "run"], capsys, "argument --minutes")
    _refused(["showdown", "--out", tmp_path / "run"], capsys, "one of the arguments --minutes --images is required")
    _refused(["showdown", "--images", "10", "--minutes", "1", "--out", tmp_path / "run"], capsys, "not allowed with")
    _refused(base + ["--only", "vae/huge"], capsys, "unknown contender")


def test_reference_refuses_bad_budgets(tmp_path, capsys, no_long_work):
    base = ["reference", "--model", "vae", "--preset", "conv", "--work", tmp_path / "work"]
    _refused(base, capsys, "give a budget")
    _refused(base + ["--epochs", "0"], capsys, "argument --epochs")
    _refused(base + ["--steps", "5", "--samples", "0"], capsys, "argument --samples")
    _refused(base + ["--steps", "5", "--out-dir", tmp_path / "no" / "dir"], capsys, "does not exist")


def test_unknown_command_and_argument_get_one_line(capsys, no_long_work):
    _refused(["fly"], capsys, "invalid choice: 'fly'")
    _refused(["train", "--model", "vae", "--steps", "1", "--out", "x.pt", "--bogus"], capsys,
             "unrecognized arguments: --bogus")


def test_train_classifier_does_not_replace_the_shipped_one_unless_asked(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_train_classifier(*, epochs, seed, out):
        calls.append(out)
        return {"out": str(out), "epochs": epochs}

    monkeypatch.setattr("genedu.evaluate.train_classifier", fake_train_classifier)
    _refused(["evaluate", "train-classifier"], capsys, "would overwrite the shipped classifier", "--out", "--force")
    assert calls == []
    assert main(["evaluate", "train-classifier", "--out", str(tmp_path), "--epochs", "1"]) == 0
    assert calls == [str(tmp_path)]
    assert main(["evaluate", "train-classifier", "--force"]) == 0
    assert calls[-1] is None  # None: the default, genedu/assets
    _refused(["evaluate", "train-classifier", "--epochs", "0", "--force"], capsys, "argument --epochs")
