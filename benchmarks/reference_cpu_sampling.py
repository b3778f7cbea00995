"""What the shipped references cost a learner without a GPU: draw samples from each on this machine's CPU
with the sampler its JSON records, time the drawing, and score the samples with the project's suite.

    python benchmarks/reference_cpu_sampling.py [--out benchmarks/results/reference_cpu_sampling.json]
        [--n diffusion=10000 flow=2000 gan=10000 vae=10000] [--threads 2] [--seed 0]
        [--references flow_fewstep] [--sampler 'flow_fewstep={"method": "euler", "steps": 1}']

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

DEFAULT_N = {"diffusion": 2_000, "flow": 2_000, "gan": 10_000, "vae": 10_000, "diffusion_uncond": 2_000,
             "flow_uncond": 2_000, "flow_fewstep": 10_000}
TARGET_MINUTES = 5.0  # a learner draws 10,000 samples of a reference in under this on a 2-core CPU


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "reference_cpu_sampling.json"))
    p.add_argument("--n", nargs="*", default=[], help="FAMILY=COUNT pairs (default: " +
                   " ".join(f"{k}={v}" for k, v in DEFAULT_N.items()) + ")")
    p.add_argument("--families", "--references", nargs="*", choices=list(DEFAULT_N), dest="families",
                   help="only these references (their rows replace the same rows in --out; the others are kept)")
    p.add_argument("--sampler", nargs="*", default=[],
                   help="NAME=JSON: draw that reference with these sampler options instead of its recorded ones "
                        "(a row of its own, e.g. the few-step flow at 1 call)")
    p.add_argument("--batch-size", type=int, help="samples drawn at once (default: genedu's, 100 on a CPU)")
    p.add_argument("--bf16", action="store_true", help="run the networks under bfloat16 autocast")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    counts = dict(DEFAULT_N)
    for pair in args.n:
        family, _, count = pair.partition("=")
        if family not in DEFAULT_N or not count.isdigit() or int(count) < 100:
            p.error(f"--n takes FAMILY=COUNT with FAMILY in {list(DEFAULT_N)} and COUNT >= 100, got {pair!r}")
        counts[family] = int(count)
    overrides = {}
    for pair in args.sampler:
        name, _, text = pair.partition("=")
        try:
            overrides[name] = json.loads(text)
        except json.JSONDecodeError:
            p.error(f"--sampler takes NAME=JSON, e.g. flow_fewstep='{{\"steps\": 1, \"method\": \"euler\"}}', got {pair!r}")
        if name not in DEFAULT_N or not isinstance(overrides[name], dict):
            p.error(f"--sampler NAME must be one of {list(DEFAULT_N)} and JSON an object, got {pair!r}")

    from genedu.reference import family_of, load_reference, reference_info, sample_options
    from genedu.showdown import sample_and_score
    from genedu.utils import describe_machine

    torch.set_num_threads(args.threads)
    rows = []
    for family, n in counts.items():
        if args.families and family not in args.families:
            continue
        load_before = os.getloadavg()[0]
        model = load_reference(family, device="cpu")
        options = {**sample_options(family), **overrides.get(family, {})}
        from genedu.sampling import default_batch

        batch = args.batch_size or default_batch(model)
        report = sample_and_score(model, {**options, "batch_size": batch, "bf16": args.bf16}, n, seed=args.seed)
        seconds = report["seconds_per_1000"] * n / 1000
        info = reference_info(family)
        rows.append({"reference": family, "family": family_of(family), "preset": info.get("preset"),
                     "sample_options": options, "recorded_sampler": options == sample_options(family), "n": n,
                     "batch_size": batch, "bf16": args.bf16,
                     "classes_requested": "conditional_accuracy" in report, "seconds": round(seconds, 1), "seconds_per_1000": round(1000 * seconds / n, 2),
                     "minutes_for_10000": round(10 * seconds / n / 60 * 1000, 1),
                     "under_target": 10 * seconds / n / 60 * 1000 <= TARGET_MINUTES,
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
        key = lambda r: (r.get("reference", r["family"]), json.dumps(r["sample_options"], sort_keys=True),  # noqa: E731
                         r.get("batch_size"), r.get("bf16", False))
        new = {key(r) for r in rows}
        rows = [r for r in old["rows"] if key(r) not in new] + rows
    for r in rows:
        r.setdefault("command", command)
    for r in rows:
        r.setdefault("reference", r["family"])
        r.setdefault("under_target", r["minutes_for_10000"] <= TARGET_MINUTES)
    result = {"what": __doc__.splitlines()[0], "machine": describe_machine("cpu"), "seed": args.seed,
              "target": f"10,000 samples of every reference in under {TARGET_MINUTES:g} minutes on this CPU",
              "command": command, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
