"""Where each idea lives: models do not reach into training or evaluation, diagnostics have one home."""

import ast
from pathlib import Path

import genedu

PKG = Path(genedu.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_models_import_neither_train_nor_evaluate():
    for path in (PKG / "models").glob("*.py"):
        bad = {m for m in _imports(path) if m.lstrip(".").split(".")[0] in ("train", "evaluate")
               or m.startswith(("genedu.train", "genedu.evaluate"))}
        assert not bad, f"{path.name} imports {sorted(bad)}: models only predict and sample"


def test_each_diagnostic_is_defined_once():
    defs = {}
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in (
                    "sample_diversity", "blur_share", "histogram_entropy", "CollapseMeter", "draw_samples",
                    "describe_machine"):
                defs.setdefault(node.name, []).append(path.name)
    assert all(len(v) == 1 for v in defs.values()), defs
    assert len(defs) == 6, defs


def test_machine_description_names_cpu_and_torch():
    from genedu.utils import describe_machine

    line = describe_machine("cpu")
    assert "CPU(s)" in line and "torch" in line and "device cpu" in line


def test_results_file_is_found_from_a_lesson_folder_and_none_outside_a_checkout(tmp_path, monkeypatch):
    from genedu.utils import results_file

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "trials.json").write_text("{}")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where a lesson runs
    assert results_file("trials.json") == tmp_path / "benchmarks" / "results" / "trials.json"
    assert results_file("missing.json") is None
