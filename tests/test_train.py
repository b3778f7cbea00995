"""fit(): exact resume, checkpoint refusal, the NaN guard, budgets and bad settings, on real MNIST."""

from dataclasses import dataclass

import pytest
import torch

import genedu
from genedu.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from genedu.models.base import GenerativeModel
from genedu.train import TrainingDiverged, fit, train_or_load


def _params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _seeded_vae(**overrides):
    torch.manual_seed(0)  # the same initial weights for every run of a test
    return genedu.VAE.from_preset("seed", **overrides)


def test_straight_and_resumed_runs_give_identical_weights(small_train, tmp_path):
    straight = _seeded_vae()
    fit(straight, small_train, steps=20, seed=7, ema=0.9, device="cpu", progress=False)
    # 20 steps cross an epoch boundary (16 batches of 128 per epoch): resume must replay the data order too
    ckpt = tmp_path / "run.pt"
    first = _seeded_vae()
    fit(first, small_train, steps=10, seed=7, ema=0.9, device="cpu", checkpoint=ckpt, progress=False)
    torch.manual_seed(12345)  # whatever happened in between must not matter
    resumed = _seeded_vae()
    h = fit(resumed, small_train, steps=20, seed=7, ema=0.9, device="cpu", checkpoint=ckpt, resume=True,
            progress=False)
    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(h) == 20 and h["step"] == list(range(1, 21))  # the history continues too
    ema_saved = torch.load(ckpt, weights_only=True)["ema"]
    assert not all(torch.equal(ema_saved[k], b[k]) for k in b)  # the EMA is a different set of weights


def test_loss_falls_on_real_data(small_train):
    model = genedu.VAE.from_preset("seed")
    h = fit(model, small_train, steps=48, device="cpu", progress=False)
    assert h.mean("loss", last=8) < 0.7 * h.mean("loss", first=8)
    assert {"loss", "recon", "kl", "step", "images", "seconds"} <= set(h.keys())


def test_checkpoint_of_another_config_is_refused_naming_the_field(small_train, tmp_path):
    model = genedu.VAE.from_preset("seed")
    fit(model, small_train, steps=2, device="cpu", checkpoint=tmp_path / "a.pt", progress=False)
    other = genedu.VAE.from_preset("seed", latent_dim=2)
    with pytest.raises(CheckpointError, match=r"latent_dim: checkpoint 20 vs model 2"):
        load_checkpoint(tmp_path / "a.pt", other)
    with pytest.raises(CheckpointError, match="latent_dim"):
        fit(other, small_train, steps=4, device="cpu", checkpoint=tmp_path / "a.pt", resume=True, progress=False)


def test_checkpoint_of_another_family_is_refused(tmp_path):
    model = genedu.VAE.from_preset("seed")
    ckpt = torch.load(save_checkpoint(tmp_path / "v.pt", model), weights_only=True)
    ckpt["family"] = "gan"
    torch.save(ckpt, tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="holds a 'gan' model, not a 'vae'"):
        load_checkpoint(tmp_path / "g.pt", model)


class _Payload:  # an arbitrary pickled object: only an unsafe torch.load would rebuild it
    pass


def test_loading_uses_weights_only(tmp_path):
    torch.save({"family": "vae", "config": {}, "model": {}, "evil": _Payload()}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "x.pt", genedu.VAE.from_preset("seed"))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "junk.pt")


def test_load_model_rebuilds_from_the_checkpoint_alone(small_train, tmp_path):
    model = genedu.VAE.from_preset("seed", latent_dim=3)
    fit(model, small_train, steps=3, device="cpu", checkpoint=tmp_path / "m.pt", progress=False)
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config == model.config
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert torch.equal(loaded.sample(8, generator=g()), model.sample(8, generator=g()))


@dataclass
class _ExplodingConfig:
    lr: float = 1.0  # unused by the step; reported in the divergence message
    batch_size: int = 64


