"""How long each lesson's normal mode (not the tests' fast mode) takes on this machine, top to bottom.

    python benchmarks/lesson_times.py [00_mnist 01_vae ...] [--out benchmarks/results/lesson_times.json]
    python benchmarks/lesson_times.py --lanes 01_vae,00_mnist 02_gan,04_evaluation --deadline-minutes 8 \
        --out benchmarks/results/lesson_times_gpu.json --keep OUT/lessons      # on a GPU, lessons side by side

Each lesson runs headless in a fresh kernel (nbclient, as `jupyter nbconvert --execute` does) from a copy in
a fresh temporary folder, so it reuses no checkpoint of an earlier run: the time is a learner's first run.
GENEDU_FAST is unset, so every lesson takes its own switch (`TRAIN_FROM_SCRATCH` is False on a CPU: the
shipped references stand in for the long trainings; True on a GPU: it trains everything). Results are
merged into the JSON by lesson, each with the machine, its 1-minute load average before and after (above
the core count, other work shared the machine and the time is an upper bound), whether it finished and
succeeded, and, with `--lanes`, the lessons that ran beside it (they share the GPU: an upper bound too).
`--table` prints the README's table from this JSON and `lesson_times_gpu.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "benchmarks" / "results"


def execute_one(path: Path, timeout: int) -> int:
    """Run one notebook top to bottom in a fresh kernel (nbclient, what `jupyter nbconvert --execute` uses) and
    write what it ran, outputs and the failing cell included, to executed.ipynb beside it, also when stopped."""
    import signal

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    def stop(signum, frame):  # the driver's deadline: end like Ctrl-C so the finally below still writes
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
        return 0
    except CellExecutionError as e:
        print(str(e)[-3000:], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped at the driver's deadline", file=sys.stderr)
        return 2
    finally:
        nbformat.write(nb, path.parent / "executed.ipynb")


def clean(text: str | None) -> str:
    """A kernel's error as plain text: no terminal colours, and no folder of this machine (the repository
    and Python's prefix are named, not spelled out), so the record can be committed."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "")
    for folder, name in ((str(ROOT), "<repo>"), (sys.prefix, "<python>"), (tempfile.gettempdir(), "<tmp>")):
        text = text.replace(folder, name)
    return text


