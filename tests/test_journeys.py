"""Every journey the README's command line shows, run as a user runs it (`python -m genedu ...` in a
subprocess), for every family, on tiny budgets: train, train --resume, sample --checkpoint, evaluate;
sample --reference with the sampler each shipped reference recorded; reference (train, score, export; run
through `genedu.cli.main` in this process, so the four share the scoring's real-image work); and one
showdown over all four families. Each command feeds the next where it can, to keep the file quick.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import genedu as genedu_lib
from genedu.cli import main
from genedu.reference import EXTRA, family_of, reference_info

PRESETS = {"vae": "seed", "gan": "seed", "diffusion": "seed", "flow": "laptop"}  # the smallest of each family
# what each family's tiny reference is scored with: the seed denoiser has only its own sampler
TINY_SAMPLERS = {"vae": {}, "gan": {}, "diffusion": {"sampler": "seed"}, "flow": {"method": "euler", "steps": 2}}


def genedu(*args) -> str:
    """Run `python -m genedu ARGS`; fail with its stderr unless it exits 0; return its stdout."""
    r = subprocess.run([sys.executable, "-m", "genedu", *map(str, args)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"genedu {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr[-3000:]}"
    return r.stdout


def _check_samples(path, n, *, labels):
    f = np.load(path)
    x = f["samples"]
    assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32 and np.isfinite(x).all()
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
    assert f["seconds"].shape == () and f["seconds"] > 0
    assert ("labels" in f.files) == labels
    if labels:
        assert f["labels"].tolist() == [i % 10 for i in range(n)]  # balanced classes 0..9, 0, ...
    return f


def test_train_resume_sample_then_evaluate_every_family(tmp_path):
    """train -> train --resume -> sample --checkpoint for each family, then one `genedu evaluate` of all
    four files (the real images' neighbours, the slow part of a report, are computed once for all)."""
    files = []
    for family, preset in PRESETS.items():
        ckpt, npz = tmp_path / f"{family}.pt", tmp_path / f"{family}.npz"
        base = ["train", "--model", family, "--preset", preset, "--out", ckpt, "--device", "cpu"]
        assert f"trained {family}/{preset} for 2 steps" in genedu(*base, "--steps", "2")
        assert "for 3 steps" in genedu(*base, "--steps", "3", "--resume")  # continues: one more step, not three
        assert torch.load(ckpt, weights_only=True)["state"]["step"] == 3
        out = genedu("sample", "--model", family, "--checkpoint", ckpt, "--n", "20", "--batch-size", "8",
                     "--out", npz)
        assert f"wrote 20 samples from {ckpt} to {npz}" in out
        _check_samples(npz, 20, labels=family == "flow")  # the laptop flow is class-conditional
        files.append(npz)
    reports = json.loads(genedu("evaluate", *files, "--json", "--no-calibration"))
    assert [r["file"] for r in reports] == [str(f) for f in files]
    for r in reports:
        assert r["n"] == 20 and r["fid"] > 0 and 1 <= r["inception_score"] <= 10
        assert sum(r["class_histogram"]) == pytest.approx(1)
    assert "conditional_accuracy" in reports[-1]  # the flow's samples carried their requested classes
    table = genedu("evaluate", files[0])  # the README's form: one file, a table with the calibration rows
    assert str(files[0]) in table and "train vs test (floor)" in table and "noise (ceiling)" in table


@pytest.mark.parametrize("family", [*PRESETS, *EXTRA])
def test_sample_the_reference_with_its_recorded_sampler(family, tmp_path):
    """Every shipped reference, the family's own and those beside it (`--reference NAME`)."""
    recorded = reference_info(family).get("sample_options", {})
    npz = tmp_path / "ref.npz"
    name = [] if family in PRESETS else [family]
    # 4 samples: vae_pixel draws its 784 pixels one network pass after another, whatever the count
    out = genedu("sample", "--model", family_of(family), "--reference", *name, "--n", "4", "--out", npz)
    f = _check_samples(npz, 4, labels=reference_info(family)["config"].get("num_classes", 0) > 0)
    assert json.loads(str(f["sample_options"])) == recorded
    for k, v in recorded.items():
        assert f"{k}={v}" in out


@pytest.mark.parametrize("family", PRESETS)
def test_reference_trains_scores_and_exports(family, tmp_path, capsys):
    work, refs = tmp_path / "work", tmp_path / "refs"
    work.mkdir()
    refs.mkdir()
    options = json.dumps(TINY_SAMPLERS[family])
    # in this process (main, the CLI's entry point), not a subprocess: the four references then share the
    # real images' nearest-neighbour distances that scoring needs (about 10 s of CPU per process)
    assert main(["reference", "--model", family, "--preset", PRESETS[family], "--steps", "2", "--samples", "100",
                 "--sample-options", options, "--work", str(work), "--out-dir", str(refs), "--device", "cpu"]) == 0
    assert f"reference written: {refs / family}.pt" in capsys.readouterr().out
    info = json.loads((refs / f"{family}.json").read_text())
    assert info["sample_options"] == TINY_SAMPLERS[family] and info["trained"]["steps"] == 2
    assert info["evaluation"]["n"] == 100 and info["evaluation"]["fid"] > 0
    assert "--sample-options" in info["command"]
    model = genedu_lib.load_model(refs / f"{family}.pt")  # an ordinary checkpoint, as `sample --checkpoint` reads it
    assert model.family == family and model.sample(2, **TINY_SAMPLERS[family]).shape == (2, 1, 28, 28)


def test_showdown_over_every_family(tmp_path):
    """A tiny showdown with a contender of each family (the smallest: the laptop VAE's prior fit and
    likelihood would double this file's time; tests/test_cli.py checks the likelihood options reach it)."""
    contenders = ["vae/seed", "gan/seed", "diffusion/seed", "flow/laptop"]
    out = genedu("showdown", "--images", "128", "--samples", "100", "--stages", "1", "--data-limit", "512",
                 "--ddim-steps", "2", "--ddim-samples", "100", "--only", *contenders, "--out", tmp_path,
                 "--device", "cpu")
    for label in ("VAE (seed)", "GAN (seed)", "Diffusion (seed)", "Flow matching (laptop)", "noise (ceiling)"):
        assert label in out
    results = json.loads((tmp_path / "results.json").read_text())
    runs = {f"{r['family']}/{r['preset']}": r for r in results["runs"]}
    assert sorted(runs) == sorted(contenders)
    assert all(r["n"] == 100 and r["images_seen"] >= 128 for r in runs.values())
    assert [c["steps"] for c in runs["flow/laptop"]["steps_curve"]] == [2]
    assert (tmp_path / "report.md").is_file()
