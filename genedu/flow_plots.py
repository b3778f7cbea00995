"""Figures, widgets and two measuring helpers of lesson 03b (flow matching and rectified flow).

Figures return a matplotlib Figure. Widget builders import ipywidgets inside the function (7.7 and 8
are supported) and return a box whose controls can be driven headless: set `.value` on a control and
read what the box now holds (its attributes) and shows (`genedu.widgets.shown_png(box.output)`).
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch

from .plots import image_grid
from .widgets import _show_figure

# ---- figures ---------------------------------------------------------------------------------------


def _paths_panel(ax, path: torch.Tensor, target: torch.Tensor | None, *, n_lines: int = 64, title: str = ""):
    """One panel: the target (grey), `n_lines` paths (S + 1, n, 2) from noise (blue) to their ends (red)."""
    if target is not None:
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.75", zorder=0)
    p = path[:, :n_lines]
    ax.plot(p[:, :, 0], p[:, :, 1], lw=0.6, c="tab:blue", alpha=0.5)
    ax.scatter(path[-1, :, 0], path[-1, :, 1], s=3, c="tab:red", zorder=3)
    ax.scatter(p[0, :, 0], p[0, :, 1], s=3, c="tab:blue", zorder=3)
    ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), xticks=[], yticks=[], aspect="equal")
    ax.set_title(title, fontsize=9)


def toy_paths(paths: dict[str, dict[int, torch.Tensor]], target: torch.Tensor | None = None, *,
              distances: dict[str, dict[int, float]] | None = None, n_lines: int = 64, size: float = 2.4):
    """A grid of 2-D sampling paths: rows are models ({name: {steps: path (steps + 1, n, 2)}}), columns
    step counts; grey dots are target samples, blue lines paths from noise, red dots where they end."""
    names = list(paths)
    steps = list(paths[names[0]])
    fig, axes = plt.subplots(len(names), len(steps), figsize=(size * len(steps), size * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, k in enumerate(steps):
            title = f"{name}, {k} step{'s' if k > 1 else ''}"
            if distances is not None:
                title += f"\nSW {distances[name][k]:.2f}"
            _paths_panel(axes[r, c], paths[name][k], target, n_lines=n_lines, title=title)
    fig.tight_layout()
    return fig


def metric_vs_steps(curves: dict[str, tuple[list[float], list[float]]], *, ylabel: str, xlabel: str = "network calls",
                    floor: float | None = None, title: str | None = None, logy: bool = False):
    """Curves {name: (xs, ys)} against network calls (log x), with an optional floor line (e.g. real data)."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, (xs, ys) in curves.items():
        ax.plot(xs, ys, "o-", label=name)
    if floor is not None:
        ax.axhline(floor, color="0.5", ls="--", label="floor (real data)")
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    fig.tight_layout()
    return fig


def same_noise_rows(rows: dict[str, torch.Tensor], *, size: float = 1.0):
    """Image rows titled by their keys: the same starting noise through several samplers (n, 1, 28, 28) each."""
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), 1, figsize=(size * n, 1.25 * size * len(rows)), squeeze=False)
    for ax, (name, imgs) in zip(axes[:, 0], rows.items()):
        image_grid(imgs, nrow=n, ax=ax, title=name)
    fig.tight_layout()
    return fig


