import gzip
import hashlib
import struct
from pathlib import Path

import pytest
import torch

import genedu
from genedu import data as gdata
from genedu.data import MNISTError, load_mnist, prepare_mnist

N_FAKE = 12  # images per file in the fake MNIST the source-folder tests build


def _idx_bytes(name: str, n: int = N_FAKE) -> bytes:
    """A small but well-formed MNIST idx file: the real header layout, random pixels, labels 0..9."""
    g = torch.Generator().manual_seed(len(name))
    if "images" in name:
        body = torch.randint(0, 256, (n * 28 * 28,), generator=g, dtype=torch.uint8)
        return struct.pack(">IIII", 2051, n, 28, 28) + bytes(body.tolist())
    return struct.pack(">II", 2049, n) + bytes(torch.randint(0, 10, (n,), generator=g).tolist())


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A source folder of four small fake MNIST files (.gz), built here, with genedu's expected sizes and
    checksums switched to theirs: the verification, extraction and cleanup code runs for real on every
    machine, without the 11 MB of real MNIST. Returns (folder, {name: decompressed bytes})."""
    raw = {name: _idx_bytes(name) for name in gdata.MNIST_FILES}
    monkeypatch.setattr(gdata, "MNIST_FILES", {n: (len(b), hashlib.sha256(b).hexdigest()) for n, b in raw.items()})
    src = tmp_path / "src"
    src.mkdir()
    for name, b in raw.items():
        (src / f"{name}.gz").write_bytes(gzip.compress(b))
    return src, raw


def test_splits_have_the_documented_sizes_and_labels(train_data):
    test = load_mnist("test")
    val = load_mnist("val")
    full = load_mnist("train_full")
    assert (len(train_data), len(val), len(full), len(test)) == (55_000, 5_000, 60_000, 10_000)
    assert full.images.dtype == torch.uint8 and full.images.shape == (60_000, 28, 28)
    # the figures in ../shared/data/mnist/README.md
    assert torch.bincount(full.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x01 = full.images.float() / 255
    assert x01.mean().item() == pytest.approx(0.1307, abs=1e-4)
    assert x01.std().item() == pytest.approx(0.3081, abs=1e-4)


def test_validation_split_is_fixed_and_disjoint(train_data):
    val = load_mnist("val")
    full = load_mnist("train_full")
    # every image of train and val is a training image, and together they are all of them
    key = lambda d: {bytes(img.numpy()) for img in d.images[:2000]}  # noqa: E731
    assert not key(val) & {bytes(img.numpy()) for img in train_data.images}
    assert len(train_data) + len(val) == len(full)
    assert torch.equal(load_mnist("val").labels, val.labels)  # the same images every time


def test_float_scaling_is_minus_one_to_one(train_data):
    x = train_data.float(torch.arange(256))
    assert x.shape == (256, 1, 28, 28) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_batches_replay_an_epoch_exactly_and_differ_between_epochs(small_train):
    a = [y for _, y in small_train.batches(128, seed=3, epoch=1)]
    b = [y for _, y in small_train.batches(128, seed=3, epoch=1)]
    c = [y for _, y in small_train.batches(128, seed=3, epoch=2)]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(torch.cat(a), torch.cat(c))
    assert len(a) == 2048 // 128
    # `start` skips batches: resuming mid-epoch sees the same remaining batches
    rest = [y for _, y in small_train.batches(128, seed=3, epoch=1, start=5)]
    assert all(torch.equal(p, q) for p, q in zip(rest, a[5:]))
    # an epoch visits every image once
    xs = torch.cat([x for x, _ in small_train.batches(128, seed=0, drop_last=False)])
    assert xs.shape[0] == 2048
    assert torch.allclose(xs.sum(0), small_train.float().sum(0), atol=1e-3)


def test_binarize_draws_pixels_with_their_intensity():
    x = torch.full((64, 1, 28, 28), 0.5)  # intensity 0.75 on the [0, 1] scale
    b = gdata.binarize(x, generator=torch.Generator().manual_seed(0))
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert b.mean().item() == pytest.approx(0.75, abs=0.01)


def test_extracts_from_a_gz_source_folder(tmp_path, fake_source):
    src, raw = fake_source
    root = prepare_mnist(tmp_path / "root", source=src)
    assert sorted(p.name for p in root.iterdir()) == sorted(raw)
    assert all((root / name).read_bytes() == b for name, b in raw.items())
    test = load_mnist("test", tmp_path / "root")
    assert len(test) == N_FAKE and test.images.shape == (N_FAKE, 28, 28)


def test_extracts_from_a_raw_source_folder(tmp_path, fake_source):
    src, raw = fake_source
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # two raw, two still gzipped
        (src / f"{name}.gz").unlink()
        (src / name).write_bytes(raw[name])
    test = load_mnist("test", tmp_path / "root", source=src)
    assert len(test) == N_FAKE and bytes(test.labels.to(torch.uint8).tolist()) == raw["t10k-labels-idx1-ubyte"][8:]


def test_source_folder_lacking_a_file_names_it(tmp_path, fake_source):
    src, _ = fake_source
    (src / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTError, match="lacks t10k-labels-idx1-ubyte"):
        prepare_mnist(tmp_path / "root", source=src)


def test_corrupted_file_is_named_with_its_expected_checksum_and_nothing_half_written(tmp_path, fake_source):
    src, raw = fake_source
    bad = bytearray(raw["train-labels-idx1-ubyte"])
    bad[10] ^= 0xFF  # one flipped byte, same size
    (src / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(bad)))
    root = tmp_path / "root"
    with pytest.raises(MNISTError) as e:
        prepare_mnist(root, source=src)
    msg = str(e.value)
    assert "train-labels-idx1-ubyte" in msg and "corrupted" in msg
    assert gdata.MNIST_FILES["train-labels-idx1-ubyte"][1] in msg  # the expected checksum, to compare against
    raw_dir = root / "MNIST" / "raw"
    leftovers = [p.name for p in raw_dir.iterdir()] if raw_dir.exists() else []
    assert "train-labels-idx1-ubyte" not in leftovers
    assert not [n for n in leftovers if n.endswith(".part")]


def test_truncated_file_is_named(tmp_path, fake_source):
    src, _ = fake_source
    gz = src / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    with pytest.raises(MNISTError, match="t10k-images-idx3-ubyte.*(truncated|corrupted)"):
        prepare_mnist(tmp_path / "root", source=src)
    assert not list((tmp_path / "root").rglob("*.part"))
    assert not (tmp_path / "root" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


def test_an_extraction_that_fails_midway_leaves_nothing_half_written(tmp_path, fake_source, monkeypatch):
    src, _ = fake_source
    calls = []
    real_verify = gdata.verify_file

    def verify_then_fail_on_the_copy(path, name):
        calls.append(Path(path).name)
        if Path(path).name.endswith(".part"):  # the copy is written, then found bad (a disk error, say)
            raise MNISTError(f"simulated failure checking {path}")
        real_verify(path, name)

    monkeypatch.setattr(gdata, "verify_file", verify_then_fail_on_the_copy)
    with pytest.raises(MNISTError, match="simulated failure"):
        prepare_mnist(tmp_path / "root", source=src)
    assert any(n.endswith(".part") for n in calls)  # the failure came after a temporary file was written
    raw_dir = tmp_path / "root" / "MNIST" / "raw"
    assert list(raw_dir.iterdir()) == []  # neither the temporary file nor a half-verified file is left


def test_a_file_corrupted_in_the_root_is_caught_on_load(tmp_path, fake_source):
    src, _ = fake_source
    prepare_mnist(tmp_path / "root", source=src)
    f = tmp_path / "root" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    f.write_bytes(f.read_bytes()[:-3])
    with pytest.raises(MNISTError, match="t10k-labels-idx1-ubyte"):
        load_mnist("test", tmp_path / "root")


def test_no_files_and_no_network_explains_every_route(tmp_path, monkeypatch):
    monkeypatch.delenv("GENEDU_MNIST_SOURCE", raising=False)

    def offline(root):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(gdata, "_download_with_torchvision", offline)
    with pytest.raises(MNISTError) as e:
        load_mnist("train", tmp_path / "empty")
    msg = str(e.value)
    for needle in ("train-images-idx3-ubyte", "GENEDU_MNIST_SOURCE", "download failed", "Network is unreachable"):
        assert needle in msg
    with pytest.raises(MNISTError, match="download=False"):
        load_mnist("train", tmp_path / "empty", download=False)


def test_missing_source_folder_is_named(tmp_path):
    with pytest.raises(MNISTError, match="does not exist"):
        prepare_mnist(tmp_path / "root", source=tmp_path / "nowhere")


def test_root_comes_from_argument_then_env_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GENEDU_DATA", str(tmp_path / "env"))
    assert gdata.data_root() == tmp_path / "env"
    assert gdata.data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("GENEDU_DATA")
    assert gdata.data_root() == Path("data")


def test_unknown_split_and_bad_batch_size(train_data):
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="batch_size"):
        next(train_data.batches(0))


def test_public_names_are_reexported():
    for name in ("load_mnist", "fit", "VAE", "load_model", "History", "TrainingDiverged"):
        assert hasattr(genedu, name)


# ---- bad data roots and source folders: the class, each way a path can be of the wrong kind ---------

def _a_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("make_root, needle", [
    (lambda t: _a_file(t / "root"), "is a file, but a folder was expected"),
    (lambda t: _a_file(t / "file") / "root", "cannot be a folder"),
    (lambda t: _a_file(t / "root" / "MNIST") and t / "root", "as a file, where genedu keeps MNIST in a folder"),
    (lambda t: _a_file(t / "root" / "MNIST" / "raw") and t / "root", "as a file"),
])
def test_a_data_root_of_the_wrong_kind_is_named_before_anything_is_read(tmp_path, fake_source, make_root,
                                                                        needle, monkeypatch):
    root = make_root(tmp_path)
    monkeypatch.setattr(gdata, "verify_file", lambda *a: pytest.fail("a file was read although the root is bad"))
    with pytest.raises(MNISTError, match="a folder") as e:
        load_mnist("test", root, source=fake_source[0])
    assert needle in str(e.value) and str(root) in str(e.value)
    monkeypatch.setenv("GENEDU_DATA", str(root))  # the same through the environment names the variable
    with pytest.raises(MNISTError, match=r"\$GENEDU_DATA") as e:
        load_mnist("test", source=fake_source[0])
    assert needle in str(e.value) and "set GENEDU_DATA" in str(e.value)


def test_a_folder_where_an_mnist_file_belongs_is_named(tmp_path, fake_source):
    (tmp_path / "root" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").mkdir(parents=True)
    with pytest.raises(MNISTError, match="t10k-images-idx3-ubyte is a folder, but the MNIST file"):
        load_mnist("test", tmp_path / "root", source=fake_source[0])


def test_an_unwritable_root_is_refused_when_files_must_be_written_and_fine_when_complete(tmp_path, fake_source,
                                                                                       monkeypatch):
    """A root that cannot take the extracted files is refused before extraction, naming the root; a read-only
    root that already holds every file serves them. Tests may run as root, whom file permissions do not
    stop, so the refusal the operating system would give is planted."""
    import tempfile

    read_only = {tmp_path / "root", tmp_path / "complete"}
    real = tempfile.TemporaryFile

    def temporary_file(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) in read_only:
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    (tmp_path / "root").mkdir()
    with monkeypatch.context() as m:
        m.setattr(gdata, "_extract", lambda *a: pytest.fail("extraction started"))
        m.setattr("genedu.utils.tempfile.TemporaryFile", temporary_file)
        with pytest.raises(MNISTError, match="is not writable") as e:
            load_mnist("test", tmp_path / "root", source=fake_source[0])
    assert str(tmp_path / "root") in str(e.value) and "must be written" in str(e.value)

    prepare_mnist(tmp_path / "complete", source=fake_source[0])  # every file there, then it turns read-only
    monkeypatch.setattr("genedu.utils.tempfile.TemporaryFile", temporary_file)
    assert len(load_mnist("test", tmp_path / "complete")) == N_FAKE


@pytest.mark.parametrize("kind", ["a file", "missing"])
def test_a_source_folder_of_the_wrong_kind_is_named(tmp_path, monkeypatch, kind):
    src = _a_file(tmp_path / "src") if kind == "a file" else tmp_path / "no-src"
    needle = "is a file, but a folder holding the four MNIST files" if kind == "a file" else "does not exist"
    with pytest.raises(MNISTError, match=needle):
        prepare_mnist(tmp_path / "root", source=src)
    monkeypatch.setenv("GENEDU_MNIST_SOURCE", str(src))
    with pytest.raises(MNISTError, match=r"\(\$GENEDU_MNIST_SOURCE\).*" + needle):
        prepare_mnist(tmp_path / "root")


def test_a_write_that_fails_during_extraction_is_an_mnist_error_and_leaves_nothing(tmp_path, fake_source,
                                                                                   monkeypatch):
    def disk_full(fin, fout, length=0):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gdata.shutil, "copyfileobj", disk_full)
    with pytest.raises(MNISTError, match="No space left on device.*free some space"):
        prepare_mnist(tmp_path / "root", source=fake_source[0])
    assert [p.name for p in (tmp_path / "root" / "MNIST" / "raw").iterdir()] == []


def test_every_valid_seed_orders_every_epoch():
    """Seeds up to 2**63 - 1 are valid (utils.check_seed); each epoch's order is drawn from a seed derived
    from it, which must stay in torch's range too. Small seeds keep the order they always had."""
    from genedu.utils import MAX_SEED

    big = gdata.epoch_permutation(100, seed=MAX_SEED, epoch=7)
    assert sorted(big.tolist()) == list(range(100))
    assert torch.equal(gdata.epoch_permutation(100, seed=3, epoch=2),
                       torch.randperm(100, generator=torch.Generator().manual_seed(3 * 1_000_003 + 2)))
