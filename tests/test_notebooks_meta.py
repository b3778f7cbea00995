"""The lessons' source (.py, jupytext py:percent) and the .ipynb Colab opens must agree."""

import re
from pathlib import Path

import jupytext
import pytest

from genedu._version import REPO_URL

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NB_DIR.glob("[0-9][0-9]_*.py")) + sorted(NB_DIR.glob("[0-9][0-9][a-z]_*.py"))


def test_there_are_lessons():
    assert SOURCES, "no notebooks/NN_name.py found"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_pair_is_in_sync_and_committed_without_outputs(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.is_file(), f"{py.name} has no paired {ipynb.name}: run `jupytext --sync {py.name}`"
    src, nb = jupytext.read(py), jupytext.read(ipynb)
    cells = lambda n: [(c.cell_type, c.source.strip()) for c in n.cells]  # noqa: E731
    assert cells(src) == cells(nb), f"{ipynb.name} and {py.name} differ: run `jupytext --sync notebooks/{py.name}`"
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, f"{ipynb.name} has outputs"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_lesson_opens_with_a_colab_badge_and_the_one_repository_address(py):
    text = py.read_text()
    badge = f"colab.research.google.com/github/{REPO_URL.split('github.com/')[1]}/blob/main/notebooks/{py.stem}.ipynb"
    assert badge in text, f"{py.name}: Colab badge missing or pointing elsewhere (expected {badge})"
    urls = set(re.findall(r'REPO_URL = "([^"]+)"', text))
    assert urls == {REPO_URL}, f"{py.name}: REPO_URL must be {REPO_URL!r} (genedu._version.REPO_URL), found {urls}"
    assert 'if "google.colab" in sys.modules' in text, f"{py.name}: install genedu in Colab only"
    assert "fast_mode()" in text, f"{py.name}: the parameters cell must read GENEDU_FAST through fast_mode()"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_code_cells_are_short_enough_to_read(py):
    """A code cell a learner reads in one go: about 20 lines (at most 25 non-blank ones)."""
    text = py.read_text()
    heads = re.findall(r"^# %%.*$", text, flags=re.M)
    cells = re.split(r"^# %%.*$", text, flags=re.M)[1:]
    long = [(c.strip().splitlines()[0][:60], n) for h, c in zip(heads, cells) if "[markdown]" not in h
            for n in [sum(1 for line in c.splitlines() if line.strip())] if n > 25]
    assert not long, f"{py.name}: code cells over 25 lines (split them where the idea changes): {long}"