def straightness_bars(stats: dict[str, dict[str, float]]):
    """Two bar charts from {name: path_straightness(...)}: straightness S (0 = straight) and length ratio (1 = straight)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3))
    names = list(stats)
    a1.bar(names, [stats[k]["straightness"] for k in names], color=["tab:orange", "tab:green"][:len(names)])
    a1.set(title="straightness S (0: straight lines)")
    a2.bar(names, [stats[k]["length_ratio"] for k in names], color=["tab:orange", "tab:green"][:len(names)])
    a2.axhline(1.0, color="0.5", ls="--")
    a2.set(title="path length / end-to-end distance (1: straight)")
    fig.tight_layout()
    return fig


# ---- measurements --------------------------------------------------------------------------------


def heldout_flow_loss(model, data, *, n: int = 512, seed: int = 30) -> float:
    """The flow-matching loss L_C on the first `n` digits of `data` (a genedu MNIST split), with t and eps
    fixed by `seed` (eps from `seed`, t from `seed + 1`): the mean over pixels of
    (v_theta(x_t, t, y) - (eps - x_0))^2, where x_t = (1 - t) x_0 + t eps. Same inputs for every model,
    so a trained and an untrained network are compared on equal terms."""
    from .models.flow import path_sample

    if not 0 < n <= len(data):
        raise ValueError(f"n must be between 1 and the {len(data)} digits of the split, got {n}: pass a smaller n")
    x0, y = data.float(torch.arange(n)).to(model.device), data.labels[:n].to(model.device)  # (n, 1, 28, 28), (n,)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).to(model.device)
    t = torch.rand(n, generator=torch.Generator().manual_seed(seed + 1)).to(model.device)
    x_t, u_t = path_sample(x0, eps, t)
    with torch.no_grad():
        return (model.velocity(x_t, t, y if model.conditional else None) - u_t).pow(2).mean().item()


def reflow_table(record: dict) -> str:
    """A reference flow's reflow record (`genedu.reference.reference_info("flow")["reflow"]`) as text: one row
    for the parent and one per reflowed variant, with straightness S, how many times straighter than the
    parent, and FID at each recorded number of Euler steps; then a line saying where the numbers come from."""
    if not isinstance(record, dict) or not {"parent", "variants"} <= set(record):
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"expected a reflow record with 'parent' and 'variants' (reference_info('flow')['reflow']), "
                         f"found {found}")
    parent, variants = record["parent"], record["variants"]
    steps = list(parent["fid_euler"])
    rows = [("reference flow", parent)] + [(f"reflowed, t {name}", v) for name, v in variants.items()]
    lines = [f"{'model':>22} | straightness | x straighter | FID at " + ", ".join(steps) + " Euler steps"]
    for name, r in rows:
        lines.append(f"{name:>22} | {r['straightness']:12.4f} | {parent['straightness'] / r['straightness']:11.0f}x | "
                     + ", ".join(f"{r['fid_euler'][k]:.1f}" for k in steps))
    first = next(iter(variants.values()), {})
    solver = first.get("coupling_solver", {})
    seconds = ", ".join(f"{name} {v.get('trained', {}).get('seconds', '?')} s" for name, v in variants.items())
    lines.append(f"where these numbers come from: {record.get('what', 'no description recorded')}; "
                 f"{first.get('couplings', '?')} couplings ({solver.get('method', '?')}, {solver.get('steps', '?')} steps); "
                 f"training {seconds}; {record.get('machine', '?').split(';')[0]}")
    return "\n".join(lines)


# ---- widgets ---------------------------------------------------------------------------------------


@torch.no_grad()
def few_step_gaps(fewstep, teacher, accurate_options: dict, *, n: int = 200, seed: int = 60,
                  calls: tuple[int, ...] = (1, 2)) -> tuple[dict[str, torch.Tensor], dict[int, tuple[float, float]]]:
    """How far a few-step flow and its teacher's own Euler steps land from the teacher's accurate answer
    (`accurate_options`, e.g. midpoint 10 steps), on the same noise and class-balanced labels.

    Returns the images by row name (for `same_noise_rows`) and, per number of calls k, the mean squared
    distance per pixel of (few-step flow, teacher Euler) to the accurate answer."""
    if fewstep.config.num_classes != teacher.config.num_classes or not fewstep.config.few_steps:
        raise ValueError("few_step_gaps compares a few-step flow (few_steps set) with the teacher it was distilled "
                         "from: both class-conditional alike")
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % teacher.config.num_classes if teacher.conditional else None
    accurate = teacher.sample(n, labels=labels, noise=noise, **accurate_options).cpu()
    calls_of = {"euler": 1, "midpoint": 2, "heun": 2}[accurate_options.get("method", "heun")] * accurate_options["steps"]
    rows, gaps = {f"teacher, {calls_of} calls": accurate}, {}
    gap = lambda x: (x - accurate).pow(2).mean().item()  # noqa: E731
    for k in calls:
        rows[f"few-step, {k} call(s)"] = fewstep.sample(n, labels=labels, noise=noise, method="euler", steps=k).cpu()
        rows[f"teacher Euler, {k} call(s)"] = teacher.sample(n, labels=labels, noise=noise, method="euler", steps=k).cpu()
        gaps[k] = (gap(rows[f"few-step, {k} call(s)"]), gap(rows[f"teacher Euler, {k} call(s)"]))
    return rows, gaps


def toy_steps_explorer(samplers: dict, eps: torch.Tensor, target: torch.Tensor, *, steps: int = 4,
                       max_steps: int = 64, n_lines: int = 64):
    """A steps slider that redraws the toy paths of every sampler from the same noise `eps` (n, 2).

    samplers: {name: callable(eps, steps) -> (x, path (steps + 1, n, 2))}, e.g.
    ``lambda e, k: flow.sample(e, steps=k, return_trajectory=True)``.
    Returns a VBox with `steps` (IntSlider), `output`, `paths` ({name: path}) and `distances`
    ({name: sliced Wasserstein distance of the end points to `target`}).
    """
    import ipywidgets as W

    from .toy import sliced_wasserstein

    slider = W.IntSlider(value=steps, min=1, max=max_steps, description="steps", continuous_update=False)
    out = W.Output()
    box = W.VBox([slider, out])
    box.steps, box.output, box.paths, box.distances = slider, out, {}, {}

    def render(*_):
        k = slider.value
        box.paths = {name: s(eps, k)[1] for name, s in samplers.items()}
        box.distances = {name: sliced_wasserstein(p[-1], target) for name, p in box.paths.items()}
        fig = toy_paths({name: {k: p} for name, p in box.paths.items()}, target,
                        distances={name: {k: d} for name, d in box.distances.items()}, n_lines=n_lines)
        _show_figure(out, fig)

    slider.observe(render, names="value")
    render()
    return box


def interpolation_slider(model, image: torch.Tensor, *, label: int | None = None, seed: int = 0, t: float = 0.5):
    """Slide t along x_t = (1 - t) x_0 + t eps between a digit `image` (1, 28, 28) and fixed noise, and see
    the flow's guess of the clean digit, x0_pred = x_t - t v_theta(x_t, t) (exact for a perfect v on a
    single-point data set; for MNIST the mean of the digits that could lie behind x_t).

    Returns a VBox with `t` (FloatSlider), `output`, `x_t`, `x0_pred` (1, 1, 28, 28) and `error`
    (mean squared difference between x0_pred and the digit).
    """
    import ipywidgets as W

    from .models.flow import path_sample

    x0 = image.reshape(1, 1, 28, 28).float().to(model.device)
    eps = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).to(model.device)
    y = torch.tensor([label], device=model.device) if label is not None and model.conditional else None
    slider = W.FloatSlider(value=t, min=0.0, max=1.0, step=0.05, description="t", continuous_update=False)
    out = W.Output()
    box = W.VBox([slider, out])
    box.t, box.output = slider, out

    def render(*_):
        tt = torch.tensor([slider.value], device=model.device)
        x_t, _ = path_sample(x0, eps, tt)
        with torch.no_grad():
            v = model.velocity(x_t, tt, y)
        box.x_t, box.x0_pred = x_t.cpu(), (x_t - tt.view(-1, 1, 1, 1) * v).clamp(-1, 1).cpu()
        box.error = float((box.x0_pred - x0.cpu()).pow(2).mean())
        fig, axes = plt.subplots(1, 3, figsize=(6, 2.3))
        for ax, (name, img) in zip(axes, {"x_0 (the digit)": x0.cpu(), f"x_t, t = {slider.value:.2f}": x_t.cpu(),
                                          f"x_t - t v  (MSE {box.error:.3f})": box.x0_pred}.items()):
            image_grid(img.clamp(-1, 1), nrow=1, ax=ax, title=name)
        _show_figure(out, fig)

    slider.observe(render, names="value")
    render()
    return box


def flow_sampler_explorer(model, *, n: int = 20, seed: int = 0, steps: int = 4, max_steps: int = 50,
                          method: str = "euler"):
    """Steps, solver and guidance for a trained Flow, from the same noise every time (labels i mod 10).

    Returns a VBox with `steps` (IntSlider), `method` (Dropdown), `guidance` (FloatSlider; 1 is the plain
    conditional model, 0 unconditional), `output`, `samples` (n, 1, 28, 28) and `seconds` (last draw).
    """
    import ipywidgets as W

    steps_w = W.IntSlider(value=steps, min=1, max=max_steps, description="steps", continuous_update=False)
    method_w = W.Dropdown(options=["euler", "midpoint", "heun"], value=method, description="solver")
    guide_w = W.FloatSlider(value=1.0, min=0.0, max=6.0, step=0.5, description="guidance", continuous_update=False)
    out = W.Output()
    box = W.VBox([W.HBox([steps_w, method_w, guide_w]), out])
    box.steps, box.method, box.guidance, box.output = steps_w, method_w, guide_w, out
    labels = (torch.arange(n) % 10).to(model.device) if model.conditional else None
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))

    def render(*_):
        t0 = time.perf_counter()
        guidance = guide_w.value if model.conditional and guide_w.value != 1.0 else None
        box.samples = model.sample(n, labels=labels, noise=noise, steps=steps_w.value, method=method_w.value,
                                   guidance=guidance).cpu()
        box.seconds = time.perf_counter() - t0
        calls = steps_w.value * (1 if method_w.value == "euler" else 2) * (2 if guidance is not None else 1)
        fig = image_grid(box.samples, nrow=10, size=5, title=f"{method_w.value}, {steps_w.value} steps, guidance "
                         f"{guide_w.value:g}: {calls} network calls, {box.seconds:.2f} s")
        _show_figure(out, fig)

    for w in (steps_w, method_w, guide_w):
        w.observe(render, names="value")
    render()
    return box