def run_lesson(name: str, timeout: int, deadline: float | None = None, keep: Path | None = None,
               threads: int | None = None, fast: bool = False) -> dict:
    """Time one lesson's normal mode from a copy in a fresh temporary folder. `deadline` (time.time()) stops
    it there, recorded as not finished; `keep` receives the executed notebook and the JSON files the lesson
    wrote under checkpoints/ (a showdown's finished runs, say)."""
    src = NOTEBOOKS / f"{name}.ipynb"
    if not src.is_file():
        raise SystemExit(f"no lesson {src.name} in notebooks/")
    env = {k: v for k, v in os.environ.items() if k != "GENEDU_FAST"}
    if fast:  # the tests' mode: every cell runs on tiny budgets (a check of a device's code path, not a time)
        env["GENEDU_FAST"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("GENEDU_DATA", str(ROOT / "data"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))  # genedu, installed or not
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    stopped = False
    with tempfile.TemporaryDirectory() as tmp:
        nb = Path(tmp) / src.name
        shutil.copy(src, nb)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--execute-one", str(nb),
                                 "--timeout", str(timeout)], cwd=tmp, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate(timeout=None if deadline is None else max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            stopped = True
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
        seconds = time.perf_counter() - t0
        if keep is not None:
            dest = keep / name
            dest.mkdir(parents=True, exist_ok=True)
            if (Path(tmp) / "executed.ipynb").is_file():
                shutil.copy(Path(tmp) / "executed.ipynb", dest / f"{name}.ipynb")
            for f in Path(tmp).glob("checkpoints/**/*.json"):
                target = dest / f.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
    from genedu.utils import describe_machine

    ok = proc.returncode == 0 and not stopped
    return {"lesson": name, "seconds": round(seconds, 1), "minutes": round(seconds / 60, 1), "ok": ok,
            "finished": not stopped,
            "error": None if ok else ("stopped at the deadline, unfinished; " if stopped else "") + clean(err)[-2000:],
            "mode": "fast (GENEDU_FAST=1)" if fast else "normal (GENEDU_FAST unset)", "machine": describe_machine(),
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


def lesson_title(name: str) -> str:
    """The lesson's title: its source's first markdown heading, without the lesson number in front."""
    import re

    for line in (NOTEBOOKS / f"{name}.py").read_text().splitlines():
        if line.startswith("# # "):
            return re.sub(r"^(Lesson\s+)?\w+\s*[·:]\s*", "", line[4:].strip())
    return name


def lessons_table(cpu_path: Path, repo_url: str | None = None) -> str:
    """The README's lessons table: title (linked), reading time (computed now from the source), normal mode on
    a 2-core CPU (from the JSON), and a Colab badge."""
    if repo_url is None:
        from genedu._version import REPO_URL as repo_url
    cpu = json.loads(cpu_path.read_text())["lessons"] if cpu_path.is_file() else {}
    colab = repo_url.replace("https://github.com/", "https://colab.research.google.com/github/")
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    lines = [f"| # | lesson | reading time (estimate) | normal mode, 2-core CPU | open |", "|---|---|---|---|---|"]
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]*.py")):
        name, r = path.stem, cpu.get(path.stem)
        run = "not measured" if r is None else f"{r['minutes']:.1f} min" + ("" if r.get("ok", True) else " (failed)")
        lines.append(f"| {name.split('_')[0]} | [{lesson_title(name)}](notebooks/{name}.ipynb) | "
                     f"{reading_minutes(name)['minutes']} min | {run} | "
                     f"[![Open In Colab]({badge})]({colab}/blob/main/notebooks/{name}.ipynb) |")
    return "\n".join(lines)


def table(cpu_path: Path, gpu_path: Path) -> str:
    """The README's table: reading time, and each lesson's normal mode on this CPU and, where measured, a GPU."""
    cpu = json.loads(cpu_path.read_text())["lessons"]
    gpu = json.loads(gpu_path.read_text())["lessons"] if gpu_path.is_file() else {}
    card = next((r["machine"].split(";")[0] for r in gpu.values()), None)
    lines = [f"| lesson | reading time (estimate: {WORDS_PER_MINUTE} words/min, {CODE_LINES_PER_MINUTE} code lines/min) "
             "| normal mode on a 2-core CPU (load, 1 min avg) |" + (f" normal mode on a GPU ({card}) |" if card else ""),
             "|---|---|---|" + ("---|" if card else "")]

    def cell(r):
        if r is None:
            return "not measured"
        if r.get("table_note"):
            return r["table_note"]
        if not r.get("finished", True):
            return f"unfinished: stopped after {r['minutes']:.1f} min"
        return f"{r['minutes']:.1f} min" + ("" if r["ok"] else " (failed)")

    for name in sorted(set(cpu) | set(gpu)):
        read, r = reading_minutes(name), cpu.get(name)
        load = f" ({r['load_average_1min'][0]:.1f} -> {r['load_average_1min'][1]:.1f})" if r else ""
        row = f"| {name} | {read['minutes']} min ({read['words']:,} words, {read['code_lines']} code lines) | {cell(r)}{load} |"
        if card:
            g = gpu.get(name)
            row += f" {cell(g)}" + (f", beside {len(g['beside'])} other lesson(s)" if g and g.get("beside") else
                                    ", alone" if g else "") + " |"
        lines.append(row)
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lessons", nargs="*", help="notebook names without .ipynb (default: every lesson)")
    p.add_argument("--out", default=str(RESULTS / "lesson_times.json"))
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell before a lesson counts as failed")
    p.add_argument("--lanes", nargs="+", metavar="A,B,...",
                   help="run these comma-separated lists of lessons side by side, each list in order (a GPU: "
                        "small models leave it mostly idle); each record names the lessons that ran beside it")
    p.add_argument("--deadline-minutes", type=float, help="stop whatever still runs then, recorded as unfinished")
    p.add_argument("--keep", help="folder for the executed notebooks and the JSON files the lessons wrote")
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS for each lesson's kernel (lanes share the CPU)")
    p.add_argument("--fast", action="store_true", help="run the tests' fast mode instead (GENEDU_FAST=1): "
                   "checks every cell on this machine's device in minutes; its times are not the README's")
    p.add_argument("--table", action="store_true", help="print the README's table from the JSONs and exit")
    p.add_argument("--execute-one", help=argparse.SUPPRESS)  # internal: run one notebook in this process
    args = p.parse_args(argv)
    if args.execute_one:
        return execute_one(Path(args.execute_one), args.timeout)
    if args.table:
        print(table(Path(args.out), RESULTS / "lesson_times_gpu.json"))
        return 0
    if args.lanes and args.lessons:
        p.error("name the lessons either as arguments or in --lanes, not both")
    if args.deadline_minutes is not None and args.deadline_minutes <= 0:
        p.error("--deadline-minutes must be positive")
    lanes = [lane.split(",") for lane in args.lanes] if args.lanes else \
        [args.lessons or sorted(f.stem for f in NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))]
    for name in (n for lane in lanes for n in lane):
        if not (NOTEBOOKS / f"{name}.ipynb").is_file():
            p.error(f"no lesson {name}.ipynb in notebooks/")
    deadline = None if args.deadline_minutes is None else time.time() + 60 * args.deadline_minutes
    keep = Path(args.keep) if args.keep else None
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {"what": __doc__.splitlines()[0], "lessons": {}}
    lock = threading.Lock()
    spans: dict[str, list] = {}  # lesson -> [start, end or None while it runs], this invocation only

    def record(name, r):
        """Store a finished lesson; `beside` lists every lesson of this run whose time overlapped its own."""
        now = time.time()
        start, end = spans[name]
        r["beside"] = sorted(n for n, (s, e) in spans.items() if n != name and s < end and (e or now) > start)
        results["lessons"][name] = r
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")

    def lane_worker(lane):
        for name in lane:
            if deadline is not None and time.time() >= deadline:
                return
            with lock:
                spans[name] = [time.time(), None]
            r = run_lesson(name, args.timeout, deadline=deadline, keep=keep, threads=args.threads, fast=args.fast)
            with lock:
                spans[name][1] = time.time()
                record(name, r)
            print(f"{name}: {r['minutes']} min, {'ok' if r['ok'] else 'FAILED' if r['finished'] else 'unfinished'}; "
                  f"beside {r['beside']}; load {r['load_average_1min']}", flush=True)

    workers = [threading.Thread(target=lane_worker, args=(lane,)) for lane in lanes]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    names = [n for lane in lanes for n in lane]
    return 0 if all(n in results["lessons"] and results["lessons"][n]["ok"] for n in names) else 1


if __name__ == "__main__":
    sys.exit(main())
