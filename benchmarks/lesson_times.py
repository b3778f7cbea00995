"""How long each lesson's normal mode (not the tests' fast mode) takes on this machine, top to bottom.

    python benchmarks/lesson_times.py [00_mnist 01_vae ...] [--out benchmarks/results/lesson_times.json]

Each lesson runs headless (`jupyter nbconvert --execute`) from a copy in a fresh temporary folder, so it
reuses no checkpoint of an earlier run: the time is a learner's first run. GENEDU_FAST is unset, so
every lesson takes its own switch (`TRAIN_FROM_SCRATCH` is False on a CPU: the shipped references stand in
for the long trainings). Results are merged into the JSON by lesson, each with the machine, its 1-minute
load average before and after (above the core count, other work shared the machine and the time is an
upper bound), and whether the run succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def run_lesson(name: str, timeout: int) -> dict:
    src = NOTEBOOKS / f"{name}.ipynb"
    if not src.is_file():
        raise SystemExit(f"no lesson {src.name} in notebooks/")
    env = {k: v for k, v in os.environ.items() if k != "GENEDU_FAST"}
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("GENEDU_DATA", str(ROOT / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        nb = Path(tmp) / src.name
        shutil.copy(src, nb)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                               f"--ExecutePreprocessor.timeout={timeout}", "--output", "executed.ipynb", str(nb)],
                              cwd=tmp, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    from genedu.utils import describe_machine

    return {"lesson": name, "seconds": round(seconds, 1), "minutes": round(seconds / 60, 1),
            "ok": proc.returncode == 0, "error": proc.stderr[-2000:] if proc.returncode else None,
            "mode": "normal (GENEDU_FAST unset)", "machine": describe_machine(),
            "load_average_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
            "date": time.strftime("%Y-%m-%d")}


# reading speeds for the reading-time estimate: technical prose with formulas, and code one reads to
# understand (not skims); stated, not measured on readers
WORDS_PER_MINUTE, CODE_LINES_PER_MINUTE = 150, 15


def reading_minutes(name: str) -> dict:
    """An estimate of a lesson's reading time from its jupytext source: the words of its markdown cells at
    WORDS_PER_MINUTE and its non-blank code lines at CODE_LINES_PER_MINUTE."""
    import re

    text = (NOTEBOOKS / f"{name}.py").read_text()
    heads = re.findall(r"^# %%.*$", text, flags=re.M)
    cells = re.split(r"^# %%.*$", text, flags=re.M)[1:]
    words = sum(len(c.replace("#", " ").split()) for h, c in zip(heads, cells) if "[markdown]" in h)
    code = sum(sum(1 for line in c.splitlines() if line.strip()) for h, c in zip(heads, cells) if "[markdown]" not in h)
    return {"words": words, "code_lines": code,
            "minutes": round(words / WORDS_PER_MINUTE + code / CODE_LINES_PER_MINUTE)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lessons", nargs="*", help="notebook names without .ipynb (default: every lesson)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lesson_times.json"))
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell before a lesson counts as failed")
    p.add_argument("--table", action="store_true", help="print the README's table from the JSON and exit")
    args = p.parse_args(argv)
    if args.table:
        rows = json.loads(Path(args.out).read_text())["lessons"]
        print(f"| lesson | reading time (estimate: {WORDS_PER_MINUTE} words/min, {CODE_LINES_PER_MINUTE} code lines/min) "
              "| normal mode on a 2-core CPU | load during the run (1 min avg) | finished |")
        print("|---|---|---|---|---|")
        for name in sorted(rows):
            r, read = rows[name], reading_minutes(name)
            print(f"| {name} | {read['minutes']} min ({read['words']:,} words, {read['code_lines']} code lines) "
                  f"| {r['minutes']:.1f} min | {r['load_average_1min'][0]:.1f} -> {r['load_average_1min'][1]:.1f} "
                  f"| {'yes' if r['ok'] else 'no (failed)'} |")
        return 0
    lessons = args.lessons or sorted(f.stem for f in NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {"what": __doc__.splitlines()[0], "lessons": {}}
    for name in lessons:
        r = run_lesson(name, args.timeout)
        results["lessons"][name] = r
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"{name}: {r['minutes']} min, {'ok' if r['ok'] else 'FAILED'}; load {r['load_average_1min']}", flush=True)
    return 0 if all(results["lessons"][n]["ok"] for n in lessons) else 1


if __name__ == "__main__":
    sys.exit(main())
