"""Lesson 01's measurements and record readers (genedu.vae_plots), against small hand-made inputs."""

import json

import pytest
import torch

from genedu import vae_plots


def test_sample_stats_blur_and_diversity_of_known_images():
    black_white = torch.ones(4, 1, 28, 28)
    black_white[:2] = -1  # two all-black, two all-white: no grey pixel, distinct pairs
    blur, div = vae_plots.sample_stats(black_white)
    assert blur == 0.0 and div > 0
    blur, div = vae_plots.sample_stats(torch.zeros(3, 1, 28, 28))  # intensity 0.5 everywhere, all alike
    assert blur == 1.0 and div == 0.0
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        vae_plots.sample_stats(torch.zeros(3, 28, 28))


class _Causal(torch.nn.Module):
    """A stand-in decoder head: the logit of pixel i is the sum of the pixels before it (raster order)."""

    def encode(self, x):
        return torch.zeros(len(x), 2), torch.zeros(len(x), 2)

    def pixel_logits(self, x01, z):
        flat = x01.flatten(1)
        return (flat.cumsum(1) - flat).view_as(x01)


def test_flip_change_moves_only_later_pixels_of_a_causal_head():
    x01 = torch.zeros(1, 1, 28, 28)
    change = vae_plots.flip_change(_Causal(), x01, 14, 14)
    i = 14 * 28 + 14
    assert change.shape == (784,)
    assert change[: i + 1].max() == 0 and torch.all(change[i + 1:] == 1)
    with pytest.raises(ValueError, match="binarised"):
        vae_plots.flip_change(_Causal(), torch.full((1, 1, 28, 28), 0.5), 0, 0)
    with pytest.raises(ValueError, match="outside"):
        vae_plots.flip_change(_Causal(), x01, 28, 0)


def _trial(fid, images=vae_plots.SHOWDOWN_IMAGES, nll=None):
    return {"fid": fid, "images": images, "nll_nats": nll}


def test_laptop_trials_reads_steps_in_the_lessons_order(tmp_path):
    names = ["as it was: conv", "batch 64", "batch 64, 50-component prior", "batch 64, channels=64",
             "batch 64, arch=resconv channels=16", "batch 64, arch=resconv channels=32"]
    trials = {f"vae/laptop {n} (showdown images)": _trial(40 - 5 * i) for i, n in enumerate(names)}
    trials["vae/laptop beta=0.5 (showdown images)"] = _trial(9.0, nll=89.9)
    trials["vae/laptop beta=0.25 (showdown images)"] = _trial(8.0, nll=94.4)
    trials["vae/laptop as it was: EMA only (five minutes' images)"] = _trial(44.0, images=671_232)
    trials["vae/laptop + cosine decay (five minutes' images)"] = _trial(23.0, images=671_232)
    trials["gan/laptop something"] = _trial(1.0)  # another family: not read
    path = tmp_path / "recipe_trials.json"
    path.write_text(json.dumps({"trials": trials}))
    out = vae_plots.laptop_trials(path)
    assert out["step_fids"] == [40, 35, 30, 25, 20, 15, 9.0]
    assert (out["ema_only_fid"], out["cosine_fid"]) == (44.0, 23.0)
    assert out["nats"] == {"0.5": 89.9, "0.25": 94.4}
    lines = out["text"].splitlines()
    assert len(lines) == 10 and lines[0].startswith("FID  44.0") and "gan/" not in out["text"]
    path.write_text(json.dumps({"rows": {}}))
    with pytest.raises(ValueError, match="'trials'"):
        vae_plots.laptop_trials(path)


def test_prior_sweep_groups_the_trial_by_setting_and_temperature(tmp_path):
    rows = {f"beta=0.5 trial, seed 0: K={k} codes=10000 T={t}":
            {"components": k, "codes": 10000, "temperature": t, "fid": 10 * t + k / 100, "precision": 0.8,
             "recall": 0.5 * t} for k in (50, 100) for t in (1.0, 0.8)}
    rows["seed 1: K=50 codes=10000 T=1.0"] = {"components": 50, "codes": 10000, "temperature": 1.0, "fid": 1}
    means = {"K=50 codes=10000": {"fid_mean": 12.2, "fid_std": 1.0, "fids": [12, 13, 11]},
             "K=100 codes=10000": {"fid_mean": 10.8, "fid_std": 0.6, "fids": [11, 11, 10]}}
    path = tmp_path / "vae_priors.json"
    path.write_text(json.dumps({"rows": rows, "showdown_means": {"rows": means}}))
    out = vae_plots.prior_sweep(path)
    assert set(out["by_temperature"]) == {(50, 10000), (100, 10000)}
    assert [r["temperature"] for r in out["by_temperature"][(100, 10000)]] == [0.8, 1.0]
    assert out["per_seed"]["K=100 codes=10000"] == [11, 11, 10]
    assert len(out["text"].splitlines()) == 6 and "K=100 codes=10000 T=0.8" in out["text"]
