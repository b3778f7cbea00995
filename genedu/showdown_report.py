"""The showdown's reporting half: mean and spread over seeds, verdicts and strengths computed from the
numbers, the markdown table and the report with its figures. `genedu.showdown` runs the contenders and
calls these; they read only the results dict, so a saved results.json can be reported again.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .showdown import Contender

# sharpness: 1 = as sharp as real digits (below: blurred, far above: noisy); no "better" direction
METRICS = ["fid", "kid", "inception_score", "precision", "recall", "density", "coverage", "sharpness", "class_kl"]
LOWER_IS_BETTER = {"fid", "kid", "class_kl", "nll_nats", "seconds_per_1000", "train_seconds"}


def _stat(values: list[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
            "n": len(vals)}



def summarise(runs: list[dict], contenders: list[Contender]) -> dict[str, dict]:
    """Mean and spread over seeds of every figure, per contender."""
    keys = ["parameters", "train_seconds", "images_seen"] + METRICS + ["conditional_accuracy", "seconds_per_1000",
                                                                     "nll_nats", "nll_bpd_binarised", "nll_bpd_8bit"]
    summary = {}
    for c in contenders:
        mine = [r for r in runs if r["family"] == c.family and r["preset"] == c.preset]
        if mine:
            summary[c.key] = {"label": c.label, "family": c.family, "preset": c.preset, "seeds": len(mine),
                              **{k: _stat([r.get(k) for r in mine]) for k in keys if any(k in r for r in mine)}}
    return summary


# (name, metric, what it says about a family): the criteria of the strengths and limitations table
CRITERIA = [
    ("sample quality", "fid", "FID"),
    ("fidelity", "precision", "precision"),
    ("diversity", "recall", "recall"),
    ("class balance", "class_kl", "class KL"),
    ("sampling speed", "seconds_per_1000", "s per 1,000 samples"),
    ("training cost", "train_seconds", "training seconds"),
    ("controllability", "conditional_accuracy", "accuracy on requested classes"),
    ("likelihood", "nll_nats", "NLL in nats"),
]


def verdicts(summary: dict[str, dict]) -> list[dict[str, Any]]:
    """For every criterion, the best and the worst contender by mean, with the figures behind them.

    A criterion only some contenders report (likelihood, controllability) names who has it at all:
    "n/a" is itself a verdict (a GAN has no likelihood).
    """
    rows = []
    for name, key, unit in CRITERIA:
        cands = sorted((v[key]["mean"], k) for k, v in summary.items() if key in v and not math.isnan(v[key]["mean"]))
        if not cands:
            continue
        if key not in LOWER_IS_BETTER:
            cands = cands[::-1]
        best, worst = cands[0], cands[-1] if len(cands) > 1 else (None, None)
        rows.append({"criterion": name, "metric": key, "unit": unit,
                     "best": summary[best[1]]["label"], "best_value": best[0],
                     "worst": summary[worst[1]]["label"] if worst[1] else None, "worst_value": worst[0],
                     # a DDPM's bound on 8-bit images is a likelihood too, on other data: not lacking one
                     "lacking": [v["label"] for k, v in summary.items()
                                 if key not in v and not (key == "nll_nats" and "nll_bpd_8bit" in v)]})
    return rows


def strengths_and_limitations(summary: dict[str, dict]) -> dict[str, dict[str, list[str]]]:
    """Per contender: the criteria where it is best (strengths) and worst or absent (limitations)."""
    table = {v["label"]: {"strengths": [], "limitations": []} for v in summary.values()}
    for row in verdicts(summary):
        if row["worst"] is not None and len(summary) - len(row["lacking"]) > 1:
            table[row["best"]]["strengths"].append(f"{row['criterion']} ({row['unit']} {row['best_value']:.3g})")
            table[row["worst"]]["limitations"].append(f"{row['criterion']} ({row['unit']} {row['worst_value']:.3g})")
        for label in row["lacking"]:
            table[label]["limitations"].append(f"no {row['criterion']} measured")
    return table


def seed_ratios(summary: dict[str, dict]) -> dict[str, float]:
    """FID of each family's seed preset divided by its proper preset's (the improvement at equal budget)."""
    out = {}
    for v in summary.values():
        seed = summary.get(f"{v['family']}/seed")
        if v["preset"] != "seed" and seed and "fid" in v and "fid" in seed:
            out[v["family"]] = seed["fid"]["mean"] / v["fid"]["mean"]
    return out


def _fmt(stat: dict | None) -> str:
    if not stat or stat["n"] == 0:
        return "n/a"
    m, s = stat["mean"], stat["std"]
    return f"{m:.4g} ± {s:.2g}" if stat["n"] > 1 else f"{m:.4g}"


# the two likelihood columns are on different data (binary pixels for the VAE, 8-bit greys for the DDPM):
# each is a bound on -log p(x) in bits per pixel, and they cannot be ranked against each other
TABLE_COLUMNS = ["parameters", "train_seconds", "images_seen"] + METRICS + ["conditional_accuracy",
                                                                           "seconds_per_1000", "nll_nats",
                                                                           "nll_bpd_binarised", "nll_bpd_8bit"]


def table_markdown(summary: dict[str, dict], calibration: list[dict] | None = None) -> str:
    """The results as a Markdown table (mean ± std over seeds), with the calibration rows under it."""
    head = "| model | " + " | ".join(TABLE_COLUMNS) + " |\n|---|" + "---|" * len(TABLE_COLUMNS) + "\n"
    rows = "".join(f"| {v['label']} | " + " | ".join(_fmt(v.get(c)) for c in TABLE_COLUMNS) + " |\n"
                   for v in summary.values())
    for cal in calibration or []:
        rows += f"| *{cal['name']}* | " + " | ".join(
            f"{cal[c]:.4g}" if isinstance(cal.get(c), (int, float)) else "" for c in TABLE_COLUMNS) + " |\n"
    return head + rows


def write_report(results: dict, out: Path) -> Path:
    """report.md: settings, the table, the verdicts, strengths and limitations, and the figures beside it."""
    import matplotlib.pyplot as plt

    from . import plots

    s = results["settings"]
    budget = f"{s['minutes']} min per run" if s["minutes"] else f"{s['images']:,} images seen per run"
    summary = results["summary"]
    lines = ["# genedu showdown\n\n",
             f"Budget: {budget}; seeds {s['seeds']}; {s['n_samples']:,} samples scored per run"
             f"{'; trained on the first ' + format(s['data_limit'], ',') + ' images' if s['data_limit'] else ''}; "
             f"machine: {results.get('machine', {})}.\n\n",
             "## Results (mean ± std over seeds; the last two rows calibrate the scale)\n\n",
             table_markdown(summary, results.get("calibration")),
             "\n## Verdicts (computed from the table)\n\n| criterion | best | worst |\n|---|---|---|\n"]
    lines += [f"| {v['criterion']} ({v['unit']}) | {v['best']}: {v['best_value']:.4g} | "
              + (f"{v['worst']}: {v['worst_value']:.4g}" if v["worst"] else "only one has it") + " |\n"
              for v in results.get("verdicts", [])]
    lines.append("\n## Strengths and limitations\n\n| model | strengths | limitations |\n|---|---|---|\n")
    for label, sl in strengths_and_limitations(summary).items():
        lines.append(f"| {label} | {'; '.join(sl['strengths']) or '-'} | {'; '.join(sl['limitations']) or '-'} |\n")
    ratios = seed_ratios(summary)
    if ratios:
        lines.append("\n## The proper model against the original notebook's, same budget\n\n")
        lines += [f"- {fam}: the seed preset's FID is {r:.1f}x the proper preset's\n" for fam, r in ratios.items()]
    plots.quality_vs_time(results["runs"]).savefig(out / "quality_vs_time.png", dpi=100, bbox_inches="tight")
    lines.append("\n## Quality against training time\n\n![FID against training time](quality_vs_time.png)\n")
    curves = [r for r in results["runs"] if r.get("steps_curve")]
    if curves:
        plots.steps_curve(curves).savefig(out / "sampler_steps.png", dpi=100, bbox_inches="tight")
        lines.append("\n## Sampler steps against quality and time (DDPM and flow)\n\n![sampler steps](sampler_steps.png)\n")
    first_seed = s["seeds"][0]
    grids = {}
    for v in summary.values():
        f = out / "grids" / f"{v['family']}_{v['preset']}_seed{first_seed}.pt"
        if f.is_file():
            grids[v["label"]] = torch.load(f, weights_only=True)
    if grids:
        plots.grids_side_by_side(grids, nrow=8).savefig(out / "samples.png", dpi=100, bbox_inches="tight")
        lines.append("\n## Samples on the same noise\n\n![samples](samples.png)\n")
    plt.close("all")
    path = out / "report.md"
    path.write_text("".join(lines))
    return path
