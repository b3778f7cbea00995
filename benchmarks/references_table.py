"""Print the README's table of the shipped references from their JSON records (no number typed by hand).

    python benchmarks/references_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

REFS = Path(__file__).resolve().parents[1] / "genedu" / "assets" / "references"


def main() -> None:
    print("| reference | preset | budget (training time) | sampler | samples | FID | IS | precision | recall "
          "| class KL | digit shares (min-max) | accuracy on requested class | s per 1,000 samples (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for family in ("vae", "gan", "diffusion", "flow"):
        path = REFS / f"{family}.json"
        if not path.is_file():
            continue
        d = json.loads(path.read_text())
        e = d["evaluation"]
        hist = e.get("class_histogram", [])
        shares = f"{100 * min(hist):.1f}-{100 * max(hist):.1f} %" if hist else "n/a"
        acc = f"{e['conditional_accuracy']:.3f}" if "conditional_accuracy" in e else "n/a"
        sampler = ", ".join(f"{k}={v}" for k, v in d.get("sample_options", {}).items()) or "one pass"
        print(f"| {family} | `{d['preset']}` | {d['budget']} ({d['trained']['seconds'] / 60:.0f} min, "
              f"{d['trained']['images']:,.0f} images) | {sampler} | {e['n']:,} | {e['fid']:.1f} | "
              f"{e['inception_score']:.2f} | {e['precision']:.3f} | {e['recall']:.3f} | {e['class_kl']:.4f} | "
              f"{shares} | {acc} | {e['seconds_per_1000']:.1f} |")


if __name__ == "__main__":
    main()
