"""One vocabulary of sampling options: the flags of `genedu sample` and the `sample_options` every shipped
reference records are the same names and values, each one a keyword its family's `sample` takes. A new
reference that records an option the CLI does not know fails here, not in a learner's terminal."""

import inspect
import json

import pytest

from genedu import reference as R
from genedu.cli import SAMPLE_OPTIONS, build_parser, check_sample_options, main
from genedu.models.base import MODEL_REGISTRY, _import_families

RECORDS = sorted(R.REFERENCE_DIR.glob("*.json"))


def test_every_family_reference_is_found():
    assert {p.stem for p in RECORDS} >= set(R.FAMILIES)


def test_each_option_is_a_keyword_of_the_sample_method_of_each_family_it_names():
    _import_families()
    for name, (families, *_) in SAMPLE_OPTIONS.items():
        for family in families:
            params = inspect.signature(MODEL_REGISTRY[family].sample).parameters
            assert name in params, f"--{name} is declared for {family}, whose sample() has no {name}="


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.stem)
def test_every_recorded_option_is_accepted_by_the_cli(record, tmp_path):
    info = json.loads(record.read_text())
    name, family = record.stem, info["family"]
    assert R.family_of(name) == family
    recorded = R.sample_options(name)  # what `genedu sample --reference` uses (the family's default if unrecorded)
    assert check_sample_options(family, recorded, source=str(record)) == recorded
    flags = [x for k, v in recorded.items() for x in (f"--{k}", str(v))]
    args = build_parser().parse_args(["sample", "--model", family, "--reference", name,
                                      "--out", str(tmp_path / "s.npz"), *flags])
    assert {k: getattr(args, k) for k in recorded} == recorded  # the flags give back the recorded values
    _import_families()
    params = inspect.signature(MODEL_REGISTRY[family].sample).parameters
    assert set(recorded) <= set(params)


def test_a_vae_reference_is_drawn_with_its_recorded_prior(tmp_path, capsys):
    """The bug of issue 27: the VAE reference records prior=mixture and the CLI refused it."""
    assert R.sample_options("vae") == {"prior": "mixture"}
    out = tmp_path / "v.npz"
    assert main(["sample", "--model", "vae", "--reference", "--n", "10", "--out", str(out), "--device", "cpu"]) == 0
    assert "with prior=mixture" in capsys.readouterr().out
    assert main(["sample", "--model", "vae", "--reference", "--prior", "normal", "--n", "10", "--out", str(out),
                 "--device", "cpu"]) == 0  # a flag replaces the recorded setting
    assert "with prior=normal" in capsys.readouterr().out


@pytest.mark.parametrize("family, options, needle", [
    ("diffusion", {"prior": "mixture"}, "prior is for --model vae; a diffusion takes --sampler"),
    ("gan", {"steps": 3}, "steps is for --model diffusion or flow; a gan draws in one pass and takes none"),
    ("flow", {"sampler": "dpm"}, "sampler is for --model diffusion; a flow takes --method"),
    ("flow", {"method": "rk4"}, "expected one of euler, midpoint, heun, got 'rk4'"),
    ("vae", {"prior": "gmm"}, "expected one of normal, mixture"),
    ("diffusion", {"steps": 0}, "greater than 0"),
    ("diffusion", {"temperature": 0.5}, "unknown sampling option 'temperature'"),
    ("diffusion", {"steps": [1, 2]}, "must be a number or a name"),
    ("diffusion", ["ddim"], "must be a JSON object"),
])
def test_options_outside_the_vocabulary_are_named(family, options, needle):
    with pytest.raises(ValueError, match="src") as e:
        check_sample_options(family, options, source="src")
    assert needle in str(e.value)


def test_reference_refuses_sample_options_the_cli_could_not_take_back(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("genedu.reference.make_reference", lambda *a, **k: pytest.fail("training started"))
    base = ["reference", "--model", "diffusion", "--preset", "seed", "--steps", "2", "--work", str(tmp_path)]
    assert main(base + ["--sample-options", '{"prior": "mixture"}']) == 2
    assert "--sample-options: prior is for --model vae" in capsys.readouterr().err
    assert main(base + ["--sample-options", '{"sampler": "ddim", "eta": "x"}']) == 2
    assert "eta: expected a number of at least 0" in capsys.readouterr().err


def test_sample_flags_are_checked_against_the_family_and_the_sampler(tmp_path, capsys):
    out = str(tmp_path / "s.npz")
    assert main(["sample", "--model", "vae", "--reference", "vae_pixel_x", "--out", out]) == 2
    assert "choose from vae, vae_pixel" in capsys.readouterr().err
    assert main(["sample", "--model", "gan", "--reference", "vae_pixel", "--out", out]) == 2
    assert "no such gan reference" in capsys.readouterr().err
    assert main(["sample", "--model", "diffusion", "--reference", "--eta", "1", "--n", "4", "--out", out]) == 2
    assert "--eta is DDIM's noise level; sampler dpm takes none" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()
