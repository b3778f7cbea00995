"""Tables of the shipped references, read from their JSON records (no number typed by hand).

Every `genedu/assets/references/*.json` is a row: a new reference appears by adding its record. Three tables:

- `summary_table`: the README's short one, like with like: every reference drawn without a label first (an
  unconditional model, or a conditional network given its null label), then the conditional ones with their
  classes requested, each with its sampler and its network calls per sample;
- `trained_table`: each reference as it was scored when it was made (machine, budget, sampler, every figure);
- `unconditional_table`: every reference drawn without a label (`benchmarks/reference_unconditional.py`).

    python benchmarks/references_table.py            # the last two, as docs/results.md shows them
    python benchmarks/references_table.py --summary  # the README's table
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REFS = Path(__file__).resolve().parents[1] / "genedu" / "assets" / "references"
CPU = Path(__file__).resolve().parent / "results" / "reference_cpu_sampling.json"

FAMILY_ORDER = ("vae", "gan", "diffusion", "flow")  # the course's order; other families follow by name
CALLS_PER_STEP = {"ddim": 1, "dpm": 1, "euler": 1, "midpoint": 2, "heun": 2}  # as benchmarks/gpu_references.py


def load_references(folder: Path = REFS) -> list[tuple[str, dict]]:
    """(name, record) for every reference record in `folder`, the course's families first, then by name."""
    refs = [(p.stem, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    return sorted(refs, key=lambda r: (rank.get(r[1].get("family", r[0]), len(rank)), r[1].get("family", ""),
                                       r[0] != r[1].get("family"), r[0]))


def _short_machine(machine: str) -> str:
    """'NVIDIA H100 80GB HBM3; x86_64, ...' -> 'NVIDIA H100 80GB HBM3'; a CPU line -> 'CPU'."""
    return machine.split(";")[0] if ";" in machine else "CPU"


def sampler_text(options: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (options or {}).items()) or "one pass"


def record_sampler(record: dict, options: dict | None) -> str:
    """The sampler as a reader needs it: a PixelCNN decoder head draws its pixels one by one."""
    if record.get("config", {}).get("pixel_layers"):
        return "PixelCNN head, pixel by pixel" + (f", {sampler_text(options)}" if options else "")
    return sampler_text(options)


def network_calls(record: dict, options: dict | None) -> int:
    """Network calls to draw one sample with these options: one pass for a VAE or a GAN (784 for a PixelCNN
    decoder head, one per pixel), a step count times the solver's calls per step for diffusion and flow,
    twice that under classifier-free guidance (labelled and null inputs)."""
    options, config = options or {}, record.get("config", {})
    if record.get("family") in ("vae", "gan"):
        return 28 * 28 if config.get("pixel_layers") else 1
    kind = options.get("sampler") or options.get("method")
    if kind == "ddpm" or kind is None and record.get("family") == "diffusion":
        steps = options.get("steps") or config.get("T", 1000)  # ancestral sampling walks every timestep
        calls = steps
    elif kind in CALLS_PER_STEP:
        calls = options["steps"] * CALLS_PER_STEP[kind]
    else:
        raise ValueError(f"reference {record.get('family')}: no rule for the network calls of sampler options "
                         f"{options}; expected a sampler or method among ddpm, {', '.join(CALLS_PER_STEP)}. "
                         "Add it to CALLS_PER_STEP in benchmarks/references_table.py")
    guided = options.get("guidance") not in (None, 0, 0.0, 1, 1.0)
    return calls * (2 if guided else 1)


def _shares(block: dict) -> str:
    hist = block.get("class_histogram")
    if hist:
        return f"{100 * min(hist):.1f}-{100 * max(hist):.1f} %"
    if "min_share" in block:
        return f"{100 * block['min_share']:.1f}-{100 * block['max_share']:.1f} %"
    return "n/a"


def _num(block: dict, key: str, fmt: str) -> str:
    return format(block[key], fmt) if block.get(key) is not None else "n/a"


def label_free_draw(record: dict) -> tuple[dict, str] | None:
    """The record's figures drawn without a label and how: its `unconditional` block (a conditional network's null
    label, or an unconditional model sampled again beside the others), else its own evaluation when that
    requested no class. None for a conditional reference not yet drawn without a label."""
    u = record.get("unconditional")
    if u:
        return u, "null label" if "null" in u.get("labels", "") else "no label (unconditional model)"
    e = record.get("evaluation", {})
    if "conditional_accuracy" not in e:
        return e, "no label (unconditional model)"
    return None


def summary_table(refs: list[tuple[str, dict]] | None = None) -> str:
    """The README's table: like with like. Rows drawn without a label, then rows with the class requested."""
    refs = load_references() if refs is None else refs
    lines = ["| reference | drawn with | sampler | network calls per sample | samples | FID | class KL | precision "
             "| recall | trained on |", "|---|---|---|---|---|---|---|---|---|---|"]

    def row(name, d, block, how):
        options = block.get("sample_options", d.get("sample_options"))
        lines.append(f"| {name} | {how} | {record_sampler(d, options)} | {network_calls(d, options)} | {block['n']:,} | "
                     f"{block['fid']:.2f} | {_num(block, 'class_kl', '.4f')} | {_num(block, 'precision', '.3f')} | "
                     f"{_num(block, 'recall', '.3f')} | {_short_machine(d.get('machine', ''))} |")

    for name, d in refs:
        drawn = label_free_draw(d)
        if drawn:
            row(name, d, drawn[0], drawn[1])
    for name, d in refs:
        e = d.get("evaluation", {})
        if "conditional_accuracy" in e:
            row(name, d, e, f"class requested ({100 * e['conditional_accuracy']:.1f} % drawn as asked)")
    return "\n".join(lines)


def trained_table(refs: list[tuple[str, dict]] | None = None, cpu_path: Path = CPU) -> str:
    """Each reference as scored when it was made, with its CPU sampling time where measured (same family, preset
    and sampler)."""
    refs = load_references() if refs is None else refs
    cpu = {}
    if cpu_path.is_file():  # benchmarks/reference_cpu_sampling.py: the same samplers on a 2-core CPU
        # keyed by the reference's name (rows before names were recorded: the family's own); float32 rows only,
        # the latest of each (a later row in the file was measured later)
        cpu = {(r.get("reference", r["family"]), r["preset"], json.dumps(r["sample_options"], sort_keys=True)): r
               for r in json.loads(cpu_path.read_text())["rows"] if not r.get("bf16")}
    lines = ["| reference | preset | trained on | budget (training time) | sampler | network calls | samples | FID | IS "
             "| precision | recall | class KL | digit shares (min-max) | accuracy on requested class "
             "| s per 1,000 samples there | s per 1,000 samples, 2-core CPU |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, d in refs:
        e, t = d["evaluation"], d.get("trained", {})
        options = e.get("sample_options", d.get("sample_options"))
        budget = d.get("budget") or (f"images={t['images']:,}" if "images" in t else "n/a")
        time = f"{t['seconds'] / 60:.0f} min, {t['images']:,.0f} images" if "seconds" in t and "images" in t else "n/a"
        c = cpu.get((name, d.get("preset"), json.dumps(options or {}, sort_keys=True)))
        on_cpu = f"{c['seconds_per_1000']:.1f}" if c else "not measured"
        acc = f"{e['conditional_accuracy']:.3f}" if e.get("conditional_accuracy") is not None else "n/a"
        lines.append(f"| {name} | `{d.get('preset', '?')}` | {_short_machine(d.get('machine', ''))} | {budget} ({time}) "
                     f"| {record_sampler(d, options)} | {network_calls(d, options)} | {e['n']:,} | {e['fid']:.2f} | "
                     f"{_num(e, 'inception_score', '.2f')} | {_num(e, 'precision', '.3f')} | {_num(e, 'recall', '.3f')} | "
                     f"{_num(e, 'class_kl', '.4f')} | {_shares(e)} | {acc} | {_num(e, 'seconds_per_1000', '.2g')} | "
                     f"{on_cpu} |")
    return "\n".join(lines)


def unconditional_table(refs: list[tuple[str, dict]] | None = None) -> str | None:
    """Every reference that was drawn without a label by benchmarks/reference_unconditional.py; None if none."""
    refs = load_references() if refs is None else refs
    rows = [(name, d, d["unconditional"]) for name, d in refs if d.get("unconditional")]
    if not rows:
        return None
    lines = ["| reference, without a label | sampler | network calls | samples | FID | precision | recall | sharpness "
             "| class KL | digit shares (min-max) | measured on |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, d, u in rows:
        how = "its null label" if "null" in u.get("labels", "") else "an unconditional model"
        lines.append(f"| {name} ({how}) | {sampler_text(u.get('sample_options'))} | "
                     f"{network_calls(d, u.get('sample_options'))} | {u['n']:,} | {u['fid']:.2f} | "
                     f"{u['precision']:.3f} | {u['recall']:.3f} | {_num(u, 'sharpness', '.2f')} | {u['class_kl']:.4f} | "
                     f"{_shares(u)} | {_short_machine(u.get('machine', ''))}, seed {u.get('seed', '?')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summary", action="store_true", help="print the README's like-with-like table only")
    args = p.parse_args(argv)
    refs = load_references()
    if args.summary:
        print(summary_table(refs))
        return
    print(trained_table(refs))
    u = unconditional_table(refs)
    if u:
        print("\n" + u)


if __name__ == "__main__":
    main()
