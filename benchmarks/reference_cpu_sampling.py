"""What the shipped references cost a learner without a GPU: draw samples from each on this machine's CPU
with the sampler its JSON records, time the drawing, and score the samples with the project's suite.

    python benchmarks/reference_cpu_sampling.py [--out benchmarks/results/reference_cpu_sampling.json]
        [--n diffusion=10000 flow=2000 gan=10000 vae=10000] [--threads 2] [--seed 0]

The references are trained and scored on a GPU (their JSON says which); this is the check that they load
and sample on a laptop, and whether the diffusion target "10,000 samples in under 30 minutes on a 2-core
CPU" holds (drawing is linear in the count: `minutes_for_10000` scales the measured seconds; pass
`--n diffusion=10000` to draw all of them). Writes JSON with the machine, the sample count, the seed and the seconds, and the machine's
1-minute load average before and after each family (above the thread count, other work shared the cores
and the seconds are an upper bound).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

DEFAULT_N = {"diffusion": 2_000, "flow": 2_000, "gan": 10_000, "vae": 10_000}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "reference_cpu_sampling.json"))
    p.add_argument("--n", nargs="*", default=[], help="FAMILY=COUNT pairs (default: " +
                   " ".join(f"{k}={v}" for k, v in DEFAULT_N.items()) + ")")
    p.add_argument("--families", nargs="*", choices=list(DEFAULT_N),
                   help="only these (their rows replace the same families' rows in --out; the others are kept)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    counts = dict(DEFAULT_N)
    for pair in args.n:
        family, _, count = pair.partition("=")
        if family not in DEFAULT_N or not count.isdigit() or int(count) < 100:
            p.error(f"--n takes FAMILY=COUNT with FAMILY in {list(DEFAULT_N)} and COUNT >= 100, got {pair!r}")
        counts[family] = int(count)

    from genedu.reference import load_reference, reference_info, sample_options
    from genedu.showdown import sample_and_score
    from genedu.utils import describe_machine

    torch.set_num_threads(args.threads)
    rows = []
    for family, n in counts.items():
        if args.families and family not in args.families:
            continue
        load_before = os.getloadavg()[0]
        model = load_reference(family, device="cpu")
        options = sample_options(family)
        report = sample_and_score(model, options, n, seed=args.seed)  # balanced requested classes, as recorded
        seconds = report["seconds_per_1000"] * n / 1000
        info = reference_info(family)
        rows.append({"family": family, "preset": info.get("preset"), "sample_options": options, "n": n,
                     "classes_requested": "conditional_accuracy" in report, "seconds": round(seconds, 1), "seconds_per_1000": round(1000 * seconds / n, 2),
                     "minutes_for_10000": round(10 * seconds / n / 60 * 1000, 1),
                     "fid": report["fid"], "class_kl": report["class_kl"],
                     "conditional_accuracy": report.get("conditional_accuracy"),
                     "class_histogram": report["class_histogram"],
                     "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                     "trained_on": info.get("machine"), "recorded_fid": info["evaluation"]["fid"],
                     "recorded_n": info["evaluation"]["n"]})
        print(json.dumps(rows[-1]), flush=True)
    command = " ".join(["python benchmarks/reference_cpu_sampling.py", *(argv if argv is not None else sys.argv[1:])])
    out = Path(args.out)
    if args.families and out.is_file():  # keep the other families' rows, each with the command that made it
        old = json.loads(out.read_text())
        for r in old["rows"]:
            r.setdefault("command", old.get("command"))
        rows = [r for r in old["rows"] if r["family"] not in args.families] + rows
    for r in rows:
        r.setdefault("command", command)
    result = {"what": __doc__.splitlines()[0], "machine": describe_machine("cpu"), "seed": args.seed,
              "command": command, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