class _Exploding(GenerativeModel):
    """A deliberately diverging model: its weight grows by 1e15 per step until the loss is inf."""

    family = "test-exploding"
    Config = _ExplodingConfig

    def __init__(self, config):
        super().__init__(config)
        self.w = torch.nn.Parameter(torch.ones(()))

    def configure_optimizers(self):
        return {"opt": torch.optim.SGD(self.parameters(), lr=self.config.lr)}

    def train_step(self, batch, optimizers):
        with torch.no_grad():
            self.w.mul_(1e15)
        loss = (self.w * batch[0].abs().mean()) ** 2
        return {"loss": loss.item()}

    def sample(self, n, *, labels=None, generator=None):
        return torch.zeros(n, 1, 28, 28)


def test_nan_guard_stops_names_the_step_and_keeps_the_last_good_checkpoint(small_train, tmp_path):
    model = _Exploding(_ExplodingConfig())
    ckpt = tmp_path / "boom.pt"
    with pytest.raises(TrainingDiverged, match=r"diverged at step 2.*lr=1\.0.*last good checkpoint") as e:
        fit(model, small_train, steps=10, device="cpu", checkpoint=ckpt, checkpoint_every=1, progress=False)
    assert e.value.step == 2
    saved = torch.load(ckpt, weights_only=True)
    assert saved["state"]["step"] == 1 and torch.isfinite(saved["model"]["w"])


