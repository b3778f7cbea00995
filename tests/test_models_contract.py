"""Every registered family and every preset keeps the model contract (DESIGN.md), on real data.

Families register themselves when their module is imported; this test picks up each new one.
"""

import math

import pytest
import torch

from genedu.checkpoint import load_model, save_checkpoint
from genedu.models.base import MODEL_REGISTRY, _import_families

_import_families()
CASES = [(fam, preset) for fam, cls in sorted(MODEL_REGISTRY.items()) for preset in sorted(cls.PRESETS)
         if not fam.startswith("test-")]


def _labels(model, n):
    return torch.arange(n) % model.config.num_classes if model.conditional else None


@pytest.mark.parametrize("family, preset", CASES)
def test_contract(family, preset, small_train, tmp_path):
    torch.manual_seed(0)
    model = MODEL_REGISTRY[family].from_preset(preset)
    optimizers = model.configure_optimizers()
    assert isinstance(optimizers, dict) and optimizers
    assert all(isinstance(o, torch.optim.Optimizer) for o in optimizers.values())
    x, y = next(small_train.batches(16, seed=0))
    model.train()
    out = model.train_step((x, y), optimizers)
    assert "loss" in out and all(isinstance(v, float) and math.isfinite(v) for v in out.values())
    model.eval()
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    s1 = model.sample(4, labels=_labels(model, 4), generator=g())
    s2 = model.sample(4, labels=_labels(model, 4), generator=g())
    assert s1.shape == (4, 1, 28, 28) and s1.min() >= -1 and s1.max() <= 1
    assert torch.equal(s1, s2), "sample must be reproducible from a torch.Generator"
    # checkpoint round trip
    path = save_checkpoint(tmp_path / "m.pt", model, optimizers=optimizers)
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert torch.equal(loaded.sample(4, labels=_labels(model, 4), generator=g()), s1)


def test_every_family_of_the_original_notebook_has_a_seed_preset():
    # flow matching was not in the original notebook: its baseline is the DDPM on the same UNet
    for fam in ("vae", "gan", "diffusion"):
        assert "seed" in MODEL_REGISTRY[fam].PRESETS, f"{fam} lacks the original notebook's model as preset 'seed'"
    for fam, cls in MODEL_REGISTRY.items():  # every family names its laptop and reference presets
        if not fam.startswith("test-"):
            assert {"laptop", "reference"} <= set(cls.PRESETS), f"{fam} lacks a laptop or reference preset"
