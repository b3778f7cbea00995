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


# ---- diffusion blocks: time embedding and a residual block (Ho et al. 2020, appendix B) ----------

def sinusoidal_embedding(t, dim: int, *, max_period: float = 10_000.0):
    """Transformer-style sinusoidal features of timesteps t (B,) -> (B, dim) (Vaswani et al. 2017, sec. 3.5).

    Half the features are cos(t * f_k), half sin(t * f_k), with frequencies f_k = max_period^(-k / (dim/2)).
    """
    import math

    import torch

    if dim % 2:
        raise ValueError(f"the time embedding size must be even (cos and sin halves), got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with an embedding (time + label) added in between, and a skip path.

    x (B, c_in, H, W), emb (B, emb_dim) -> (B, c_out, H, W).
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int, *, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(min(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.emb(nn.functional.silu(emb))[:, :, None, None]  # one shift per channel
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return h + self.skip(x)


class AttnBlock(nn.Module):
    """Self-attention over the pixels of a feature map, with a residual path (Ho et al. 2020 use one at 16x16;
    here at 7x7, where 49 positions make it cheap). x (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, *, heads: int = 4, groups: int = 8):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention channels ({channels}) must be divisible by heads ({heads})")
        self.norm = nn.GroupNorm(min(groups, channels), channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x, emb=None):
        B, C, H, W = x.shape
        h = self.norm(x).flatten(2).transpose(1, 2)  # (B, H*W, C): one token per pixel
        h, _ = self.attn(h, h, h, need_weights=False)
        return x + h.transpose(1, 2).reshape(B, C, H, W)
