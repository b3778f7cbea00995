"""Quality per network call: every sampler the course has scored, read from the records, on one plot.

A sampler's cost is the number of network calls it makes per image: a GAN or a VAE decodes once; a
DDPM or a flow calls its network once per step (twice for a second-order solver, twice again with
classifier-free guidance). Its quality is the FID of 10,000 samples in the project's own feature space.
The points come from the shipped references' JSON records (`genedu/assets/references/*.json`, each
sampler they were scored with) and from the reflow study in `benchmarks/results/gpu_references.json`
(Euler with few steps on the flow reference before and after reflow). Nothing here is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from .reference import REFERENCE_DIR

CALLS_PER_STEP = {"ddpm": 1, "ddim": 1, "dpm": 1, "euler": 1, "midpoint": 2, "heun": 2}
RESULTS_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
N_SAMPLES = 10_000  # points are compared at the protocol's sample count only: FID depends on it

# how each reference's samplers are named on the plot; unconditional ones are drawn dashed
SERIES = {"diffusion": "DDPM reference", "flow": "flow reference", "diffusion_uncond": "DDPM, no labels",
          "flow_uncond": "flow, no labels", "flow_fewstep": "few-step flow (distilled)", "gan": "GAN reference",
          "vae": "VAE reference"}


def network_calls(options: dict) -> int:
    """Network calls per image of a sampler's options ({} for a one-shot generator: 1)."""
    kind = options.get("sampler", options.get("method"))
    if kind is None:
        return 1
    if kind not in CALLS_PER_STEP:
        raise ValueError(f"no call count for sampler {kind!r}: add it to CALLS_PER_STEP ({sorted(CALLS_PER_STEP)})")
    steps = options.get("steps", 1000 if kind == "ddpm" else 1)
    return int(steps) * CALLS_PER_STEP[kind] * (2 if options.get("guidance") is not None else 1)


def _solver(options: dict) -> str:
    kind = options.get("sampler", options.get("method"))
    names = {"dpm": "DPM-Solver++", "ddim": "DDIM", "ddpm": "ancestral", "euler": "Euler", "midpoint": "midpoint",
             "heun": "Heun"}
    label = names.get(kind, str(kind)) if kind else ""
    return label + (" + guidance" if options.get("guidance") is not None else "")


def sampler_points(references_dir: Path | str = REFERENCE_DIR, results_dir: Path | str = RESULTS_DIR) -> list[dict]:
    """One dict per scored sampler: series, solver, calls, fid, unconditional (bool), source file."""
    points = []
    for path in sorted(Path(references_dir).glob("*.json")):
        name = path.stem
        if name not in SERIES:
            continue
        info = json.loads(path.read_text())
        rows = info.get("samplers") or [info["evaluation"]]
        for r in rows:
            if r.get("n") != N_SAMPLES:
                continue
            options = r.get("sample_options", info.get("sample_options", {}))
            points.append({"series": SERIES[name], "solver": _solver(options), "calls": network_calls(options),
                           "fid": float(r["fid"]), "unconditional": "conditional_accuracy" not in r,
                           "source": f"genedu/assets/references/{path.name}"})
    gpu = Path(results_dir) / "gpu_references.json"
    if gpu.is_file():
        jobs = json.loads(gpu.read_text()).get("jobs", {})
        for job, key, series in (("reflow", "parent", "flow reference"), ("reflow_u", "reflow", "reflowed flow")):
            for r in jobs.get(job, {}).get(key, {}).get("few_steps", []):
                if r.get("n") != N_SAMPLES:
                    continue
                o = r["sample_options"]
                points.append({"series": series, "solver": _solver(o), "calls": network_calls(o), "fid": float(r["fid"]),
                               "unconditional": False, "source": f"benchmarks/results/gpu_references.json ({job})"})
    seen, unique = set(), []
    for p in points:  # the same sampler scored in two records (the flow's Euler 10): keep the first
        key = (p["series"], p["solver"], p["calls"])
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def plot_quality_per_call(points: list[dict], *, highlight: str | None = "few-step flow (distilled)"):
    """FID against network calls per image (both axes logarithmic), one line per series and solver;
    dashed lines and open markers for models drawn without a label. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not points:
        raise ValueError("no sampler points to plot: are the reference records (genedu/assets/references) there?")
    fig, ax = plt.subplots(figsize=(10, 5))
    lines: dict[tuple[str, str], list[dict]] = {}
    for p in points:
        lines.setdefault((p["series"], p["solver"]), []).append(p)
    colours = plt.get_cmap("tab20").colors
    for i, ((series, solver), pts) in enumerate(sorted(lines.items())):
        pts = sorted(pts, key=lambda p: p["calls"])
        unconditional = pts[0]["unconditional"]
        ax.plot([p["calls"] for p in pts], [p["fid"] for p in pts], ls="--" if unconditional else "-",
                marker="o", mfc="none" if unconditional else None, lw=2.5 if series == highlight else 1.2,
                color="black" if series == highlight else colours[i % len(colours)],
                label=f"{series}" + (f": {solver}" if solver else ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("network calls per image")
    ax.set_ylabel(f"FID ({N_SAMPLES:,} samples, lower is better)")
    ax.set_title("Quality per network call, every sampler the course has scored")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
