"""ipywidgets builders for the lessons. Each function returns a widget whose state can be driven
headless (set `.value` on its controls, read what it shows), so the tests exercise the callbacks.

ipywidgets is imported inside the functions (not at `import genedu`); 7.7 (Colab) and 8 are supported.
"""

from __future__ import annotations

import torch


def _show_figure(out, fig) -> None:
    """Replace the contents of Output `out` with `fig` (as a PNG) and close the figure.

    Writing `out.outputs` directly (rather than `with out: display(...)`) works in a kernel and
    headless alike, so tests can read what a widget shows from `out.outputs`.
    """
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    out.outputs = ()
    out.append_display_data(Image(data=buf.getvalue(), format="png"))


def shown_png(out) -> bytes:
    """The PNG an Output widget currently shows (for tests: did a callback change the picture?)."""
    import base64

    for o in out.outputs:
        if "image/png" in o.get("data", {}):
            return base64.b64decode(o["data"]["image/png"])
    return b""


def digit_browser(data, *, per_page: int = 32):
    """Browse MNIST by class: a digit dropdown and a page slider show a grid of that class.

    Returns a VBox with attributes `digit` (Dropdown), `page` (IntSlider), `output` (Output) and
    `shown` (the dataset indices currently shown), so tests can drive it.
    """
    import ipywidgets as W

    from .plots import image_grid

    digit = W.Dropdown(options=list(range(10)), value=0, description="digit")
    page = W.IntSlider(value=0, min=0, max=0, description="page")
    out = W.Output()
    box = W.VBox([W.HBox([digit, page]), out])
    box.digit, box.page, box.output, box.shown = digit, page, out, torch.empty(0, dtype=torch.long)

    def render(*_):
        idx = (data.labels == digit.value).nonzero().flatten()
        page.max = max(0, (len(idx) - 1) // per_page)
        box.shown = idx[page.value * per_page:(page.value + 1) * per_page]
        fig = image_grid(data.float(box.shown), nrow=8,
                         title=f"digit {digit.value}: {len(idx):,} images, page {page.value}", size=4)
        _show_figure(out, fig)

    digit.observe(render, names="value")
    page.observe(render, names="value")
    render()
    return box


# ---- lesson 02: GANs ----------------------------------------------------------------------------

def grid_scrubber(grids, *, nrow: int = 8):
    """Scrub through training: a slider over `history.grids` (fixed-noise samples saved by `fit`).

    Returns a VBox with `slider` (IntSlider, the grid's index), `output` and `step` (the step shown).
    """
    import ipywidgets as W

    from .plots import image_grid

    if not grids:
        raise ValueError("no grids to show: train with fit(..., sample_every=N) to save some")
    slider = W.IntSlider(value=len(grids) - 1, min=0, max=len(grids) - 1, description="grid",
                         continuous_update=False)
    out = W.Output()
    box = W.VBox([slider, out])
    box.slider, box.output, box.step = slider, out, None

    def render(*_):
        step, imgs = grids[slider.value]
        box.step = step
        _show_figure(out, image_grid(imgs, nrow=nrow, title=f"step {step}", size=4))

    slider.observe(render, names="value")
    render()
    return box


def latent_walk(model, *, seed_a: int = 0, seed_b: int = 1, frames: int = 9, label: int | None = None):
    """Walk in the noise space of a GAN from z_a to z_b (each drawn from its seed).

    Controls: `seed_a`, `seed_b` (IntText), `t` (FloatSlider, 0 = z_a, 1 = z_b), `spherical`
    (Checkbox: slerp or straight line). Shows the path as a strip of `frames` images and G(z) at t,
    which is kept as `current` ((1, 1, 28, 28)). A conditional model walks within class `label`.
    """
    import ipywidgets as W

    from .models.gan import interpolate_latents
    from .plots import image_grid

    if model.conditional and label is None:
        label = 0
    a = W.IntText(value=seed_a, description="seed z_a")
    b = W.IntText(value=seed_b, description="seed z_b")
    t = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t", continuous_update=False)
    spherical = W.Checkbox(value=True, description="spherical (slerp)")
    out = W.Output()
    box = W.VBox([W.HBox([a, b]), W.HBox([t, spherical]), out])
    box.seed_a, box.seed_b, box.t, box.spherical, box.output, box.current = a, b, t, spherical, out, None

    def z(seed):
        return torch.randn(model.config.latent_dim, generator=torch.Generator().manual_seed(int(seed)))

    def render(*_):
        import matplotlib.pyplot as plt

        za, zb = z(a.value), z(b.value)
        ts = torch.cat([torch.linspace(0, 1, frames), torch.tensor([t.value])])
        path = interpolate_latents(za, zb, ts, spherical=spherical.value)  # (frames + 1, D)
        labels = None if label is None else torch.full((len(path),), int(label))
        model.eval()
        imgs = model.generate(path, labels).cpu()
        box.current = imgs[-1:]
        fig, axes = plt.subplots(1, 2, figsize=(9, 2.2), gridspec_kw={"width_ratios": [4, 1]})
        image_grid(imgs[:-1], nrow=frames, ax=axes[0], title=f"z_a (seed {a.value}) -> z_b (seed {b.value})")
        image_grid(imgs[-1:], nrow=1, ax=axes[1], title=f"t = {t.value:.2f}")
        _show_figure(out, fig)

    for w in (a, b, t, spherical):
        w.observe(render, names="value")
    render()
    return box


def class_picker(model, *, n: int = 16, seed: int = 0):
    """Samples of one chosen digit from a class-conditional model: a `digit` Dropdown and a `seed`
    IntText; the samples shown are kept as `images` ((n, 1, 28, 28))."""
    import ipywidgets as W

    from .plots import image_grid

    if not model.conditional:
        raise ValueError("class_picker needs a class-conditional model (num_classes > 0), e.g. the 'cgan' preset")
    digit = W.Dropdown(options=list(range(model.config.num_classes)), value=0, description="digit")
    seed_box = W.IntText(value=seed, description="seed")
    out = W.Output()
    box = W.VBox([W.HBox([digit, seed_box]), out])
    box.digit, box.seed, box.output, box.images = digit, seed_box, out, None

    def render(*_):
        model.eval()
        g = torch.Generator().manual_seed(int(seed_box.value))
        box.images = model.sample(n, labels=torch.full((n,), digit.value), generator=g).cpu()
        _show_figure(out, image_grid(box.images, nrow=int(n ** 0.5) or 1, title=f"digit {digit.value}", size=3))

    digit.observe(render, names="value")
    seed_box.observe(render, names="value")
    render()
    return box
