"""Quality per budget for each family: the showdown at a chosen budget, condensed to one JSON.

    python benchmarks/showdown.py --images 275000 --seeds 1 --samples 2000 --work runs/showdown \
        --out benchmarks/results/showdown.json

Seeds run side by side (one showdown folder each, e.g. benchmarks/gpu_references.py's showdown jobs on one
GPU) are reported together with --merge DIR... (same settings; --work is where the merged report goes).

A contender whose sampler changed since its runs finished is scored again from the kept checkpoints with
--rescore KEY (no training). A contender whose preset changed is trained again alone with --from-record
benchmarks/results/showdown.json --retrain KEY...: --work starts from the record's runs less that
contender's, so only its runs train (the record's caveats are kept, --note adds to them). Runs
`genedu.showdown.showdown` (resumable: rerun with the same --work after an interruption), then writes the
settings, the machine, the calibration rows, the mean and spread of every figure per contender, the
quality-against-budget curves, the DDIM curve, the FID ratio of each family's seed preset
to its proper preset, and the issue's targets each marked met or not, measured.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from genedu import showdown as S
from genedu.models.base import MODEL_REGISTRY, _import_families


# what the record keeps of each run (model_config: the whole config it trained with, which
# genedu.showdown.changed_since compares with today's preset)
RECORD_FIELDS = ("family", "preset", "label", "seed", "parameters", "images_seen", "train_seconds", "recipe",
                 "config", "model_config", "curve", "steps_curve", "fid", "kid", "inception_score", "class_kl",
                 "class_histogram", "precision", "recall", "density", "coverage", "sharpness", "conditional_accuracy",
                 "seconds_per_1000", "nll_nats", "nll_setting", "nll_bpd_binarised", "nll_bpd_8bit",
                 "near_copy_share", "ancestral", "rescored")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=275_000, help="images seen per model and seed")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--seed-list", type=int, nargs="+", help="these seeds instead of 0 .. seeds - 1 (e.g. one "
                    "seed per folder, run one after another or side by side, then --merge)")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--ddim-steps", type=int, nargs="+", default=[10, 25, 50])
    ap.add_argument("--ddim-samples", type=int, default=1000)
    ap.add_argument("--data-limit", type=int, help="train on the first images only (a quick check)")
    ap.add_argument("--likelihood-k", type=int, default=100)
    ap.add_argument("--likelihood-n", type=int, default=2000)
    ap.add_argument("--ancestral-steps", type=int, help="also score the DDPM's ancestral sampler (1000 steps)")
    ap.add_argument("--work", required=True, help="the showdown's folder (checkpoints, report, figures)")
    ap.add_argument("--merge", nargs="+", metavar="DIR",
                    help="showdown folders of the same settings, one seed each (run side by side, e.g. on one "
                         "GPU): their runs and grids are gathered into --work and reported together")
    ap.add_argument("--out", default="benchmarks/results/showdown.json")
    ap.add_argument("--rescore", nargs="+", metavar="KEY", default=[],
                    help="contenders (e.g. diffusion/laptop) whose sampler changed since their runs finished: "
                         "their runs in every folder are sampled and scored again from the kept checkpoints "
                         "(genedu.showdown.rescore), not trained again")
    ap.add_argument("--note", action="append", default=[],
                    help="a caveat to record with the figures (repeatable), e.g. how the CPU was shared")
    ap.add_argument("--from-record", metavar="JSON",
                    help="start --work from this record's runs (e.g. benchmarks/results/showdown.json), less "
                         "those of the --retrain contenders, which alone train again")
    ap.add_argument("--retrain", nargs="+", metavar="KEY", default=[],
                    help="with --from-record: the contenders (e.g. vae/laptop) whose runs train again")
    args = ap.parse_args(argv)
    _import_families()
    keys = [c.key for c in S.CONTENDERS]
    if bool(args.from_record) != bool(args.retrain):
        ap.error("--from-record and --retrain go together: the record to start from, and what trains again")
    if args.from_record and args.merge:
        ap.error("--from-record starts one --work folder; it does not combine with --merge")
    unknown = [k for k in args.retrain if k not in keys]
    if unknown:
        ap.error(f"--retrain {unknown}: no such contender; contenders: {keys}")
    caveats, record = list(args.note), None
    if args.from_record:
        record = start_from_record(Path(args.from_record), Path(args.work), args.retrain)
        caveats = list(record.get("caveats", [])) + caveats

    for key in args.rescore:
        contender = next((c for c in S.CONTENDERS if c.key == key), None)
        if contender is None:
            ap.error(f"--rescore {key}: no such contender; contenders: {[c.key for c in S.CONTENDERS]}")
        for folder in args.merge or [args.work]:
            recorded = json.loads((Path(folder) / "results.json").read_text())["settings"]["contenders"]
            if any(c == asdict(contender) for c in recorded):
                print(f"{folder}: {key} is already sampled with {contender.sample_options}")
                continue
            S.rescore(folder, contender)
    source_machine = merge(args.merge, Path(args.work)) if args.merge else None
    seeds = sorted({r["seed"] for d in args.merge for r in json.loads((Path(d) / "results.json").read_text())["runs"]}) \
        if args.merge else (args.seed_list or args.seeds)
    if args.from_record:  # the record's seeds
        seeds = json.loads((Path(args.work) / "results.json").read_text())["settings"]["seeds"]
    res = S.showdown(images=args.images, seeds=seeds, n_samples=args.samples, stages=args.stages,
                     ddim_steps=tuple(args.ddim_steps), ddim_samples=args.ddim_samples,
                     ancestral_steps=args.ancestral_steps, data_limit=args.data_limit,
                     likelihood_k=args.likelihood_k, likelihood_n=args.likelihood_n, out=args.work)
    if source_machine is not None:  # the runs were trained and scored there, not on the machine merging them
        res["machine"] = source_machine
    summary = res["summary"]
    if record is not None:
        # the contenders not trained again keep the record's summary and machine: their runs are the record's,
        # but the record keeps of each run only RECORD_FIELDS, and its summary came from the whole runs
        summary.update({k: v for k, v in record["summary"].items() if k not in args.retrain})
        res["verdicts"], res["machine"] = S.verdicts(summary), record["machine"]
    ratios = S.seed_ratios(summary)
    targets = {f"{fam}: proper preset's FID at least 20x better than the seed preset's": {
        "measured_ratio": round(r, 2), "met": r >= 20} for fam, r in ratios.items()}
    for run_key, v in summary.items():
        anc = [r["ancestral"]["fid"] for r in res["runs"] if f"{r['family']}/{r['preset']}" == run_key and "ancestral" in r]
        d50 = [p["fid"] for r in res["runs"] if f"{r['family']}/{r['preset']}" == run_key
               for p in r.get("steps_curve", []) if p["steps"] == 50]
        if anc and d50 and v["family"] == "diffusion":
            ratio = (sum(d50) / len(d50)) / (sum(anc) / len(anc))
            targets[f"{run_key}: DDIM 50 steps within 1.3x of the {args.ancestral_steps}-step ancestral FID"] = {
                "ddim50_fid_mean": round(sum(d50) / len(d50), 2), "ancestral_fid_mean": round(sum(anc) / len(anc), 2),
                "measured_ratio": round(ratio, 3), "met": ratio <= 1.3}
    for key, v in summary.items():
        if v["preset"] != "seed":
            kl = v["class_kl"]["mean"]
            targets[f"{key}: class KL under 0.01"] = {"measured": round(kl, 4), "met": kl < 0.01}
    out = {
        "what": "genedu showdown: every family's seed and proper preset under the same images-seen budget",
        "command": f"python benchmarks/showdown.py --images {args.images} --seeds {len(seeds) if args.merge else args.seeds}"
                   + (f" --seed-list {' '.join(map(str, args.seed_list))}" if args.seed_list and not args.merge else "")
                   + f" --samples {args.samples} "
                   f"--stages {args.stages} --ddim-steps {' '.join(map(str, args.ddim_steps))} "
                   f"--ddim-samples {args.ddim_samples}"
                   + (f" --ancestral-steps {args.ancestral_steps}" if args.ancestral_steps else "")
                   + (f" --data-limit {args.data_limit}" if args.data_limit else "")
                   + (f" --likelihood-k {args.likelihood_k} --likelihood-n {args.likelihood_n}"
                      if (args.likelihood_k, args.likelihood_n) != (100, 2000) else "")
                   + f" --work {args.work}" + (" --merge " + " ".join(args.merge) if args.merge else "")
                   + (" --rescore " + " ".join(args.rescore) if args.rescore else "")
                   + (f" --from-record {args.from_record} --retrain {' '.join(args.retrain)}" if args.from_record else ""),
        # the commands that made the runs kept from the record (--from-record), oldest first
        "earlier_commands": [] if record is None else record.get("earlier_commands", []) + [record["command"]],
        "settings": res["settings"],
        "recipes": {c.key: MODEL_REGISTRY[c.family].recipe(c.preset) for c in S.CONTENDERS},
        "config_overrides": {c.key: c.config for c in S.CONTENDERS if c.config},
        "machine": res["machine"],
        "caveats": caveats,
        "calibration": [{k: c[k] for k in ("name", "n", "fid", "kid", "inception_score", "class_kl", "precision",
                                         "recall")} for c in res["calibration"]],
        "summary": summary,
        "seed_over_proper_fid": ratios,
        "targets": targets,
        "verdicts": res["verdicts"],
        "runs": [{k: r[k] for k in RECORD_FIELDS if k in r} for r in res["runs"]],
    }
    Path(args.out).write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(S.table_markdown(summary, res["calibration"]))
    print(json.dumps(targets, indent=1))
    print(f"wrote {args.out}")


def start_from_record(record_path: Path, work: Path, retrain: list[str]) -> dict:
    """Write --work's results.json from a record's runs less those of `retrain` (so the showdown trains
    those alone); return the record. A --work that already holds results.json is resumed as it is."""
    if not record_path.is_file():
        raise SystemExit(f"--from-record {record_path}: no such file")
    record = json.loads(record_path.read_text())
    if not all(k in record for k in ("settings", "runs", "summary", "machine")):
        raise SystemExit(f"--from-record {record_path}: not a showdown record (it lacks settings, runs, summary "
                         "or machine)")
    results = work / "results.json"
    if not results.is_file():
        kept = [r for r in record["runs"] if f"{r['family']}/{r['preset']}" not in retrain]
        work.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps({"settings": record["settings"], "runs": kept}, indent=2, default=float) + "\n")
        print(f"{results}: {len(kept)} run(s) from {record_path}; {len(record['runs']) - len(kept)} to train again")
    return record


def merge(dirs: list[str], work: Path) -> dict:
    """Gather the runs (and sample grids) of showdown folders with equal settings into `work`; return the
    machine they recorded. Refuses folders of other settings and a seed found twice."""
    import shutil

    work.mkdir(parents=True, exist_ok=True)
    merged, machine = None, None
    for d in map(Path, dirs):
        res = json.loads((d / "results.json").read_text())
        if merged is None:
            merged = {"settings": res["settings"], "runs": []}
        elif {**res["settings"], "seeds": None} != {**merged["settings"], "seeds": None}:
            raise SystemExit(f"{d} holds a showdown with other settings than {dirs[0]}")
        have = {(r["family"], r["preset"], r["seed"]) for r in merged["runs"]}
        twice = [r for r in res["runs"] if (r["family"], r["preset"], r["seed"]) in have]
        if twice:
            raise SystemExit(f"{d} repeats runs already merged: {[(r['preset'], r['seed']) for r in twice]}")
        merged["runs"] += res["runs"]
        merged["settings"]["seeds"] = sorted(set(merged["settings"]["seeds"]) | set(res["settings"]["seeds"]))
        machine = machine or res.get("machine")
        if (d / "grids").is_dir():
            shutil.copytree(d / "grids", work / "grids", dirs_exist_ok=True)
    (work / "results.json").write_text(json.dumps(merged, indent=2, default=float) + "\n")
    return machine


if __name__ == "__main__":
    main()
