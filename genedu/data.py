"""MNIST for genedu: find, verify, extract or download; hold it in memory; serve batches.

Where the files come from, in order:
1. ``<root>/MNIST/raw/`` already holds the four decompressed files (torchvision's layout, so
   ``torchvision.datasets.MNIST(root)`` reads the same folder);
2. a local source folder (the ``source`` argument, else ``$GENEDU_MNIST_SOURCE``) holding the four
   standard files, gzip-compressed or raw: each is verified and extracted into the root;
3. torchvision downloads them (Colab, a laptop with a network).

``root`` is the argument, else ``$GENEDU_DATA``, else ``./data``.

Every file is verified (size and sha256 of the decompressed bytes). Extraction writes to a
temporary name and renames, so an interrupted or failed extraction leaves nothing half-written.

In memory, images are kept as uint8 ``(N, 28, 28)`` and served as float ``(B, 1, 28, 28)`` in
[-1, 1]; batches are drawn from a seeded permutation, on the chosen device, with no per-image
PIL transform and no DataLoader workers (the main speed lever on a laptop CPU).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

# name -> (decompressed size in bytes, sha256 of the decompressed bytes)
MNIST_FILES = {
    "train-images-idx3-ubyte": (47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
VAL_SIZE = 5_000  # images held out of the 60,000 training images, the same ones for every run
VAL_SEED = 20_260_101  # seed of the fixed permutation that picks them
SPLITS = ("train", "val", "train_full", "test")

_HELP = (
    "genedu looks for MNIST in <root>/MNIST/raw (root: the `root` argument, else $GENEDU_DATA, "
    "else ./data); where it is missing, in a source folder holding the four standard files "
    "(the `source` argument, else $GENEDU_MNIST_SOURCE), e.g. `export GENEDU_MNIST_SOURCE=/path/to/mnist`; "
    "else torchvision downloads them (needs a network)."
)


class MNISTError(RuntimeError):
    """MNIST could not be found, verified or extracted; the message says what to do."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $GENEDU_DATA, else ./data."""
    return Path(root if root is not None else os.environ.get("GENEDU_DATA") or "data").expanduser()


def _root_named(root) -> str:
    """How the data root was chosen, so an error says which setting to change."""
    if root is not None:
        return "the data root"
    if os.environ.get("GENEDU_DATA"):
        return "the data root ($GENEDU_DATA)"
    return "the data root (default ./data)"


def check_data_root(root: str | os.PathLike | None = None, *, source: str | os.PathLike | None = None) -> Path:
    """Check, before any data is read, that MNIST can be served from `root`; return ``<root>/MNIST/raw``.

    Each folder of ``<root>/MNIST/raw`` that exists must be a folder, and each MNIST file in it a file.
    When a file is missing it will be written, so the root must be a folder that can be created and
    written; and a source folder that is set (`source`, else $GENEDU_MNIST_SOURCE) must be a folder.
    Every failure is an MNISTError naming the path, what was found and what to do.
    """
    base = data_root(root)
    named = _root_named(root)
    fix = ("pass a folder as the data root (--data, or the `root` argument) or set GENEDU_DATA to one"
           if root is None else "pass a folder as the data root")
    raw = base / "MNIST" / "raw"
    for folder in (*reversed(base.parents), base, base / "MNIST", raw):
        if folder.exists() and not folder.is_dir():
            if folder == base:
                raise MNISTError(f"{named} {base} is a file, but a folder was expected; {fix}")
            if folder in base.parents:
                raise MNISTError(f"{named} {base} cannot be a folder: {folder} is a file; {fix}")
            raise MNISTError(f"{named} {base} holds {folder} as a file, where genedu keeps MNIST in a folder; "
                             f"move that file away, or {fix}")
    for name in MNIST_FILES:
        if (raw / name).exists() and not (raw / name).is_file():
            raise MNISTError(f"{raw / name} is a folder, but the MNIST file {name} was expected there; "
                             "remove it and run again (the file is then extracted or downloaded)")
    missing = [n for n in MNIST_FILES if not (raw / n).is_file()]
    if not missing:
        return raw  # a read-only root that holds every file is fine
    from .utils import check_writable

    try:
        check_writable(raw, what=f"{named} {base}: the folder", folder=True)
    except ValueError as e:
        raise MNISTError(f"{e}. MNIST's files ({', '.join(missing)}) are missing there and must be written; "
                         f"{fix} that you can write to") from None
    src = source if source is not None else os.environ.get("GENEDU_MNIST_SOURCE")
    if src:
        src_named = "MNIST source folder" + ("" if source is not None else " ($GENEDU_MNIST_SOURCE)")
        src = Path(src).expanduser()
        if not src.exists():
            raise MNISTError(f"{src_named} {src} does not exist. {_HELP}")
        if not src.is_dir():
            raise MNISTError(f"{src_named} {src} is a file, but a folder holding the four MNIST files was "
                             f"expected. {_HELP}")
    return raw


