"""ipywidgets builders for the lessons. Each function returns a widget whose state can be driven
headless (set `.value` on its controls, read what it shows), so the tests exercise the callbacks.

ipywidgets is imported inside the functions (not at `import genedu`); 7.7 (Colab) and 8 are supported.
Sections: shared display helpers, then one per lesson in course order; lesson 03b's are in
`genedu.flow_plots`.
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


# ---- lesson 01: VAE -----------------------------------------------------------------------------

def latent_sliders(model, *, dims: int = 6, label: int | None = None, limit: float = 3.0):
    """Decode z as you move sliders: one FloatSlider per latent dimension (the first `dims`; the
    others stay 0). Controls: `sliders` (a list). The image shown is kept as `image` ((1, 1, 28, 28))."""
    import ipywidgets as W

    from .plots import image_grid

    d = min(dims, model.config.latent_dim)
    if model.conditional and label is None:
        label = 0
    sliders = [W.FloatSlider(value=0.0, min=-limit, max=limit, step=0.1, description=f"z_{j + 1}",
                             continuous_update=False) for j in range(d)]
    out = W.Output()
    box = W.HBox([W.VBox(sliders), out])
    box.sliders, box.output, box.image = sliders, out, None

    def render(*_):
        z = torch.zeros(1, model.config.latent_dim)
        z[0, :d] = torch.tensor([s.value for s in sliders])
        labels = None if label is None else torch.tensor([int(label)], device=model.device)
        model.eval()
        with torch.no_grad():
            box.image = model.decode(z.to(model.device), labels).cpu()
        _show_figure(out, image_grid(box.image, nrow=1, size=2.2, title="decoder(z)"))

    for s in sliders:
        s.observe(render, names="value")
    render()
    return box


def interpolation_explorer(model, data, *, frames: int = 9):
    """Interpolate between the posterior means of two chosen digits of `data` (an MNIST split).

    Controls: `index_a`, `index_b` (IntText, image indices). Shows the two originals and the decoded
    straight line between their codes; the strip is kept as `images` ((frames, 1, 28, 28))."""
    import ipywidgets as W

    from .plots import image_grid

    a = W.IntText(value=0, description="digit A #")
    b = W.IntText(value=1, description="digit B #")
    out = W.Output()
    box = W.VBox([W.HBox([a, b]), out])
    box.index_a, box.index_b, box.output, box.images = a, b, out, None

    def render(*_):
        import matplotlib.pyplot as plt

        ia, ib = int(a.value) % len(data), int(b.value) % len(data)
        x = data.float([ia, ib]).to(model.device)
        y = data.labels[[ia, ib]].to(model.device)
        model.eval()
        with torch.no_grad():
            mu, _ = model.encode(x, y if model.conditional else None)
            t = torch.linspace(0, 1, frames, device=mu.device)[:, None]
            z = (1 - t) * mu[0] + t * mu[1]  # (frames, D)
            labels = None
            if model.conditional:  # the label switches half way
                labels = torch.where(t[:, 0] < 0.5, y[0], y[1])
            box.images = model.decode(z, labels).cpu()
        fig, axes = plt.subplots(1, 3, figsize=(10, 1.8), gridspec_kw={"width_ratios": [1, frames, 1]})
        image_grid(x[:1].cpu(), nrow=1, ax=axes[0], title=f"A: #{ia}")
        image_grid(box.images, nrow=frames, ax=axes[1], title="decode((1 - t) mu_A + t mu_B)")
        image_grid(x[1:].cpu(), nrow=1, ax=axes[2], title=f"B: #{ib}")
        _show_figure(out, fig)

    a.observe(render, names="value")
    b.observe(render, names="value")
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


# ---- lesson 03: diffusion -----------------------------------------------------------------------

def noising_slider(images, schedule, *, seed: int = 0):
    """Noise a chosen digit to timestep t: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.

    `images` (N, 1, 28, 28) in [-1, 1]. Returns a VBox with `t` (IntSlider), `index` (IntSlider: which
    image), `output`, and what it shows: `x_t` (1, 1, 28, 28), `snr` and `alpha_bar` at t.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    t = W.IntSlider(value=schedule.T // 4, min=0, max=schedule.T - 1, description="t", continuous_update=False)
    index = W.IntSlider(value=0, min=0, max=len(images) - 1, description="image", continuous_update=False)
    out = W.Output()
    box = W.VBox([W.HBox([t, index]), out])
    box.t, box.index, box.output = t, index, out
    eps = torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(seed))

    def render(*_):
        x0 = images[index.value:index.value + 1].float().cpu()
        tt = torch.tensor([t.value])
        box.x_t = schedule.q_sample(x0, tt, eps)
        box.alpha_bar = schedule.alpha_bar[t.value].item()
        box.snr = schedule.snr(t.value).item()
        fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.4))
        for a, img, name in zip(axes, (x0, eps, box.x_t), ("x_0", "eps", f"x_t, t={t.value}")):
            a.imshow(img[0, 0].numpy(), cmap="gray_r", vmin=-1.5, vmax=1.5)
            a.set_title(name, fontsize=9)
            a.set_axis_off()
        fig.suptitle(f"alpha_bar={box.alpha_bar:.4f}   SNR={box.snr:.4g}", fontsize=9)
        _show_figure(out, fig)

    t.observe(render, names="value")
    index.observe(render, names="value")
    render()
    return box


