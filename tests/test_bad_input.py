"""Bad input by class (issue 27, part 4), each class tried in several forms: a data root of the wrong kind,
a sample count that is not positive or cannot fit, an .npz whose fields are of the wrong kind, a seed
outside 0..2**63 - 1. The CLI answers each with status 2 and one line, before any long work starts (every
test here replaces that work with a function that fails if reached); the library raises a ValueError or
an MNISTError that says what was expected.
"""

import numpy as np
import pytest
import torch

import genedu
from genedu.cli import main
from genedu.utils import MAX_SEED, check_seed


def _never(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} started although the input was bad")
    return fail


@pytest.fixture
def no_long_work(monkeypatch):
    """Loading data or a model, training, sampling, scoring and the showdown all fail the test if reached."""
    monkeypatch.setattr("genedu.data.load_mnist", _never("loading MNIST"))
    monkeypatch.setattr("genedu.data._extract", _never("extracting MNIST"))
    monkeypatch.setattr("genedu.train.fit", _never("training"))
    monkeypatch.setattr("genedu.evaluate.evaluate_samples", _never("scoring"))
    monkeypatch.setattr("genedu.evaluate.train_classifier", _never("training the classifier"))
    monkeypatch.setattr("genedu.showdown.showdown", _never("the showdown"))
    monkeypatch.setattr("genedu.reference.make_reference", _never("making a reference"))
    monkeypatch.setattr("genedu.reference.load_reference", _never("loading a reference"))
    monkeypatch.setattr("genedu.checkpoint.load_model", _never("loading a checkpoint"))
    monkeypatch.setattr("genedu.sampling.sample_batches", _never("sampling"))


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
def good_npz(tmp_path):
    path = tmp_path / "good.npz"
    np.savez(path, samples=np.zeros((8, 1, 28, 28), np.float32))
    return path


# ---- a data root or source folder of the wrong kind, through every command that reads MNIST --------

def _bad_roots(tmp):
    (tmp / "a-file").write_text("")
    (tmp / "holds-mnist-file").mkdir()
    (tmp / "holds-mnist-file" / "MNIST").write_text("")
    return {"a file": (tmp / "a-file", "is a file, but a folder was expected"),
            "under a file": (tmp / "a-file" / "data", "cannot be a folder"),
            "MNIST/ is a file": (tmp / "holds-mnist-file", "where genedu keeps MNIST in a folder")}


