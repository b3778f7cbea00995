"""Print the README's tables of the shipped references from their JSON records (no number typed by hand):
each with the sampler it was made for, then all four without a label (like with like; the `unconditional`
figures of benchmarks/reference_unconditional.py).

    python benchmarks/references_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

REFS = Path(__file__).resolve().parents[1] / "genedu" / "assets" / "references"


CPU = Path(__file__).resolve().parent / "results" / "reference_cpu_sampling.json"


def _short_machine(machine: str) -> str:
    """'NVIDIA H100 80GB HBM3; x86_64, ...' -> 'NVIDIA H100 80GB HBM3'; a CPU line -> 'CPU'."""
    return machine.split(";")[0] if ";" in machine else "CPU"


def main() -> None:
    cpu = {}
    if CPU.is_file():  # benchmarks/reference_cpu_sampling.py: the same samplers on a 2-core CPU
        cpu = {r["family"]: r for r in json.loads(CPU.read_text())["rows"]}
    print("| reference | preset | trained on | budget (training time) | sampler | samples | FID | IS | precision "
          "| recall | class KL | digit shares (min-max) | accuracy on requested class | s per 1,000 samples there "
          "| s per 1,000 samples, 2-core CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
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
        on_cpu = f"{cpu[family]['seconds_per_1000']:.1f}" if family in cpu else "not measured"
        print(f"| {family} | `{d['preset']}` | {_short_machine(d.get('machine', ''))} | {d['budget']} "
              f"({d['trained']['seconds'] / 60:.0f} min, {d['trained']['images']:,.0f} images) | {sampler} | "
              f"{e['n']:,} | {e['fid']:.2f} | {e['inception_score']:.2f} | {e['precision']:.3f} | {e['recall']:.3f} | "
              f"{e['class_kl']:.4f} | {shares} | {acc} | {e['seconds_per_1000']:.2g} | {on_cpu} |")

    unconditional = {f: json.loads((REFS / f"{f}.json").read_text()).get("unconditional")
                     for f in ("vae", "gan", "diffusion", "flow") if (REFS / f"{f}.json").is_file()}
    unconditional = {f: u for f, u in unconditional.items() if u}
    if not unconditional:
        return
    print("\n| reference, without a label | sampler | samples | FID | precision | recall | sharpness | class KL "
          "| digit shares (min-max) | measured on |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for family, u in unconditional.items():
        sampler = ", ".join(f"{k}={v}" for k, v in u["sample_options"].items()) or "one pass"
        hist = u["class_histogram"]
        how = "its null label" if "null" in u["labels"] else "an unconditional model"
        print(f"| {family} ({how}) | {sampler} | {u['n']:,} | {u['fid']:.2f} | {u['precision']:.3f} | "
              f"{u['recall']:.3f} | {u['sharpness']:.2f} | {u['class_kl']:.4f} | "
              f"{100 * min(hist):.1f}-{100 * max(hist):.1f} % | {_short_machine(u['machine'])}, seed {u['seed']} |")


if __name__ == "__main__":
    main()
