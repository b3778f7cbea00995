"""The model families. Each module holds a Config dataclass, a PRESETS dict and the model."""

from .base import MODEL_REGISTRY, GenerativeModel, build_model, register

__all__ = ["GenerativeModel", "MODEL_REGISTRY", "build_model", "register"]
