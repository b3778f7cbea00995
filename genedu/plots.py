"""Every figure the lessons show. Each function returns a matplotlib Figure (the caller shows it).

Sections: generic (grids, histories), then one per lesson in course order (00, 01, 02, 03, 05); lesson
03b's figures and widgets live together in `genedu.flow_plots`. Images are taken in genedu's [-1, 1] scale.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def _np_images(images) -> np.ndarray:
    """(N, 1, 28, 28) or (N, 28, 28) tensor/array in [-1, 1] -> (N, 28, 28) numpy in [0, 1]."""
    x = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    if x.ndim == 4:
        x = x[:, 0]
    return np.clip((x + 1) / 2, 0, 1)


def make_grid(images, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, 1, 28, 28) images in [-1, 1] into one 2-D array in [0, 1] (ink is 1; pad pixels a light 0.15)."""
    x = _np_images(images)
    n = len(x)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    h, w = x.shape[1:]
    grid = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad), 0.15)
    for i, img in enumerate(x):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return grid


def image_grid(images, *, nrow: int | None = None, title: str | None = None, ax=None, size: float = 4.0):
    """A grid of digits; returns the Figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    else:
        fig = ax.figure
    ax.imshow(make_grid(images, nrow), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def grids_side_by_side(grids: dict[str, torch.Tensor], *, nrow: int | None = None, size: float = 3.5):
    """Several grids in one row, titled by their keys (e.g. families on the same noise)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size), squeeze=False)
    for ax, (name, imgs) in zip(axes[0], grids.items()):
        image_grid(imgs, nrow=nrow, title=name, ax=ax)
    fig.tight_layout()
    return fig


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(y) < k:
        return y
    kernel = np.ones(k) / k
    return np.convolve(y, kernel, mode="valid")


def plot_history(history, *, keys: list[str] | None = None, smooth: int = 20):
    """One panel per reported number against the step (raw in light, a running mean on top)."""
    keys = keys or history.metric_keys
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    steps = np.asarray(history["step"])
    for ax, k in zip(axes[0], keys):
        y = np.asarray(history[k], dtype=float)
        ax.plot(steps, y, alpha=0.3, lw=0.8)
        ys = _smooth(y, smooth)
        ax.plot(steps[len(steps) - len(ys):], ys, lw=1.5)
        ax.set_title(k)
        ax.set_xlabel("step")
    fig.tight_layout()
    return fig


# ---- lesson 00: the data ------------------------------------------------------------------------

def class_balance(labels, *, title: str = "images per class"):
    counts = torch.bincount(torch.as_tensor(labels).cpu(), minlength=10).numpy()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(10), counts)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mean_images(images_uint8, labels):
    """The mean image of each class, from uint8 (N, 28, 28) images."""
    means = torch.stack([images_uint8[labels == c].float().mean(0) for c in range(10)])  # (10, 28, 28)
    fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
    for c, ax in enumerate(axes):
        ax.imshow(means[c].numpy(), cmap="gray_r")
        ax.set_title(str(c))
        ax.set_axis_off()
    fig.suptitle("mean image per class")
    fig.tight_layout()
    return fig


def pixel_histogram(images_uint8):
    """Pixel values on the raw 0..255 scale and on genedu's [-1, 1] scale."""
    raw = images_uint8.flatten().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    axes[0].hist(raw, bins=64, log=True)
    axes[0].set_title("raw pixels (0..255)")
    axes[1].hist(raw / 127.5 - 1, bins=64, log=True, color="C1")
    axes[1].set_title("as genedu serves them ([-1, 1])")
    fig.tight_layout()
    return fig


def speed_bars(results: dict[str, float], *, unit: str = "images / s", title: str = ""):
    fig, ax = plt.subplots(figsize=(6, 2.2))
    names = list(results)
    ax.barh(names, [results[n] for n in names], color=["C0", "C2", "C1", "C3"][: len(names)])
    for i, n in enumerate(names):
        ax.text(results[n], i, f" {results[n]:,.0f}", va="center")
    ax.set_xlabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ---- lesson 01: VAE -----------------------------------------------------------------------------

