import gzip
import os
import shutil
from pathlib import Path

import pytest
import torch

import genedu
from genedu import data as gdata
from genedu.data import MNIST_FILES, MNISTError, load_mnist, prepare_mnist

SOURCE = Path(os.environ.get("GENEDU_MNIST_SOURCE", "")) if os.environ.get("GENEDU_MNIST_SOURCE") else None
needs_source = pytest.mark.skipif(SOURCE is None or not SOURCE.is_dir(),
                                  reason="needs $GENEDU_MNIST_SOURCE (the four MNIST files)")


def _copy_source(tmp: Path, skip: str | None = None) -> Path:
    """A source folder in tmp holding links to the four standard .gz files (less `skip`)."""
    src = tmp / "src"
    src.mkdir()
    for name in MNIST_FILES:
        if name != skip:
            (src / f"{name}.gz").symlink_to(SOURCE / f"{name}.gz")
    return src


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


@needs_source
def test_extracts_from_a_gz_source_folder(tmp_path):
    src = _copy_source(tmp_path)
    raw = prepare_mnist(tmp_path / "root", source=src)
    assert sorted(p.name for p in raw.iterdir()) == sorted(MNIST_FILES)
    assert len(load_mnist("test", tmp_path / "root")) == 10_000


@needs_source
def test_extracts_from_a_raw_source_folder(tmp_path):
    src = tmp_path / "rawsrc"
    src.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(SOURCE / f"{name}.gz") as f, open(src / name, "wb") as g:
            shutil.copyfileobj(f, g)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (src / f"{name}.gz").symlink_to(SOURCE / f"{name}.gz")
    assert len(load_mnist("test", tmp_path / "root", source=src)) == 10_000


@needs_source
def test_source_folder_lacking_a_file_names_it(tmp_path):
    src = _copy_source(tmp_path, skip="t10k-labels-idx1-ubyte")
    with pytest.raises(MNISTError, match="lacks t10k-labels-idx1-ubyte"):
        prepare_mnist(tmp_path / "root", source=src)


@needs_source
def test_corrupted_file_is_named_with_its_expected_checksum_and_nothing_half_written(tmp_path):
    src = _copy_source(tmp_path, skip="train-labels-idx1-ubyte")
    raw = gzip.decompress((SOURCE / "train-labels-idx1-ubyte.gz").read_bytes())
    bad = bytearray(raw)
    bad[100] ^= 0xFF  # one flipped byte, same size
    (src / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(bad)))
    root = tmp_path / "root"
    with pytest.raises(MNISTError) as e:
        prepare_mnist(root, source=src)
    msg = str(e.value)
    assert "train-labels-idx1-ubyte" in msg and "corrupted" in msg and MNIST_FILES["train-labels-idx1-ubyte"][1] in msg
    raw_dir = root / "MNIST" / "raw"
    leftovers = [p.name for p in raw_dir.iterdir()] if raw_dir.exists() else []
    assert "train-labels-idx1-ubyte" not in leftovers
    assert not [n for n in leftovers if n.endswith(".part")]


@needs_source
def test_truncated_file_is_named(tmp_path):
    src = _copy_source(tmp_path, skip="t10k-images-idx3-ubyte")
    data = (SOURCE / "t10k-images-idx3-ubyte.gz").read_bytes()
    (src / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(MNISTError, match="t10k-images-idx3-ubyte.*(truncated|corrupted)"):
        prepare_mnist(tmp_path / "root", source=src)
    assert not list((tmp_path / "root").rglob("*.part"))


@needs_source
def test_a_file_corrupted_in_the_root_is_caught_on_load(tmp_path):
    prepare_mnist(tmp_path / "root", source=_copy_source(tmp_path))
    f = tmp_path / "root" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
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