def test_budgets_stop_where_they_say(small_train):
    m = genedu.VAE.from_preset("seed")
    assert len(fit(m, small_train, steps=7, device="cpu", progress=False)) == 7
    h = fit(m, small_train, images=1000, batch_size=100, device="cpu", progress=False)
    assert len(h) == 10 and h.last("images") == 1000
    assert len(fit(m, small_train, epochs=0.5, batch_size=256, device="cpu", progress=False)) == 4
    h = fit(m, small_train, epochs=1, steps=3, device="cpu", progress=False)  # the first budget reached wins
    assert len(h) == 3
    h = fit(m, small_train, seconds=0.3, device="cpu", progress=False)
    # it stops at the first step that reaches the budget (on a loaded machine that may be the first step)
    assert h.last("seconds") >= 0.3 and (len(h) == 1 or h["seconds"][-2] < 0.3)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "give fit a budget"),
    ({"steps": -1}, "must be positive"),
    ({"steps": 1, "batch_size": 10**6}, "larger than the data"),
    ({"steps": 1, "batch_size": 0}, "batch_size must be at least 1"),
    ({"steps": 1, "resume": True}, "needs checkpoint"),
    ({"steps": 1, "amp": True, "device": "cpu"}, "CUDA only"),
    ({"steps": 1, "ema": 1.5}, "strictly between 0 and 1"),
])
def test_impossible_settings_are_refused(small_train, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(genedu.VAE.from_preset("seed"), small_train, progress=False, **kwargs)


def test_sample_grids_use_fixed_noise(small_train):
    h = fit(genedu.VAE.from_preset("seed"), small_train, steps=4, sample_every=2, n_grid=16, device="cpu",
            progress=False)
    assert [s for s, _ in h.grids] == [0, 2, 4]
    assert h.grids[0][1].shape == (16, 1, 28, 28)
    assert not torch.equal(h.grids[0][1], h.grids[-1][1])  # the model changed, the noise did not


def test_train_or_load_trains_once_then_loads(small_train, tmp_path):
    ckpt = tmp_path / "tol.pt"
    a = genedu.VAE.from_preset("seed")
    h1 = train_or_load(a, small_train, checkpoint=ckpt, steps=5, device="cpu", progress=False)
    b = genedu.VAE.from_preset("seed")
    h2 = train_or_load(b, small_train, checkpoint=ckpt, steps=5, device="cpu", progress=False)
    assert h1["loss"] == h2["loss"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_ema_warmup_decay_follows_the_formula():
    from genedu.train import EMA

    model = torch.nn.Linear(2, 2)
    ema = EMA(model, 0.999)
    assert ema.decay_at(0) == pytest.approx(1 / 10) and ema.decay_at(90) == pytest.approx(91 / 100)
    assert ema.decay_at(10**6) == 0.999  # capped at the decay asked for
    assert EMA(model, 0.999, warmup=False).decay_at(0) == 0.999  # checkpoints made before warm-up existed


def test_ema_with_warmup_forgets_the_initial_weights():
    """After one update with warm-up the average is 90 % the new weights (decay 0.1), not 0.1 %."""
    from genedu.train import EMA

    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = EMA(model, 0.999)
    torch.nn.init.ones_(model.weight)
    ema.update(model, 0)
    assert ema.module.weight.item() == pytest.approx(0.9)


def _lr_spy(monkeypatch):
    """64 training images, a seed VAE, and the list its train_step fills with the learning rate of each step."""
    data = genedu.load_mnist("train").subset(torch.arange(64))
    model = genedu.VAE.from_preset("seed")
    seen, orig = [], model.train_step

    def spy(batch, optimizers):
        seen.append(optimizers["opt"].param_groups[0]["lr"])
        return orig(batch, optimizers)

    monkeypatch.setattr(model, "train_step", spy)
    return data, model, seen


def test_lr_warmup_and_cosine_decay(monkeypatch):
    """The learning rate rises linearly over lr_warmup steps, then follows half a cosine to 0 at the budget."""
    import math

    data, model, seen = _lr_spy(monkeypatch)
    fit(model, data, steps=10, batch_size=8, lr_warmup=4, lr_decay="cosine", progress=False)
    base = model.config.lr
    want = [base * min(1, (s + 1) / 4) * 0.5 * (1 + math.cos(math.pi * s / 10)) for s in range(10)]
    assert seen == pytest.approx(want)
    with pytest.raises(ValueError, match="lr_decay"):
        fit(model, data, steps=1, batch_size=8, lr_decay="step")
    with pytest.raises(ValueError, match="lr_decay_over is a budget"):
        fit(model, data, steps=1, batch_size=8, lr_decay="cosine", lr_decay_over={"minutes": 3})


def test_cosine_decay_spans_the_whole_budget_across_stages(monkeypatch, tmp_path):
    """A run trained in stages (the showdown's) decays once over its whole budget, not once per stage."""
    import math

    data, model, seen = _lr_spy(monkeypatch)
    ckpt = tmp_path / "staged.pt"
    for stage in (1, 2):  # two calls: 6 steps, then on to 12, resuming
        fit(model, data, images=48 * stage, batch_size=8, lr_decay="cosine", lr_decay_over={"images": 96},
            checkpoint=ckpt, resume=True, progress=False)
    base = model.config.lr
    assert seen == pytest.approx([base * 0.5 * (1 + math.cos(math.pi * s / 12)) for s in range(12)])


class _Interrupt(Exception):
    pass


def _interrupt_at(step):
    def cb(s, model, history):
        if s == step:
            raise _Interrupt(f"interrupted at step {s}")
    return cb


def test_train_or_load_resumes_an_interrupted_run_to_its_budget(small_train, tmp_path, capsys):
    ckpt = tmp_path / "cut.pt"
    straight = _seeded_vae()
    fit(straight, small_train, steps=10, seed=1, device="cpu", progress=False)
    with pytest.raises(_Interrupt):  # a Colab disconnect: the last checkpoint is at step 6
        fit(_seeded_vae(), small_train, steps=10, seed=1, device="cpu", checkpoint=ckpt, checkpoint_every=3,
            callbacks=(_interrupt_at(7),), progress=False)
    assert torch.load(ckpt, weights_only=True)["state"]["step"] == 6
    resumed = _seeded_vae()
    h = train_or_load(resumed, small_train, checkpoint=ckpt, steps=10, seed=1, device="cpu", progress=False)
    assert "resuming training from step 6" in capsys.readouterr().out
    assert h["step"] == list(range(1, 11))  # trained to the budget, not loaded at step 6
    a, b = _params(straight), _params(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)  # and exactly as if never interrupted


def test_train_or_load_loads_without_training_when_the_budget_is_met(small_train, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "done.pt"
    train_or_load(_seeded_vae(), small_train, checkpoint=ckpt, steps=6, device="cpu", progress=False)
    capsys.readouterr()

    def no_training(*args, **kwargs):
        raise AssertionError("fit was called although the checkpoint meets the budget")

    monkeypatch.setattr("genedu.train.fit", no_training)
    h = train_or_load(_seeded_vae(), small_train, checkpoint=ckpt, steps=4, device="cpu", progress=False)
    assert len(h) == 6 and "loaded" in capsys.readouterr().out


def test_asking_for_an_ema_a_checkpoint_lacks_is_an_error_when_loading(small_train, tmp_path):
    ckpt = tmp_path / "no-ema.pt"
    fit(_seeded_vae(), small_train, steps=3, device="cpu", checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="saved without an EMA"):
        train_or_load(_seeded_vae(), small_train, checkpoint=ckpt, steps=3, ema=0.9, device="cpu", progress=False)
    with pytest.raises(CheckpointError, match="saved without an EMA"):
        load_checkpoint(ckpt, _seeded_vae(), ema=genedu.train.EMA(_seeded_vae(), 0.9))


def test_resuming_with_an_ema_the_checkpoint_lacks_starts_it_from_the_loaded_weights(small_train, tmp_path):
    ckpt = tmp_path / "no-ema.pt"
    fit(_seeded_vae(), small_train, steps=3, device="cpu", checkpoint=ckpt, progress=False)
    at_step_3 = genedu.VAE.from_preset("seed")
    load_checkpoint(ckpt, at_step_3)
    model = genedu.VAE.from_preset("seed")
    with pytest.warns(UserWarning, match="EMA starts now from the loaded weights"):
        h = fit(model, small_train, steps=4, ema=0.5, ema_warmup=False, device="cpu", checkpoint=ckpt, resume=True,
                progress=False)
    # one update after the restart: ema = 0.5 * (weights at step 3) + 0.5 * (weights at step 4)
    for name, e in h.ema.module.named_parameters():
        expected = 0.5 * dict(at_step_3.named_parameters())[name] + 0.5 * dict(model.named_parameters())[name]
        assert torch.allclose(e, expected, atol=1e-6), name


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_an_unwritable_checkpoint_path_fails_before_training(small_train, tmp_path, where):
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    path = tmp_path / "file" / "run.pt" if where == "under-a-file" else tmp_path / "folder"
    steps = []
    with pytest.raises(ValueError, match="checkpoint .* (cannot be written|is a folder)"):
        fit(genedu.VAE.from_preset("seed"), small_train, steps=3, device="cpu", checkpoint=path, progress=False,
            callbacks=(lambda s, m, h: steps.append(s),))
    assert steps == []  # refused before the first step


def test_train_or_load_checkpoints_every_few_minutes_unless_told(small_train, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr("genedu.train.fit", lambda model, data, **kw: seen.append(kw) or genedu.History())
    train_or_load(_seeded_vae(), small_train, checkpoint=tmp_path / "a.pt", steps=3)
    train_or_load(_seeded_vae(), small_train, checkpoint=tmp_path / "b.pt", steps=3, checkpoint_every=2)
    assert seen[0]["checkpoint_minutes"] == 5.0  # a disconnect loses minutes, not the run
    assert seen[1]["checkpoint_every"] == 2 and "checkpoint_minutes" not in seen[1]


def test_autocast_default_per_family_and_refused_off_cuda(small_train):
    """fit's `amp` default: bf16 autocast on CUDA for the families that allow it; the VAE measured better in
    float32 (gpu_references.json, vae_amp) and opts out; never on a CPU, and asking for it there is refused."""
    from genedu.train import default_amp

    vae, gan = genedu.VAE.from_preset("seed"), genedu.GAN.from_preset("seed")
    assert default_amp(gan, "cuda") and not default_amp(vae, "cuda")
    assert not default_amp(gan, "cpu") and not default_amp(vae, torch.device("cpu"))
    with pytest.raises(ValueError, match="CUDA only"):
        fit(gan, small_train, steps=1, device="cpu", amp=True, progress=False)
