"""Which solver for the showdown's flow, and the flow against the DDPM at the same number of network calls.

    python benchmarks/flow_samplers.py --showdown runs/showdown/seed0 --out runs/flow_samplers_seed0.json
    python benchmarks/flow_samplers.py --combine runs/flow_samplers_seed*.json --out benchmarks/results/flow_samplers.json

The showdown sampled its flow with 10 Euler steps (10 network calls per image) and its DDPM with 50 DDIM
steps (50 calls), so its table compared the two families at unequal cost; these figures chose the flow's
50 Euler steps since. This loads the flow a showdown
folder trained (its EMA weights, from the checkpoint `genedu.showdown` kept) and scores ODE solvers of up to
50 calls on the showdown's own sweep (`ddim_samples` samples, noise seed 10,000 + the run's seed), beside the
DDPM's FID at 50 steps read from the same folder's steps curve (same count and noise). The row the showdown
also scored (Euler at a step count of its steps curve) is drawn first and must come out the same here: a
check that the checkpoint is the one the showdown measured. Seeds can run side by side and be combined.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from genedu.checkpoint import load_model
from genedu.showdown import Contender, checkpoint_path, sample_and_score
from genedu.utils import describe_machine

SAMPLERS = [  # (row name, model.sample options, network calls per image)
    ("Euler 10", {"method": "euler", "steps": 10}, 10),
    ("Euler 50", {"method": "euler", "steps": 50}, 50),
    ("midpoint 25", {"method": "midpoint", "steps": 25}, 50),
    ("Heun 25", {"method": "heun", "steps": 25}, 50),
]


def _proper(res: dict, family: str, folder: Path):
    found = [Contender(**c) for c in res["settings"]["contenders"] if c["family"] == family and c["preset"] != "seed"]
    runs = [r for r in res["runs"] if found and (r["family"], r["preset"]) == (family, found[0].preset)]
    if len(found) != 1 or len(runs) != 1:
        raise SystemExit(f"{folder}: expected one proper {family} contender with one finished run, found "
                         f"{[c.label for c in found]} and {len(runs)} run(s)")
    return found[0], runs[0]


def score_folder(folder: Path) -> dict:
    res = json.loads((folder / "results.json").read_text())
    c, run = _proper(res, "flow", folder)
    ddpm_c, ddpm = _proper(res, "diffusion", folder)
    ddpm50 = [p for p in ddpm.get("steps_curve", []) if p["steps"] == 50]
    recorded = {p["steps"]: p["fid"] for p in run.get("steps_curve", [])}
    if not ddpm50 or not recorded:
        raise SystemExit(f"{folder}: the showdown must have scored steps curves including 50 steps (--ddim-steps)")
    ckpt = checkpoint_path(folder, c, run["seed"])
    if not ckpt.is_file():
        raise SystemExit(f"{folder}: the checkpoint {ckpt.name} is missing")
    model = load_model(ckpt).eval()
    n = res["settings"]["ddim_samples"]
    check = next((name for name, opts, _ in SAMPLERS if opts["method"] == c.sample_options.get("method")
                  and opts["steps"] in recorded), None)
    order = sorted(SAMPLERS, key=lambda row: row[0] != check)  # the recorded row first: a wrong checkpoint stops early
    load_before = list(os.getloadavg())
    rows = []
    for name, opts, calls in order:
        r = sample_and_score(model, opts, n, seed=run["seed"], conditional=c.conditional)
        rows.append({"sampler": name, "options": opts, "network_calls": calls, "n": r["n"], "fid": r["fid"],
                     "class_kl": r["class_kl"], "precision": r["precision"], "recall": r["recall"],
                     "seconds_per_1000": r["seconds_per_1000"]})
        print(folder.name, rows[-1], flush=True)
        if name == check and abs(recorded[opts["steps"]] - r["fid"]) > 1e-3:
            raise SystemExit(f"{folder}: {name} scored {r['fid']:.3f} here, {recorded[opts['steps']]:.3f} in the "
                             "showdown: not the checkpoint (or the code) the showdown measured")
    rows.sort(key=lambda row: [s[0] for s in SAMPLERS].index(row["sampler"]))
    return {"seed": run["seed"], "folder": folder.name, "images_seen": run["images_seen"], "config": run.get("config"),
            "ddpm_50_steps": {"fid": ddpm50[0]["fid"], "n": ddpm50[0]["n_samples"],
                              "sample_options": {**ddpm_c.sample_options, "steps": 50}},
            "rows": rows, "machine": describe_machine("cpu"), "torch_threads": torch.get_num_threads(),
            "load_average_before_after": [load_before, list(os.getloadavg())]}


def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    return m, ((sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0)


def combine(parts: list[dict]) -> dict:
    seeds = sorted(p["seed"] for p in parts)
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"a seed appears twice: {seeds}")
    ddpm, ddpm_std = _mean_std([p["ddpm_50_steps"]["fid"] for p in parts])
    table = []
    for name, opts, calls in SAMPLERS:
        fids = [r["fid"] for p in parts for r in p["rows"] if r["sampler"] == name]
        mean, std = _mean_std(fids)
        table.append({"sampler": name, "options": opts, "network_calls": calls, "fid_mean": mean, "fid_std": std,
                      "fid_per_seed": fids, "class_kl_mean": sum(r["class_kl"] for p in parts for r in p["rows"]
                                                                  if r["sampler"] == name) / len(fids),
                      "over_ddpm_50": mean / ddpm})
    best50 = min((r for r in table if r["network_calls"] == 50), key=lambda r: r["fid_mean"])
    return {"what": "the showdown's flow (laptop UNet, unconditional, batch 64, 275,000 images): ODE solvers of at "
                    "most 50 network calls, beside the showdown's DDPM at 50 steps (same samples and noise per seed)",
            "command": "python benchmarks/flow_samplers.py --showdown <showdown folder> (one per seed), then --combine",
            "seeds": seeds, "n_per_seed": parts[0]["rows"][0]["n"], "ddpm_50_fid_mean": ddpm,
            "ddpm_50_fid_std": ddpm_std, "table": table, "best_at_50_calls": best50["sampler"], "parts": parts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--showdown", nargs="+", type=Path, help="showdown folders (one seed each, or several)")
    ap.add_argument("--combine", nargs="+", type=Path, help="per-folder JSONs written by --showdown runs")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if bool(args.showdown) == bool(args.combine):
        ap.error("give --showdown folders or --combine files, not both")
    if args.showdown:
        parts = [score_folder(f) for f in args.showdown]
        out = parts[0] if len(parts) == 1 else combine(parts)
    else:
        parts = []
        for f in args.combine:
            d = json.loads(f.read_text())
            parts += d["parts"] if "parts" in d else [d]
        out = combine(parts)
        print(f"DDPM, 50 steps         FID {out['ddpm_50_fid_mean']:6.2f} +/- {out['ddpm_50_fid_std']:.2f}")
        for row in out["table"]:
            print(f"flow, {row['sampler']:16s} FID {row['fid_mean']:6.2f} +/- {row['fid_std']:.2f}  "
                  f"({row['network_calls']} calls, {row['over_ddpm_50']:.2f}x the DDPM's)  class KL {row['class_kl_mean']:.4f}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
