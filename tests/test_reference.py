"""Reference checkpoints: export keeps the EMA weights in fp16 and loads back as the same model; the CLI
samples from a reference; a missing, foreign or broken reference is refused with a clear message."""

import json

import numpy as np
import pytest
import torch

import genedu
from genedu import reference
from genedu.checkpoint import CheckpointError
from genedu.cli import main


@pytest.fixture()
def ref_dir(tmp_path, monkeypatch):
    d = tmp_path / "references"
    monkeypatch.setattr(reference, "REFERENCE_DIR", d)
    return d


def _trained_checkpoint(tmp_path, small_train, *, ema=None):
    model = genedu.GAN.from_preset("dcgan")
    path = tmp_path / "gan.pt"
    genedu.fit(model, small_train, steps=3, checkpoint=path, ema=ema, progress=False, device="cpu")
    return path


def test_export_and_load_round_trip(tmp_path, small_train, ref_dir):
    ckpt = _trained_checkpoint(tmp_path, small_train, ema=0.9)
    path = reference.export_reference(ckpt, meta={"command": "genedu train ...", "fid": 12.5})
    assert path == ref_dir / "gan.pt" and reference.has_reference("gan")
    saved = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in saved["model"].values() if v.is_floating_point())
    assert saved["optimizers"] == {} and saved["state"]["trained"]["step"] == 3
    info = reference.reference_info("gan")
    assert info["fid"] == 12.5 and info["family"] == "gan" and info["bytes"] == path.stat().st_size

    # the reference holds the EMA weights (rounded to fp16), not the raw ones
    ema_weights = torch.load(ckpt, weights_only=True)["ema"]
    model = reference.load_reference("gan")
    assert not model.training
    for k, v in model.state_dict().items():
        assert v.dtype == ema_weights[k].dtype
        torch.testing.assert_close(v, ema_weights[k].half().to(v.dtype), rtol=0, atol=0)
    g = torch.Generator().manual_seed(0)
    x = model.sample(8, generator=g)
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    # an ordinary checkpoint reader accepts it too
    assert genedu.load_model(path).family == "gan"


def test_an_extra_reference_is_named_and_checked_by_its_family(tmp_path, small_train, ref_dir):
    """'vae_pixel' (the PixelCNN-headed VAE) lives beside the family's own reference; a GAN is refused as it."""
    model = genedu.VAE.from_preset("pixel", channels=4, hidden=16, latent_dim=4, pixel_channels=4, pixel_layers=1)
    genedu.fit(model, small_train, steps=2, checkpoint=tmp_path / "p.pt", progress=False, device="cpu")
    path = reference.export_reference(tmp_path / "p.pt", name="vae_pixel", meta={"command": "genedu train ..."})
    assert path == ref_dir / "vae_pixel.pt" and not reference.has_reference("vae")
    back = reference.load_reference("vae_pixel")
    assert back.config.pixel_layers == 1 and reference.reference_info("vae_pixel")["family"] == "vae"
    assert reference.sample_options("vae_pixel") == {}
    with pytest.raises(CheckpointError, match="the reference 'vae_pixel' is a 'vae'"):
        reference.export_reference(_trained_checkpoint(tmp_path, small_train), name="vae_pixel")
    with pytest.raises(ValueError, match="no reference family 'gan_pixel'"):
        reference.load_reference("gan_pixel")


def test_cli_samples_from_reference(tmp_path, small_train, ref_dir, capsys):
    reference.export_reference(_trained_checkpoint(tmp_path, small_train))
    out = tmp_path / "s.npz"
    assert main(["sample", "--model", "gan", "--reference", "--n", "20", "--out", str(out), "--device", "cpu"]) == 0
    s = np.load(out)["samples"]
    assert s.shape == (20, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    assert main(["sample", "--model", "vae", "--reference", "--n", "5", "--out", str(out)]) == 2
    assert "no reference checkpoint for 'vae'" in capsys.readouterr().err


def test_bad_references_are_refused(tmp_path, small_train, ref_dir):
    with pytest.raises(ValueError, match="no reference family"):
        reference.reference_path("pixelcnn")
    with pytest.raises(FileNotFoundError, match="genedu train --model diffusion"):
        reference.load_reference("diffusion")
    # a file of another family under a family's name
    ref_dir.mkdir()
    reference.export_reference(_trained_checkpoint(tmp_path, small_train), out_dir=tmp_path)
    (tmp_path / "gan.pt").replace(ref_dir / "vae.pt")
    with pytest.raises(CheckpointError, match="not a 'vae' one"):
        reference.load_reference("vae")
    # diverged weights never become a reference
    ckpt = _trained_checkpoint(tmp_path, small_train)
    state = torch.load(ckpt, weights_only=True)
    next(iter(state["model"].values())).fill_(float("nan"))
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match="non-finite"):
        reference.export_reference(ckpt)


