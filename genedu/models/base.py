"""The contract every genedu model keeps, so `fit`, `evaluate` and `showdown` never special-case a family.

A family is an ``nn.Module`` subclass of :class:`GenerativeModel` with

- ``Config``: a dataclass, one comment per field, validated in ``__post_init__``;
- ``PRESETS``: ``{"seed": Config(...), ...}``; ``Model.from_preset("seed", latent_dim=2)``;
- ``configure_optimizers() -> dict[str, Optimizer]`` (a GAN has two);
- ``train_step(batch, optimizers) -> dict[str, float]`` with a ``"loss"`` key and its parts, where
  ``batch = (x, y)``: x float (B, 1, 28, 28) in [-1, 1], y int64 labels (B,);
- ``sample(n, *, labels=None, generator=None, **sampler_options) -> Tensor`` in [-1, 1],
  shape (n, 1, 28, 28), reproducible from a ``torch.Generator``.

Class-conditional variants (``config.num_classes > 0``) use the labels in ``train_step`` and ``sample``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

MODEL_REGISTRY: dict[str, type["GenerativeModel"]] = {}


def register(cls: type["GenerativeModel"]) -> type["GenerativeModel"]:
    """Class decorator: make a family loadable from a checkpoint by its name."""
    MODEL_REGISTRY[cls.family] = cls
    return cls


def build_model(family: str, config: dict[str, Any] | Any) -> "GenerativeModel":
    """Build a model of `family` ("vae", "gan", "diffusion", ...) from a config or a dict of one."""
    _import_families()
    if family not in MODEL_REGISTRY:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(MODEL_REGISTRY)}")
    cls = MODEL_REGISTRY[family]
    if isinstance(config, dict):
        config = cls.config_from_dict(config)
    return cls(config)


def _import_families() -> None:
    """Import every family module so that it registers itself (cheap: they only define classes)."""
    import importlib
    import pkgutil

    import genedu.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base":
            importlib.import_module(f"genedu.models.{info.name}")


class GenerativeModel(nn.Module):
    """Base class: holds the config and the pieces of the contract that every family shares."""

    family: ClassVar[str] = ""  # registry name, e.g. "vae"
    Config: ClassVar[type] = object  # the family's config dataclass
    PRESETS: ClassVar[dict[str, Any]] = {}  # name -> Config
    # preset -> the training recipe that goes with it: fit's keyword arguments (ema, lr_warmup, lr_decay)
    # that `genedu train` and `genedu reference` use unless told otherwise
    RECIPES: ClassVar[dict[str, dict[str, Any]]] = {}
    # whether fit trains it under bf16 autocast by default on a GPU (a family that measured worse opts out)
    AUTOCAST: ClassVar[bool] = True

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__}, got {type(config).__name__}")
        self.config = config

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GenerativeModel":
        """A model built from a named preset, with any config field overridden."""
        if name not in cls.PRESETS:
            raise ValueError(f"{cls.__name__} has no preset {name!r}; presets: {sorted(cls.PRESETS)}")
        return cls(dataclasses.replace(cls.PRESETS[name], **overrides))

    @classmethod
    def recipe(cls, preset: str) -> dict[str, Any]:
        """fit's keyword arguments that go with a preset (empty when it has none)."""
        return dict(cls.RECIPES.get(preset, {}))

    def after_training(self, data, *, seed: int = 0) -> None:
        """What a family does once training ends and before sampling (a VAE fits its learned prior)."""

    @classmethod
    def config_from_dict(cls, d: dict[str, Any]):
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ValueError(f"{cls.Config.__name__} has no field(s) {unknown}; fields: {sorted(fields)}")
        d = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls.Config(**d)

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    # ---- the contract -------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch, optimizers) -> dict[str, float]:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **sampler_options) -> torch.Tensor:
        raise NotImplementedError

    # ---- shared helpers -----------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        return getattr(self.config, "num_classes", 0) > 0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_labels(self, n: int, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Validate `labels` for sampling: required (n,) ints in range for a conditional model."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"this {self.family} is unconditional (num_classes=0): do not pass labels")
            return None
        if labels is None:
            raise ValueError(f"this {self.family} is class-conditional: pass labels, a (n,) tensor of digits 0..9")
        labels = torch.as_tensor(labels, device=self.device).long()
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
        if labels.min() < 0 or labels.max() >= self.config.num_classes:
            raise ValueError(f"labels must lie in 0..{self.config.num_classes - 1}")
        return labels

    def randn(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal noise on the model's device, drawn from `generator` when given.

        The generator lives on the CPU (so the same seed gives the same noise on any machine);
        the noise is then moved to the model's device.
        """
        return torch.randn(*shape, generator=generator).to(self.device)

    def extra_repr(self) -> str:
        return f"preset config: {self.config}"