def vae_diagram(x=None, recon=None, *, title: str = "a VAE, and the two terms of its loss"):
    """The VAE as a picture: x -> encoder q(z|x) -> (mu, sigma) -> z = mu + sigma * eps -> decoder p(x|z) ->
    reconstruction, with where the ELBO's two terms are measured (kl between q(z|x) and the prior, recon
    between x and the decoder's output). `x` and `recon` (1, 28, 28) images in [-1, 1], if given, are drawn
    at the two ends. Returns the figure."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(11, 3.4))
    ax.set(xlim=(0, 11), ylim=(0, 3.4), title=title)
    ax.axis("off")

    def box(x0, text, color, w=1.5):
        ax.add_patch(FancyBboxPatch((x0, 1.1), w, 1.0, boxstyle="round,pad=0.05", fc=color, ec="k", alpha=0.9))
        ax.text(x0 + w / 2, 1.6, text, ha="center", va="center", fontsize=10)

    def arrow(x0, x1, y=1.6):
        ax.add_patch(FancyArrowPatch((x0, y), (x1, y), arrowstyle="-|>", mutation_scale=14, lw=1.4))

    def image(img, x0, label):
        if img is None:
            ax.text(x0 + 0.5, 1.6, label, ha="center", va="center", fontsize=12)
            return
        arr = torch.as_tensor(img).detach().float().cpu().reshape(28, 28).numpy()
        ax.imshow(arr, cmap="gray", vmin=-1, vmax=1, extent=(x0, x0 + 1.0, 1.1, 2.1))
        ax.text(x0 + 0.5, 0.9, label, ha="center", va="top", fontsize=10)

    image(x, 0.1, "$x$")
    arrow(1.15, 1.55)
    box(1.6, "encoder\n$q_\\phi(z \\mid x)$", "#cfe2f3")
    arrow(3.15, 3.55)
    box(3.6, "$\\mu(x)$, $\\sigma(x)$", "#fff2cc", w=1.3)
    arrow(4.95, 5.35)
    box(5.4, "$z = \\mu + \\sigma \\odot \\varepsilon$", "#fff2cc", w=1.6)
    ax.text(6.2, 2.75, "$\\varepsilon \\sim \\mathcal{N}(0, I)$: the only randomness\n(reparameterisation)",
            ha="center", va="center", fontsize=9)
    ax.add_patch(FancyArrowPatch((6.2, 2.45), (6.2, 2.15), arrowstyle="-|>", mutation_scale=12, lw=1.2))
    arrow(7.05, 7.45)
    box(7.5, "decoder\n$p_\\theta(x \\mid z)$", "#d9ead3")
    arrow(9.05, 9.45)
    image(recon, 9.5, "reconstruction")
    ax.text(4.25, 0.55, "kl $= \\mathrm{KL}(q_\\phi(z \\mid x)\\,\\|\\,p(z))$, $p(z) = \\mathcal{N}(0, I)$",
            ha="center", fontsize=10, color="C0")
    ax.text(8.3, 0.35, "recon $= -\\log p_\\theta(x \\mid z)$", ha="center", fontsize=10, color="C2")
    ax.text(5.5, 0.05, "loss $=$ recon $+$ kl $= -$ELBO;  sampling: $z \\sim p(z)$, then the decoder alone",
            ha="center", fontsize=10)
    fig.tight_layout()
    return fig


def vae_losses(history, *, smooth: int = 20, title: str = "VAE loss per image: reconstruction vs KL"):
    """The two terms of the (negative) ELBO during training: recon and KL, per image, smoothed."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key in zip(axes, ("recon", "kl")):
        y = np.asarray(history[key], dtype=float)
        ax.plot(y, alpha=0.3, color="C0" if key == "recon" else "C1")
        ax.plot(_smooth(y, smooth), color="C0" if key == "recon" else "C1")
        ax.set(xlabel="step", ylabel="nats" if key == "kl" else "", title=key)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def latent_scatter(z, labels, *, title: str = "posterior means of test digits", max_points: int = 5000):
    """2-D latent codes (N, 2) coloured by digit."""
    z = torch.as_tensor(z)[:max_points].cpu().numpy()
    labels = torch.as_tensor(labels)[:max_points].cpu().numpy()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax, ticks=range(10), label="digit")
    ax.set(xlabel="z_1", ylabel="z_2", title=title)
    fig.tight_layout()
    return fig


def latent_manifold(model, *, n: int = 15, label=None, size: float = 5.0):
    """Decode an n x n grid of a 2-D latent space at Gaussian quantiles (Kingma & Welling, fig. 4)."""
    if model.config.latent_dim != 2:
        raise ValueError(f"latent_manifold needs latent_dim=2, the model has {model.config.latent_dim}")
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.05, 0.95, n))
    z = torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), -1).reshape(-1, 2)  # rows: z_2 high to low
    labels = None if label is None else torch.full((len(z),), int(label), device=model.device)
    with torch.no_grad():
        imgs = model.decode(z.to(model.device), labels).cpu()
    return image_grid(imgs, nrow=n, title="decoded 2-D latent space (z_1 right, z_2 up)", size=size)


