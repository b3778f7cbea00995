"""Which sampler for the showdown's DDPM: DDIM's eta and DPM-Solver++ against the 1,000-step ancestral sampler.

    python benchmarks/ddpm_samplers.py --showdown runs/showdown/seed0 --out runs/samplers_seed0.json
    python benchmarks/ddpm_samplers.py --combine runs/samplers_seed*.json --out benchmarks/results/ddpm_samplers.json

Loads the DDPM a showdown folder trained (its EMA weights, from the checkpoint `genedu.showdown` kept) and
scores each sampler on the showdown's own sweep: the same number of samples (`ddim_samples`) from the same
noise seed (10,000 + the run's seed). The 1,000-step ancestral FID is read from that folder's results (the
same checkpoint, noise and count; drawing it again would take about 40 CPU minutes per seed), and the
row the showdown also scored (its contender's own sampler at a step count of its steps curve, e.g. DDIM 50
eta 1) is drawn first and must come out the same here: a check that the checkpoint is the one the showdown
measured, made before the other samplers run. Seeds can run side by side, one folder each, and be combined.
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

SAMPLERS = [  # (row name, model.sample options); every row at most 50 network calls per image
    ("DDIM 50, eta 0", {"sampler": "ddim", "steps": 50, "eta": 0.0}),
    ("DDIM 50, eta 0.5", {"sampler": "ddim", "steps": 50, "eta": 0.5}),
    ("DDIM 50, eta 1", {"sampler": "ddim", "steps": 50, "eta": 1.0}),
    ("DDIM 25, eta 1", {"sampler": "ddim", "steps": 25, "eta": 1.0}),
    ("DPM-Solver++ 2M, 20", {"sampler": "dpm", "steps": 20}),
]


def _check_row(sample_options: dict, recorded: dict) -> str | None:
    """The row of SAMPLERS that the showdown's steps curve also scored, if any: the curve samples with the
    contender's own options at each of its step counts, so a row with those options (eta 0 when unsaid) at
    a step count of the curve must give the curve's FID."""
    own = {"eta": 0.0, **sample_options}
    for name, opts in SAMPLERS:
        if opts.get("steps") in recorded and {"eta": 0.0, **opts} == {**own, "steps": opts["steps"]}:
            return name
    return None


def score_folder(folder: Path, n: int | None = None) -> dict:
    res = json.loads((folder / "results.json").read_text())
    contenders = [Contender(**c) for c in res["settings"]["contenders"]]
    ddpm = [c for c in contenders if c.family == "diffusion" and c.preset != "seed"]
    if len(ddpm) != 1:
        raise SystemExit(f"{folder}: expected one proper DDPM contender, found {[c.label for c in ddpm]}")
    c = ddpm[0]
    runs = [r for r in res["runs"] if r["family"] == c.family and r["preset"] == c.preset]
    if len(runs) != 1 or "ancestral" not in runs[0]:
        raise SystemExit(f"{folder}: needs one finished {c.label} run scored with --ancestral-steps")
    run = runs[0]
    ckpt = checkpoint_path(folder, c, run["seed"])
    if not ckpt.is_file():
        raise SystemExit(f"{folder}: the checkpoint {ckpt.name} is missing")
    model = load_model(ckpt).eval()
    n = n or res["settings"]["ddim_samples"]
    recorded = {p["steps"]: p["fid"] for p in run.get("steps_curve", [])}
    check = _check_row(c.sample_options, recorded) if n == res["settings"]["ddim_samples"] else None
    # the row the showdown also scored goes first, so a checkpoint that is not the one measured is refused
    # after one sampler, not after all of them
    order = sorted(SAMPLERS, key=lambda row: row[0] != check)
    load_before = list(os.getloadavg())
    rows = []
    for name, opts in order:
        r = sample_and_score(model, opts, n, seed=run["seed"], conditional=c.conditional)
        rows.append({"sampler": name, "options": opts, "n": r["n"], "fid": r["fid"], "class_kl": r["class_kl"],
                     "precision": r["precision"], "recall": r["recall"], "seconds_per_1000": r["seconds_per_1000"]})
        print(folder.name, rows[-1], flush=True)
        if name == check and abs(recorded[opts["steps"]] - r["fid"]) > 1e-3:
            raise SystemExit(f"{folder}: {name} scored {r['fid']:.3f} here, {recorded[opts['steps']]:.3f} in the "
                             "showdown: not the checkpoint (or the code) the showdown measured")
    rows.sort(key=lambda row: [name for name, _ in SAMPLERS].index(row["sampler"]))
    return {"seed": run["seed"], "folder": folder.name, "images_seen": run["images_seen"], "config": run.get("config"),
            "ancestral": run["ancestral"], "rows": rows, "machine": describe_machine("cpu"),
            "torch_threads": torch.get_num_threads(), "load_average_before_after": [load_before, list(os.getloadavg())]}


def combine(parts: list[dict]) -> dict:
    seeds = sorted(p["seed"] for p in parts)
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"a seed appears twice: {seeds}")
    anc = [p["ancestral"]["fid"] for p in parts]
    anc_mean = sum(anc) / len(anc)
    table = []
    for name, opts in SAMPLERS:
        fids = [r["fid"] for p in parts for r in p["rows"] if r["sampler"] == name]
        kls = [r["class_kl"] for p in parts for r in p["rows"] if r["sampler"] == name]
        mean = sum(fids) / len(fids)
        std = (sum((f - mean) ** 2 for f in fids) / (len(fids) - 1)) ** 0.5 if len(fids) > 1 else 0.0
        table.append({"sampler": name, "options": opts, "network_calls": opts["steps"],
                      "fid_mean": mean, "fid_std": std, "fid_per_seed": fids, "class_kl_mean": sum(kls) / len(kls),
                      "over_ancestral": mean / anc_mean})
    best = min(table, key=lambda r: r["fid_mean"])
    return {"what": "the showdown's DDPM (laptop UNet, unconditional, batch 64, 275,000 images): samplers of at most "
                    "50 network calls against its 1,000-step ancestral FID, same samples and noise per seed",
            "command": "python benchmarks/ddpm_samplers.py --showdown <showdown folder> (one per seed), then --combine",
            "seeds": seeds, "n_per_seed": parts[0]["rows"][0]["n"],
            "ancestral_fid_mean": anc_mean, "ancestral_fid_per_seed": anc,
            "table": table, "best": best["sampler"], "parts": parts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--showdown", nargs="+", type=Path, help="showdown folders (one seed each, or several)")
    ap.add_argument("--combine", nargs="+", type=Path, help="per-folder JSONs written by --showdown runs")
    ap.add_argument("--n", type=int, help="samples per sampler (default: the showdown's ddim_samples; fewer for a "
                    "quick check, which skips the comparison with the showdown's own score)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if bool(args.showdown) == bool(args.combine):
        ap.error("give --showdown folders or --combine files, not both")
    if args.showdown:
        parts = [score_folder(f, args.n) for f in args.showdown]
        out = parts[0] if len(parts) == 1 else combine(parts)
    else:
        parts = []
        for f in args.combine:
            d = json.loads(f.read_text())
            parts += d["parts"] if "parts" in d else [d]
        out = combine(parts)
        for row in out["table"]:
            print(f"{row['sampler']:22s} FID {row['fid_mean']:6.2f} +/- {row['fid_std']:.2f}  "
                  f"{row['over_ancestral']:.2f}x ancestral  class KL {row['class_kl_mean']:.4f}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