def trajectory_scrubber(traj, *, n: int = 8):
    """Scrub a sampler trajectory (from `model.sample(..., return_trajectory=True)`): x_t and the predicted
    x_0 of the first `n` samples at one step. Returns a VBox with `step` (IntSlider), `output` and `shown_t`."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from .plots import image_grid

    S = len(traj["t"])
    step = W.IntSlider(value=0, min=0, max=S - 1, description="step", continuous_update=False)
    out = W.Output()
    box = W.VBox([step, out])
    box.step, box.output = step, out

    def render(*_):
        s = step.value
        box.shown_t = int(traj["t"][s])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3.6))
        image_grid(traj["x_t"][s, :n].clamp(-1, 1), nrow=4, ax=a1, title=f"x_t at t={box.shown_t}")
        image_grid(traj["x0_pred"][s, :n], nrow=4, ax=a2, title="x0_pred (the network's guess)")
        _show_figure(out, fig)

    step.observe(render, names="value")
    render()
    return box


def sampler_explorer(model, *, n: int = 16, seed: int = 0, steps: int = 10, max_steps: int = 100,
                     guidance: float = 1.0, max_guidance: float = 6.0):
    """DDIM steps and guidance scale sliders: samples of digits 0..9 from the same noise, with the time taken.

    Returns a VBox with `steps` (IntSlider), `guidance` (FloatSlider; only for a conditional model),
    `output`, and what it shows: `samples` (n, 1, 28, 28) and `seconds`.
    """
    import time

    import ipywidgets as W

    from .plots import image_grid

    steps_w = W.IntSlider(value=steps, min=1, max=max_steps, description="DDIM steps", continuous_update=False)
    guide_w = W.FloatSlider(value=guidance, min=0.0, max=max_guidance, step=0.5, description="guidance",
                            continuous_update=False, disabled=not model.conditional)
    out = W.Output()
    box = W.VBox([W.HBox([steps_w, guide_w]), out])
    box.steps, box.guidance, box.output = steps_w, guide_w, out
    labels = torch.arange(n) % 10 if model.conditional else None

    def render(*_):
        g = torch.Generator().manual_seed(seed)
        started = time.perf_counter()
        box.samples = model.sample(n, labels=labels, generator=g, sampler="ddim", steps=steps_w.value,
                                   guidance=guide_w.value if model.conditional else None).cpu()
        box.seconds = time.perf_counter() - started
        what = f", guidance {guide_w.value:g}" if model.conditional else ""
        fig = image_grid(box.samples, nrow=int(n**0.5 + 0.5), size=3.6,
                         title=f"DDIM {steps_w.value} steps{what}: {box.seconds:.2f} s")
        _show_figure(out, fig)

    steps_w.observe(render, names="value")
    guide_w.observe(render, names="value")
    render()
    return box