@pytest.mark.parametrize("family", reference.FAMILIES)
def test_shipped_references_load_and_record_their_figures(family):
    if not reference.has_reference(family):
        pytest.skip(f"no {family} reference in this checkout")
    path = reference.reference_path(family)
    assert path.stat().st_size < reference.MAX_BYTES
    info = reference.reference_info(family)
    for key in ("command", "seed", "machine", "evaluation"):
        assert key in info, f"{family}.json lacks {key!r}"
    model = reference.load_reference(family)
    x = reference.sample_reference(model, family, 4, steps=5)
    torch.testing.assert_close(x, reference.sample_reference(model, family, 4, steps=5))  # seeded: reproducible
    assert x.shape == (4, 1, 28, 28) and torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1


def test_reference_command_trains_scores_and_exports(tmp_path, capsys):
    out_dir, work = tmp_path / "refs", tmp_path / "work"
    argv = ["reference", "--model", "vae", "--preset", "mlp", "--images", "256", "--samples", "100",
            "--work", str(work), "--out-dir", str(out_dir), "--device", "cpu"]
    assert main(argv) == 0
    assert "reference written" in capsys.readouterr().out
    info = json.loads((out_dir / "vae.json").read_text())
    assert info["command"] == "genedu " + " ".join(argv) and info["preset"] == "mlp" and info["seed"] == 0
    assert info["trained"]["images"] == 256 and info["evaluation"]["n"] == 100 and info["evaluation"]["fid"] > 0
    # rerun: the budget is spent, so it scores the same weights again without training
    before = torch.load(work / "vae_mlp.pt", weights_only=True)["state"]["step"]
    assert main(argv) == 0
    assert torch.load(work / "vae_mlp.pt", weights_only=True)["state"]["step"] == before
    assert main(["reference", "--model", "vae", "--preset", "mlp", "--work", str(work)]) == 2
    assert "give a budget" in capsys.readouterr().err


@pytest.mark.parametrize("family", reference.FAMILIES + ("flow_fewstep",))
def test_shipped_references_score_what_they_record(family):
    """Re-measure each reference on 1,000 samples with the sampler it records, and compare the figures that
    do not drift with the sample count: the class shares, precision and the accuracy on requested classes.
    (FID is biased upwards at 1,000 samples, so it is only checked to lie between the floor and the record's
    value plus that bias.)"""
    if not reference.has_reference(family):
        pytest.skip(f"no {family} reference in this checkout")
    from genedu.showdown import sample_and_score

    info = reference.reference_info(family)
    recorded = info["evaluation"]
    model = reference.load_reference(family)
    now = sample_and_score(model, reference.sample_options(family), 1000, seed=info["seed"])
    shares = torch.tensor(now["class_histogram"]) - torch.tensor(recorded["class_histogram"])
    assert shares.abs().max() < 0.04, (now["class_histogram"], recorded["class_histogram"])
    assert abs(now["precision"] - recorded["precision"]) < 0.06, (now["precision"], recorded["precision"])
    if "conditional_accuracy" in recorded:
        assert abs(now["conditional_accuracy"] - recorded["conditional_accuracy"]) < 0.04
    assert 1.0 < now["fid"] < recorded["fid"] + 15, (now["fid"], recorded["fid"])


def test_add_to_record_adds_one_entry_and_keeps_the_rest(tmp_path, monkeypatch):
    """A figure measured after export (e.g. the references drawn without a label) joins the record."""
    import shutil

    R = reference

    shutil.copy(R.REFERENCE_DIR / "vae.json", tmp_path / "vae.json")
    before = json.loads((tmp_path / "vae.json").read_text())
    monkeypatch.setattr(R, "REFERENCE_DIR", tmp_path)
    R.add_to_record("vae", "extra", {"fid": 1.5})
    after = R.reference_info("vae")
    assert after.pop("extra") == {"fid": 1.5} and after == before
    with pytest.raises(ValueError, match="no reference family"):
        R.add_to_record("vq", "extra", {})