def kl_per_dim_bars(kl, *, threshold: float = 0.01, title: str = "KL per latent dimension"):
    """Bars of the average KL(q(z_j|x) || N(0,1)) per dimension; those under `threshold` (collapsed) in grey."""
    kl = torch.as_tensor(kl).cpu().numpy()
    order = np.argsort(-kl)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.bar(range(len(kl)), kl[order], color=["C0" if v >= threshold else "lightgrey" for v in kl[order]])
    ax.set(xlabel="latent dimension (sorted)", ylabel="nats", title=title)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


# ---- lesson 02: GANs ----------------------------------------------------------------------------

def gan_losses(history, *, smooth: int = 20, title: str = ""):
    """D and G losses against the step, with the values at the game's equilibrium (D(x) = D(G(z)) = 1/2):
    D loss 2 log 2 = 1.386 and non-saturating G loss log 2 = 0.693 (for the BCE losses)."""
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = np.asarray(history["step"])
    for k, color in (("d_loss", "C0"), ("g_loss", "C1")):
        y = np.asarray(history[k], dtype=float)
        ax.plot(steps, y, color=color, alpha=0.25, lw=0.8)
        ys = _smooth(y, smooth)
        ax.plot(steps[len(steps) - len(ys):], ys, color=color, lw=1.5, label=k)
    ax.axhline(2 * math.log(2), color="C0", ls=":", lw=1, label="2 log 2 (D at equilibrium)")
    ax.axhline(math.log(2), color="C1", ls=":", lw=1, label="log 2 (G at equilibrium)")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.set_title(title or "the two losses: a game, not a descent")
    fig.tight_layout()
    return fig


def d_outputs(history, *, smooth: int = 20, title: str = ""):
    """Mean D(x) and D(G(z)) against the step; 1/2 is where D can no longer tell them apart."""
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = np.asarray(history["step"])
    for k, label, color in (("d_real", "D(x)", "C2"), ("d_fake", "D(G(z))", "C3")):
        y = np.asarray(history[k], dtype=float)
        ax.plot(steps, y, color=color, alpha=0.25, lw=0.8)
        ys = _smooth(y, smooth)
        ax.plot(steps[len(steps) - len(ys):], ys, color=color, lw=1.5, label=label)
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    ax.set_title(title or "discriminator outputs")
    fig.tight_layout()
    return fig


def saturation_curves():
    """|dLoss_G / d logit| against D(G(z)) for the saturating log(1 - D) and non-saturating -log D losses.

    With D = sigmoid(l): d/dl log(1 - D) = -D and d/dl (-log D) = -(1 - D). Early in training D rejects
    the fakes (D(G(z)) near 0), where the saturating gradient vanishes and the other is largest.
    """
    d = np.linspace(1e-3, 1 - 1e-3, 400)
    fig, ax = plt.subplots(figsize=(5.5, 3))
    ax.plot(d, d, label="minimax: log(1 - D(G(z)))  ->  |grad| = D")
    ax.plot(d, 1 - d, label="non-saturating: -log D(G(z))  ->  |grad| = 1 - D")
    ax.axvspan(0, 0.1, color="C3", alpha=0.1, label="early training: D rejects the fakes")
    ax.set_xlabel("D(G(z))")
    ax.set_ylabel("|gradient w.r.t. D's logit|")
    ax.legend(fontsize=7)
    ax.set_title("why the saturating loss stalls")
    fig.tight_layout()
    return fig


