"""Tables and figures of lesson 04 (how we measure), beside `genedu.plots`, which holds the other lessons'.

`metrics_table` sets several sample sets' metric dicts (`Report.as_dict()`) side by side, one row per set,
so a reader sees which column moves for which failure (blur, mode collapse, copying, noise).
"""

from __future__ import annotations

from .evaluate.report import Report

# the metric columns of a report, without the sample count; kid and class_kl are small, so they get 4 decimals
METRIC_COLUMNS = tuple(c for c in Report.COLUMNS if c != "n")
SHORT_NAMES = {"inception_score": "IS", "near_copy_share": "near_copy"}


def metrics_table(reports: dict[str, dict], columns: tuple[str, ...] | list[str] = METRIC_COLUMNS) -> str:
    """One row per set ({set name: metrics dict}), one column per metric, as monospaced text.

    A metric missing from a set's dict raises a KeyError naming the set, the metric and what the dict holds,
    before anything is formatted."""
    if not reports:
        raise ValueError("metrics_table needs at least one set: pass {name: report.as_dict()}, got an empty dict")
    for name, metrics in reports.items():
        missing = [c for c in columns if c not in metrics]
        if missing:
            raise KeyError(f"set {name!r} has no {missing} (it holds {sorted(metrics)}); score it with "
                           "genedu.evaluate.evaluate_samples(...).as_dict() or pass columns= that it has")
    heads = [SHORT_NAMES.get(c, c) for c in columns]
    width = max(9, *(len(h) for h in heads))
    first = max(3, *(len(name) for name in reports))
    lines = ["set".ljust(first) + "".join(h.rjust(width + 1) for h in heads)]
    lines.append("-" * len(lines[0]))
    for name, metrics in reports.items():
        cells = [f"{metrics[c]:.4f}" if c in ("kid", "class_kl") else f"{metrics[c]:.3f}" for c in columns]
        lines.append(name.ljust(first) + "".join(s.rjust(width + 1) for s in cells))
    return "\n".join(lines)