@pytest.mark.parametrize("kind", ["a file", "under a file", "MNIST/ is a file"])
def test_every_command_that_reads_mnist_refuses_a_bad_data_root_first(tmp_path, capsys, no_long_work,
                                                                      monkeypatch, good_npz, kind):
    root, needle = _bad_roots(tmp_path)[kind]
    _refused(["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "x.pt", "--data", root], capsys,
             "genedu train: error:", needle, str(root))
    monkeypatch.setenv("GENEDU_DATA", str(root))
    for argv in (["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "x.pt"],
                 ["evaluate", good_npz],
                 ["showdown", "--images", "128", "--out", tmp_path],
                 ["reference", "--model", "vae", "--preset", "seed", "--steps", "2", "--work", tmp_path]):
        _refused(argv, capsys, needle, "$GENEDU_DATA", "set GENEDU_DATA to one")


def test_a_source_folder_that_is_a_file_is_refused_before_training(tmp_path, capsys, no_long_work, monkeypatch):
    (tmp_path / "src").write_text("")
    monkeypatch.setenv("GENEDU_DATA", str(tmp_path / "empty-root"))  # nothing extracted yet: the source is needed
    monkeypatch.setenv("GENEDU_MNIST_SOURCE", str(tmp_path / "src"))
    _refused(["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "x.pt"], capsys,
             "($GENEDU_MNIST_SOURCE)", "is a file, but a folder holding the four MNIST files")


# ---- --n: not positive, or too big for the disk; big but possible n drawn a batch at a time ----------

@pytest.mark.parametrize("n, needle", [("0", "greater than 0"), ("-5", "greater than 0"), ("1e3", "got '1e3'"),
                                       (str(10**13), "GB free")])
def test_sample_refuses_a_count_that_is_not_positive_or_cannot_fit(tmp_path, capsys, no_long_work, n, needle):
    _refused(["sample", "--model", "gan", "--reference", "--n", n, "--out", tmp_path / "s.npz"], capsys,
             "--n", needle)
    assert list(tmp_path.iterdir()) == []


def test_sample_writes_a_batch_at_a_time_the_same_samples_as_drawn_in_one_go(tmp_path, capsys, monkeypatch):
    """Memory holds one batch: the model is never asked for more than --batch-size at once, and what is
    written equals draw_samples' all-in-memory result for the same seed."""
    ckpt = tmp_path / "vae.pt"
    model = genedu.VAE.from_preset("seed")
    genedu.save_checkpoint(ckpt, model)
    asked, real = [], genedu.VAE.sample

    def spy(self, n, **kw):
        asked.append(n)
        return real(self, n, **kw)

    monkeypatch.setattr(genedu.VAE, "sample", spy)
    out = tmp_path / "s.npz"
    assert main(["sample", "--model", "vae", "--checkpoint", str(ckpt), "--n", "23", "--batch-size", "5",
                 "--out", str(out), "--seed", "3", "--device", "cpu"]) == 0
    assert asked == [5, 5, 5, 5, 3]
    f = np.load(out)
    assert f["samples"].shape == (23, 1, 28, 28) and f["samples"].dtype == np.float32 and f["seconds"].shape == ()
    from genedu.sampling import draw_samples

    expected = draw_samples(model.eval(), 23, generator=torch.Generator().manual_seed(3), batch_size=5).images
    assert np.array_equal(f["samples"], expected.numpy())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_running_out_of_memory_names_the_batch_size_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "vae.pt"
    genedu.save_checkpoint(ckpt, genedu.VAE.from_preset("seed"))

    def oom(self, n, **kw):
        raise RuntimeError(f"[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                           f"you tried to allocate {n * 10**9} bytes")

    monkeypatch.setattr(genedu.VAE, "sample", oom)
    _refused(["sample", "--model", "vae", "--checkpoint", ckpt, "--n", "50", "--batch-size", "20", "--out",
              tmp_path / "s.npz", "--device", "cpu"], capsys, "out of memory drawing 20 samples", "lower --batch-size")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vae.pt"]


# ---- .npz fields of the wrong kind: every field evaluate reads -----------------------------------------

S = np.zeros((8, 1, 28, 28), np.float32)


@pytest.mark.parametrize("arrays, needles", [
    ({"samples": np.full((8, 1, 28, 28), "0.5")}, ["samples must be floats", "strings"]),
    ({"samples": np.full((8, 1, 28, 28), b"x")}, ["samples must be floats", "bytes"]),
    ({"samples": S.astype(np.complex64)}, ["samples", "complex numbers"]),
    ({"samples": np.zeros((8, 1, 28, 28), bool)}, ["samples must be floats"]),
    ({"samples": np.full((8, 1, 28, 28), np.inf, np.float32)}, ["NaN or inf"]),
    ({"samples": np.zeros((8, 784), np.float32)}, ["shape (N, 1, 28, 28)", "(8, 784)"]),
    ({"samples": S, "labels": np.array(list("01234567"))}, ["labels must be whole numbers 0..9", "strings"]),
    ({"samples": S, "labels": np.ones(8, bool)}, ["labels", "booleans"]),
    ({"samples": S, "labels": np.full(8, np.nan)}, ["labels", "NaN or inf"]),
    ({"samples": S, "labels": np.full(8, 1e30)}, ["labels must be digits 0..9", "1e+30"]),
    ({"samples": S, "labels": np.zeros((8, 2), np.int64)}, ["one class per sample", "(8, 2)"]),
    ({"samples": S, "seconds": np.array([1.0, 2.0])}, ["seconds must be one number", "shape (2,)"]),
    ({"samples": S, "seconds": np.array("fast")}, ["seconds must be one number", "strings"]),
    ({"samples": S, "seconds": np.float64(np.nan)}, ["seconds must be a finite number of at least 0"]),
    ({"samples": S, "seconds": np.float64(-2.0)}, ["seconds must be a finite number of at least 0"]),
])
def test_evaluate_checks_every_field_it_reads(tmp_path, capsys, no_long_work, arrays, needles):
    path = tmp_path / "s.npz"
    np.savez(path, **arrays)
    _refused(["evaluate", path], capsys, "genedu evaluate: error:", *needles)


def test_several_files_are_all_checked_before_any_is_scored_and_the_bad_one_named(tmp_path, capsys, no_long_work,
                                                                                  good_npz):
    bad = tmp_path / "bad.npz"
    np.savez(bad, samples=S, seconds=np.array([1.0, 2.0]))
    _refused(["evaluate", good_npz, bad], capsys, f"{bad}: seconds must be one number")
    _refused(["evaluate", good_npz, "train-classifier"], capsys, "train-classifier is a command of its own")


def test_evaluate_names_an_array_of_python_objects(tmp_path, capsys, no_long_work):
    path = tmp_path / "s.npz"
    np.savez(path, samples=S, labels=np.array([0, 1, "2", None, 4, 5, 6, 7], dtype=object))
    _refused(["evaluate", path], capsys, "the array 'labels' cannot be read", "numbers only")


def test_evaluate_accepts_the_fields_it_checks_when_they_are_right(tmp_path, capsys, monkeypatch):
    """The checks refuse only what is wrong: integer labels, a float32 scalar of seconds, (N, 28, 28) samples
    and an unread extra array reach the scoring unchanged."""
    seen = {}

    def fake_evaluate(samples, *, labels, sample_seconds, with_calibration, name):
        seen.update(samples=samples, labels=labels, seconds=sample_seconds)
        return genedu.evaluate.Report({"n": len(samples)})

    monkeypatch.setattr("genedu.evaluate.evaluate_samples", fake_evaluate)
    path = tmp_path / "s.npz"
    np.savez(path, samples=np.zeros((10, 28, 28), np.float64), labels=np.arange(10, dtype=np.uint8),
             seconds=np.float32(1.5), sample_options=np.array('{"prior": "mixture"}'))
    assert main(["evaluate", str(path), "--json"]) == 0
    assert seen["samples"].shape == (10, 1, 28, 28) and seen["labels"].tolist() == list(range(10))
    assert seen["seconds"] == 1.5


# ---- seeds outside 0..2**63 - 1, for every command that takes one, and in the library -----------------

BAD_SEEDS = ["-1", str(2**63), str(2**64), "1.5", "seven"]


@pytest.mark.parametrize("value", BAD_SEEDS)
def test_every_command_refuses_a_seed_outside_the_range(tmp_path, capsys, no_long_work, value):
    for argv in (["train", "--model", "vae", "--steps", "2", "--out", tmp_path / "x.pt"],
                 ["sample", "--model", "vae", "--reference", "--out", tmp_path / "s.npz"],
                 ["reference", "--model", "vae", "--preset", "seed", "--steps", "2", "--work", tmp_path],
                 ["evaluate", "train-classifier", "--out", tmp_path]):
        line = _refused([*argv, "--seed", value], capsys, "argument --seed", "0 to 2**63 - 1", repr(value))
        assert line.startswith(f"genedu {argv[0]}: error:")


def test_the_largest_seed_is_accepted(tmp_path, capsys):
    ckpt = tmp_path / "vae.pt"
    genedu.save_checkpoint(ckpt, genedu.VAE.from_preset("seed"))
    assert main(["sample", "--model", "vae", "--checkpoint", str(ckpt), "--n", "4", "--out", str(tmp_path / "s.npz"),
                 "--seed", str(MAX_SEED), "--device", "cpu"]) == 0


@pytest.mark.parametrize("value", [-1, 2**63, 2**64, 1.5, "0", True, None])
def test_library_seeds_are_checked(value):
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*63 - 1"):
        genedu.seed_everything(value)
    with pytest.raises(ValueError, match="my_seed must be"):
        check_seed(value, what="my_seed")


def test_fit_refuses_a_bad_seed_before_training(small_train):
    model = genedu.VAE.from_preset("seed")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"0 to 2\*\*63 - 1"):
        genedu.fit(model, small_train, steps=2, seed=2**64, device="cpu", progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # not one step taken
    assert check_seed(np.int64(7)) == 7 and check_seed(MAX_SEED) == MAX_SEED


def test_make_reference_and_fit_check_the_seed_before_any_work(tmp_path):
    """A library caller's seed out of 0..2**63-1 is named before data loading or training starts."""
    import genedu
    from genedu.models.vae import VAE
    from genedu.reference import make_reference

    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*63 - 1"):
        make_reference("vae", "seed", work=tmp_path, command="test", seed=2**63, steps=1)
    data = genedu.data.MNIST(torch.zeros(8, 28, 28, dtype=torch.uint8), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match="grid_seed must be"):
        genedu.fit(VAE.from_preset("seed"), data, steps=1, batch_size=4, grid_seed=-1, progress=False)