def _sha256_and_size(path: Path) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def verify_file(path: Path, name: str) -> None:
    """Check one file (raw or .gz) against the expected size and sha256; raise MNISTError if not."""
    size, sha = MNIST_FILES[name]
    try:
        got_sha, got_size = _sha256_and_size(path)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise MNISTError(
            f"{path} cannot be read ({type(e).__name__}: {e}). It is truncated or not a gzip/raw MNIST file. "
            f"Expected {name}: {size:,} bytes decompressed, sha256 {sha}. Replace it with an intact copy."
        ) from e
    if got_size != size or got_sha != sha:
        raise MNISTError(
            f"{path} is corrupted: expected {size:,} bytes with sha256 {sha}, "
            f"found {got_size:,} bytes with sha256 {got_sha}. Replace it with an intact copy "
            f"(delete it and run again to re-extract or re-download)."
        )


def _find_in_source(source: Path, name: str) -> Path | None:
    for candidate in (source / name, source / f"{name}.gz", source / "MNIST" / "raw" / name,
                      source / "MNIST" / "raw" / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _extract(src: Path, dest: Path, name: str) -> None:
    """Verify `src` and copy/decompress it to `dest` by write-then-rename."""
    verify_file(src, name)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest.parent)
    except OSError as e:
        raise MNISTError(f"cannot write {dest} ({type(e).__name__}: {e}); choose a data root you can write to "
                         "(--data, or GENEDU_DATA)") from e
    try:
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        verify_file(Path(tmp), name)
        os.replace(tmp, dest)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):  # e.g. the disk filled up: nothing half-written is left behind
            raise MNISTError(f"cannot write {dest} ({type(e).__name__}: {e}); free some space there or choose "
                             "another data root (--data, or GENEDU_DATA)") from e
        raise


def _download_with_torchvision(root: Path) -> None:  # the network route; replaced in tests
    from torchvision.datasets import MNIST

    MNIST(str(root), train=True, download=True)
    MNIST(str(root), train=False, download=True)


def prepare_mnist(root: str | os.PathLike | None = None, *, source: str | os.PathLike | None = None,
                  download: bool = True) -> Path:
    """Make sure ``<root>/MNIST/raw`` holds the four verified files; return that folder."""
    raw = check_data_root(root, source=source)  # paths of the wrong kind fail here, before any reading
    missing = [n for n in MNIST_FILES if not (raw / n).is_file()]
    if not missing:
        return raw
    src = source if source is not None else os.environ.get("GENEDU_MNIST_SOURCE")
    if src:
        src = Path(src).expanduser()
        found = {n: _find_in_source(src, n) for n in missing}
        lacking = [n for n, p in found.items() if p is None]
        if lacking:
            raise MNISTError(
                f"MNIST source folder {src} lacks {', '.join(lacking)} (as raw files or .gz). "
                f"It must hold the four standard files: {', '.join(MNIST_FILES)}. {_HELP}"
            )
        for n, p in found.items():
            _extract(p, raw / n, n)
        return raw
    if not download:
        raise MNISTError(f"MNIST is not in {raw} (missing {', '.join(missing)}) and download=False. {_HELP}")
    try:
        _download_with_torchvision(data_root(root))
    except Exception as e:  # no network, a mirror down, ...
        raise MNISTError(
            f"MNIST is not in {raw} (missing {', '.join(missing)}), no source folder is set "
            f"($GENEDU_MNIST_SOURCE is empty) and the download failed ({type(e).__name__}: {e}). {_HELP}"
        ) from e
    for n in MNIST_FILES:  # torchvision checks the .gz md5; check the decompressed bytes too
        if not (raw / n).is_file():
            raise MNISTError(f"the download did not produce {raw / n}. {_HELP}")
    return raw


