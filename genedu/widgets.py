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
