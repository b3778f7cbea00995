"""The MNIST feature classifier: the one yardstick every genedu metric measures in.

ImageNet Inception features (the usual FID backbone) are a poor fit for 28x28 digits and need a
weight download; genedu trains its own small CNN instead (`genedu evaluate train-classifier`,
deterministic on CPU) and ships the weights in `genedu/assets/classifier.pt` with the command,
seed and measured test accuracy beside them in `classifier.json`. The 128-d penultimate layer
(`MNISTClassifier.features`) is the feature space of FID, KID, precision/recall, density/coverage
and memorisation; its logits give the classifier "Inception Score", class histograms and
conditional accuracy.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

from ..utils import eval_device

ASSETS = Path(__file__).resolve().parent.parent / "assets"
WEIGHTS = ASSETS / "classifier.pt"
META = ASSETS / "classifier.json"
FEATURE_DIM = 128  # size of the penultimate layer: the feature space of every metric


class MNISTClassifier(nn.Module):
    """conv5-pool, conv3-pool, conv3-pool (BatchNorm + ReLU), then 576 -> 128 -> 10. About 131k parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 3, 3)
        )
        self.fc = nn.Linear(64 * 3 * 3, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> (N, 128) penultimate features (after ReLU)."""
        return F.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> (N, 10) logits."""
        return self.head(self.features(x))


_CACHE: dict[str, MNISTClassifier] = {}


def load_classifier(device: str | torch.device | None = None) -> MNISTClassifier:
    """The shipped classifier in eval mode (cached per device). Raises FileNotFoundError with the fix."""
    device = torch.device(device or "cpu")
    key = str(device)
    if key not in _CACHE:
        if not WEIGHTS.exists():
            raise FileNotFoundError(f"the feature classifier weights {WEIGHTS} are missing; "
                                    "train them with `genedu evaluate train-classifier`")
        model = MNISTClassifier()
        state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        _CACHE[key] = model.eval().requires_grad_(False).to(device)
    return _CACHE[key]


def classifier_info() -> dict:
    """What `classifier.json` records: command, seed, epochs, test accuracy, torch version, time, machine."""
    return json.loads(META.read_text()) if META.exists() else {}


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def classifier_outputs(images: torch.Tensor, *, batch_size: int = 1000, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, 128), logits (N, 10)) on the CPU for images (N, 1, 28, 28) in [-1, 1].

    The classifier runs on `device`, by default the GPU when there is one (in full float32: no TF32
    convolutions, so the features match the CPU's to float precision), else the CPU."""
    model = load_classifier(device if device is not None else eval_device())
    dev = _device_of(model)
    feats, logits = [], []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(dev, torch.float32)
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            f = model.features(x)
        feats.append(f.cpu())
        logits.append(model.head(f).cpu())
    if not feats:
        return torch.zeros(0, FEATURE_DIM), torch.zeros(0, 10)
    return torch.cat(feats), torch.cat(logits)


def predict_labels(images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's label for each image: LongTensor (N,)."""
    return classifier_outputs(images, batch_size=batch_size)[1].argmax(1)


def class_histogram(images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Share of each predicted class, (10,) float summing to 1."""
    pred = predict_labels(images, batch_size)
    return torch.bincount(pred, minlength=10).double().div(max(len(pred), 1)).float()


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            correct += (model(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum().item()
    return correct / len(images)


def train_classifier(*, epochs: int = 3, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                     out: str | Path | None = None, data_root=None, threads: int | None = 1,
                     progress: bool = True) -> dict:
    """Train the feature classifier deterministically on CPU (Adam, linearly decaying lr, no augmentation)
    on the 60,000 training images; report test accuracy; write weights and metadata to `out` (a folder,
    default genedu/assets). Returns the metadata dict."""
    from ..data import load_mnist

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    train = load_mnist("train_full", data_root)
    test = load_mnist("test", data_root)
    model = MNISTClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = len(train) // batch_size
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / total)
    t0 = time.time()
    step = 0
    for epoch in range(epochs):
        model.train()
        for x, y in train.batches(batch_size, seed=seed, epoch=epoch):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress and step % 100 == 0:
                print(f"epoch {epoch} step {step}/{total} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    seconds = time.time() - t0
    acc = accuracy(model, test.float(), test.labels)
    meta = {
        # --force: replacing the shipped weights must be asked for (the CLI refuses otherwise)
        "command": f"genedu evaluate train-classifier --epochs {epochs} --seed {seed} "
                   + ("--force" if out is None else f"--out {out}"),
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": "Adam, lr decays linearly to 0",
        "train_images": len(train), "test_accuracy": round(acc, 4),
        "torch_version": torch.__version__, "training_seconds": round(seconds, 1),
        "machine": f"{platform.machine()} CPU, {platform.processor() or platform.platform()}, {torch.get_num_threads()} thread(s)",
        "parameters": sum(p.numel() for p in model.parameters()), "feature_dim": FEATURE_DIM,
    }
    out = Path(out) if out is not None else ASSETS
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, out / "classifier.pt")
    (out / "classifier.json").write_text(json.dumps(meta, indent=2) + "\n")
    if out.resolve() == ASSETS.resolve():
        _CACHE.clear()
    return meta
