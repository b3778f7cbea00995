"""The generated docs match the JSON records they are written from, and the README stays a front page."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "tools" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_match_the_json(make_docs, capsys):
    code = make_docs.main(["--check"])
    assert code == 0, "stale: " + capsys.readouterr().err + " Run `python tools/make_docs.py` and commit."


def test_check_names_the_stale_readme_block_and_a_missing_results_page(make_docs, tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- begin: five-minutes -->\n(.*?)<!-- end: five-minutes -->", text, re.S).group(1)
    readme.write_text(text.replace(block, block.replace("|", "!", 3)))  # a hand edit inside a generated table
    monkeypatch.setattr(make_docs, "README", readme)
    monkeypatch.setattr(make_docs, "DOCS", tmp_path / "docs")
    assert make_docs.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "block 'five-minutes'" in err and "results.md (missing)" in err
    assert "block 'lessons'" not in err and "block 'references'" not in err
    assert not (tmp_path / "docs").exists()  # --check writes nothing
    assert make_docs.main([]) == 0  # writing repairs both
    assert make_docs.main(["--check"]) == 0 and readme.read_text() == text


def test_a_readme_without_a_block_is_refused_by_name(make_docs, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text().replace("<!-- begin: references -->", ""))
    monkeypatch.setattr(make_docs, "README", readme)
    with pytest.raises(SystemExit, match="no block 'references'.*<!-- begin: references -->"):
        make_docs.outputs()


def test_every_result_file_reaches_the_results_page(make_docs):
    page = make_docs.results_md()
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        assert f"`benchmarks/results/{path.name}`" in page, f"{path.name} has no section in docs/results.md"
    for path in sorted((ROOT / "genedu" / "assets" / "references").glob("*.json")):
        assert f"### {path.stem}\n" in page, f"reference {path.stem} has no section"


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 160, "README.md is a front page: move detail to docs/"
    # the set-up that .ci/run relies on: the README's install, and exactly `pytest`
    assert 'pip install -e ".[dev,notebooks]" && jupyter lab notebooks/' in text
    assert re.search(r"^pytest\s+#", text, re.M) and ".ci/run" in text
    for section in ("## The lessons", "## Set-up", "## What each family reaches", "## Command line"):
        assert section in text
    # every local link resolves, and every page under docs/ is linked from the README
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)", text):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in text, f"docs/{page.name} is not linked from the README"


def test_readme_commands_are_the_tested_ones():
    block = re.search(r"## Command line\n+```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    commands = {" ".join(line.split()[:2]) for line in block.splitlines() if line.startswith("genedu ")}
    assert commands == {"genedu train", "genedu sample", "genedu evaluate", "genedu showdown", "genedu reference"}
    assert "--checkpoint" in block and "--reference" in block