def class_histograms(shares: dict, *, title: str = "class histogram of samples"):
    """Bars of the share of samples per class (by the evaluation classifier), one group per entry,
    against the 1/10 of balanced data."""
    names = list(shares)
    fig, ax = plt.subplots(figsize=(7, 3))
    w = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        s = np.asarray(torch.as_tensor(shares[name]).cpu(), dtype=float)
        ax.bar(np.arange(10) + (i - (len(names) - 1) / 2) * w, s, width=w, label=name)
    ax.axhline(0.1, color="gray", ls=":", lw=1, label="balanced (MNIST)")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit (as the classifier reads it)")
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def class_histogram_over_time(histograms, *, title: str = "class shares of samples during training"):
    """Heat map of the class histogram (rows: digits) at each measured step; `histograms` is
    [(step, (10,) shares)] as kept by `CollapseMeter.histograms`."""
    steps = [s for s, _ in histograms]
    m = np.stack([np.asarray(torch.as_tensor(h).cpu(), dtype=float) for _, h in histograms], axis=1)  # (10, T)
    fig, ax = plt.subplots(figsize=(7, 3))
    im = ax.imshow(m, aspect="auto", cmap="viridis", vmin=0, vmax=max(0.3, float(m.max())),
                   interpolation="nearest")
    ax.set_yticks(range(10))
    ax.set_ylabel("digit")
    idx = np.linspace(0, len(steps) - 1, min(len(steps), 8)).round().astype(int)
    ax.set_xticks(idx)
    ax.set_xticklabels([str(steps[i]) for i in idx])
    ax.set_xlabel("step")
    fig.colorbar(im, ax=ax, label="share (balanced: 0.1)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def grid_timeline(grids, *, k: int = 5, nrow: int = 8, size: float = 2.6):
    """`k` fixed-noise grids from `history.grids`, evenly spaced in training, titled by their step."""
    idx = np.linspace(0, len(grids) - 1, min(k, len(grids))).round().astype(int)
    return grids_side_by_side({f"step {grids[i][0]}": grids[i][1] for i in idx}, nrow=nrow, size=size)


def metric_spread(values: dict, *, metric: str, title: str = ""):
    """One dot per run (e.g. per seed) and the mean, for each named setting: the spread is the stability."""
    names = list(values)
    fig, ax = plt.subplots(figsize=(5.5, 0.6 + 0.6 * len(names)))
    for i, name in enumerate(names):
        v = np.asarray(values[name], dtype=float)
        ax.plot(v, np.full(len(v), i), "o", color=f"C{i}", alpha=0.7)
        ax.plot([v.mean()], [i], "|", color="k", ms=18)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel(metric)
    ax.set_title(title or f"{metric}: one dot per seed, bar at the mean")
    fig.tight_layout()
    return fig


def optimal_discriminator_1d(x, p_data, p_g, *, d_trained=None, title: str = "the optimal discriminator in 1-D"):
    """Two 1-D densities on a grid x (N,), the optimal D*(x) = p_data / (p_data + p_g) and, if given, a
    discriminator trained on samples (N,) (Goodfellow et al. 2014, Proposition 1). Densities on the left
    axis, D on the right one, with the equilibrium value 1/2 dashed."""
    x, p_data, p_g = (torch.as_tensor(v, dtype=torch.float64).cpu().numpy() for v in (x, p_data, p_g))
    d_star = p_data / np.maximum(p_data + p_g, 1e-300)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.fill_between(x, p_data, alpha=0.3, color="C0", label="$p_{data}$")
    ax.fill_between(x, p_g, alpha=0.3, color="C1", label="$p_g$")
    ax.set(xlabel="x", ylabel="density", title=title)
    ax2 = ax.twinx()
    ax2.plot(x, d_star, "k-", lw=2, label="$D^*(x) = p_{data} / (p_{data} + p_g)$")
    if d_trained is not None:
        ax2.plot(x, torch.as_tensor(d_trained, dtype=torch.float64).cpu().numpy(), "C3--", lw=1.5,
                 label="D trained on samples")
    ax2.axhline(0.5, color="grey", ls=":", lw=1)
    ax2.set(ylim=(-0.02, 1.02), ylabel="D(x)")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="center left")
    fig.tight_layout()
    return fig


# ---- lesson 03: diffusion -----------------------------------------------------------------------

