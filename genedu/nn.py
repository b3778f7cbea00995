"""Building blocks shared by two or more families."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int] | tuple[int, ...], *, activation: type[nn.Module] = nn.ReLU,
        final: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of `sizes` with `activation` between them; `final` (e.g. nn.Tanh()) after the last."""
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {sizes}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)