def _read_idx(path: Path, name: str) -> torch.Tensor:
    verify_file(path, name)
    data = path.read_bytes()
    header = 16 if "images" in name else 8
    t = torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8)
    return t.view(-1, 28, 28) if "images" in name else t.long()


@dataclass
class MNIST:
    """One split of MNIST in memory: uint8 images (N, 28, 28) and int64 labels (N,)."""

    images: torch.Tensor  # (N, 28, 28) uint8, 0..255
    labels: torch.Tensor  # (N,) int64, 0..9
    split: str = "train"

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"MNIST(split={self.split!r}, n={len(self)}, device={self.images.device})"

    def to(self, device: str | torch.device) -> "MNIST":
        """A copy on `device` (uint8 storage: all 60,000 images take 47 MB)."""
        return MNIST(self.images.to(device), self.labels.to(device), self.split)

    def subset(self, index) -> "MNIST":
        return MNIST(self.images[index], self.labels[index], self.split)

    def float(self, index=None) -> torch.Tensor:
        """Images as float (N, 1, 28, 28) in [-1, 1] (the scale every genedu model uses)."""
        x = self.images if index is None else self.images[index]
        return to_signed(x)

    def batches(self, batch_size: int = 128, *, seed: int = 0, epoch: int = 0, start: int = 0,
                drop_last: bool = True, device: str | torch.device | None = None):
        """Yield (x, y) batches of one epoch, x float (B, 1, 28, 28) in [-1, 1], y int64 (B,).

        The order is a permutation seeded by (seed, epoch), so any epoch can be replayed exactly;
        `start` skips the first `start` batches (used to resume mid-epoch). Images go to `device`
        once, as uint8, and are converted batch by batch.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        data = self if device is None else self.to(device)
        perm = epoch_permutation(len(self), seed=seed, epoch=epoch).to(data.images.device)
        n_batches = batches_per_epoch(len(self), batch_size, drop_last=drop_last)
        for b in range(start, n_batches):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            yield data.float(idx), data.labels[idx]


def batches_per_epoch(n: int, batch_size: int, *, drop_last: bool = True) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def epoch_permutation(n: int, *, seed: int, epoch: int) -> torch.Tensor:
    """The order of epoch `epoch` of a run seeded `seed`: the same on every machine. The generator's seed is
    kept below 2**63 so that any valid seed (0..2**63 - 1) works at any epoch (small ones are unchanged)."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
    return torch.randperm(n, generator=g)


def to_signed(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 28, 28) in 0..255 -> float (..., 1, 28, 28) in [-1, 1]."""
    return (x_uint8.float().div(127.5).sub(1.0)).unsqueeze(-3)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


def binarize(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic binarisation: each pixel is 1 with probability equal to its [0, 1] intensity.

    Takes images in [-1, 1] (genedu's scale) and returns {0, 1} floats; a fresh draw every call,
    the standard protocol for likelihoods on binarised MNIST.
    """
    p = to_unit(x).clamp(0, 1)
    return torch.bernoulli(p, generator=generator)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, *,
               source: str | os.PathLike | None = None, download: bool = True) -> MNIST:
    """Load one split into memory.

    split: "train" (55,000 images), "val" (5,000 held out of training, always the same ones),
    "train_full" (all 60,000) or "test" (10,000).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    raw = prepare_mnist(root, source=source, download=download)
    prefix = "t10k" if split == "test" else "train"
    images = _read_idx(raw / f"{prefix}-images-idx3-ubyte", f"{prefix}-images-idx3-ubyte")
    labels = _read_idx(raw / f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels-idx1-ubyte")
    data = MNIST(images, labels, split)
    if split in ("train", "val"):
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(VAL_SEED))
        idx = perm[:VAL_SIZE] if split == "val" else perm[VAL_SIZE:]
        data = MNIST(images[idx.sort().values], labels[idx.sort().values], split)
    return data