def schedule_curves(schedules: dict):
    """alpha_bar_t and log10 SNR(t) against t for named NoiseSchedules (e.g. linear against cosine)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, s in schedules.items():
        t = np.arange(s.T)
        ab = s.alpha_bar.double().cpu().numpy()
        a1.plot(t, ab, label=name)
        a2.plot(t, np.log10(ab / (1 - ab)), label=name)
    a1.set(xlabel="t", ylabel="alpha_bar_t (signal kept)", title="how much of x_0 survives in x_t")
    a2.set(xlabel="t", ylabel="log10 SNR(t)", title="signal-to-noise ratio alpha_bar / (1 - alpha_bar)")
    a2.axhline(0, color="grey", lw=0.8, ls=":")
    for a in (a1, a2):
        a.legend()
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def forward_process(x0, schedule, ts, *, generator=None, size: float = 1.3):
    """Rows: images x_0 (n, 1, 28, 28); columns: x_t at the timesteps `ts` (one noise per image), SNR in the titles."""
    eps = torch.randn(x0.shape, generator=generator)
    fig, axes = plt.subplots(len(x0), len(ts), figsize=(size * len(ts), size * len(x0) + 0.4), squeeze=False)
    for j, t in enumerate(ts):
        tt = torch.full((len(x0),), int(t))
        x_t = schedule.q_sample(x0, tt, eps)
        snr = schedule.snr(int(t)).item()
        for i in range(len(x0)):
            axes[i, j].imshow(x_t[i, 0].numpy(), cmap="gray_r", vmin=-1.5, vmax=1.5, interpolation="nearest")
            axes[i, j].set_axis_off()
        axes[0, j].set_title(f"t={int(t)}\nSNR {snr:.3g}", fontsize=8)
    fig.tight_layout()
    return fig


def loss_per_timestep(ts, losses: dict, *, title: str = "noise-prediction error per timestep"):
    """Measured eps-MSE against t, one line per model (e.g. {"DDPM": (T,) values}); log scale."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for name, v in losses.items():
        ax.plot(np.asarray(ts), np.asarray(v, float), marker=".", label=name)
    ax.set(xlabel="timestep t", ylabel="eps-MSE", yscale="log", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def trajectory(traj, *, index: int = 0, k: int = 8, size: float = 1.2):
    """Two rows for sample `index` of a sampler trajectory: x_t and the predicted x_0, at k of its steps."""
    S = len(traj["t"])
    picks = np.unique(np.linspace(0, S - 1, min(k, S)).round().astype(int))
    fig, axes = plt.subplots(2, len(picks), figsize=(size * len(picks), 2 * size + 0.6), squeeze=False)
    for j, s in enumerate(picks):
        axes[0, j].imshow(traj["x_t"][s, index, 0].numpy(), cmap="gray_r", vmin=-1.5, vmax=1.5)
        axes[1, j].imshow(traj["x0_pred"][s, index, 0].numpy(), cmap="gray_r", vmin=-1, vmax=1)
        axes[0, j].set_title(f"t={int(traj['t'][s])}", fontsize=8)
        for a in axes[:, j]:
            a.set_axis_off()
    axes[0, 0].text(-4, 14, "x_t", ha="right", va="center")
    axes[1, 0].text(-4, 14, "x0_pred", ha="right", va="center")
    fig.tight_layout()
    return fig


def measured_curve(x, curves: dict, *, xlabel: str, right: dict | None = None, right_label: str = "",
                   left_label: str = "", title: str = "", logx: bool = False):
    """Measured numbers against a setting (sampler steps, guidance scale): `curves` on the left axis,
    `right` (e.g. seconds per 1,000 images) dashed on a second axis."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, y in curves.items():
        ax.plot(x, y, marker="o", label=name)
    ax.set(xlabel=xlabel, ylabel=left_label, title=title)
    if logx:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right:
        ax2 = ax.twinx()
        for name, y in right.items():
            ax2.plot(x, y, marker="s", ls="--", color="grey", label=name)
        ax2.set_ylabel(right_label)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


# ---- lesson 05: the showdown --------------------------------------------------------------------

def quality_vs_time(runs: list[dict], *, x: str = "seconds"):
    """FID against training time (or images seen, x="images") for every showdown run, log scale."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    colors: dict[str, str] = {}
    for r in runs:
        key = r["label"]
        first = key not in colors
        color = colors.setdefault(key, f"C{len(colors)}")
        pts = [(c[x], c["fid"]) for c in r["curve"]]
        ax.plot(*zip(*pts), "o-", color=color, label=key if first else None, alpha=0.8)
    ax.set_xlabel("training seconds" if x == "seconds" else "images seen")
    ax.set_ylabel("FID (classifier features)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("quality against training budget")
    fig.tight_layout()
    return fig


def steps_curve(runs: list[dict]):
    """FID (left) and sampling seconds per 1,000 images (right) against the number of sampler steps
    (DDIM steps for a DDPM, ODE steps for a flow), one line per run (`run["steps_curve"]`)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    right = ax.twinx()
    for i, r in enumerate(runs):
        curve = r["steps_curve"]
        steps = [c["steps"] for c in curve]
        ax.plot(steps, [c["fid"] for c in curve], "o-", color=f"C{i}", label=f"{r['label']} seed {r['seed']}")
        right.plot(steps, [c["seconds_per_1000"] for c in curve], "s--", color=f"C{i}", alpha=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("sampler steps (DDIM for the DDPM, Euler for the flow)")
    ax.set_ylabel("FID (solid)")
    right.set_ylabel("s per 1,000 samples (dashed)")
    ax.legend(fontsize=8)
    ax.set_title("fewer steps: faster sampling, at a price in quality")
    fig.tight_layout()
    return fig
