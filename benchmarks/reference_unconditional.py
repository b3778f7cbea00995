"""The shipped references compared like with like: every family sampled unconditionally, 10,000 samples each.

    python benchmarks/reference_unconditional.py [--families vae gan diffusion flow] [--n 10000] [--seed 0]

A reference's recorded evaluation uses the sampler it was made for: the VAE and the GAN are unconditional
models, while the diffusion and flow references are class-conditional networks scored with class-balanced
requested labels. A requested label helps FID and fixes the class shares, so those figures cannot rank the
families. This draws every reference without a label (the diffusion and flow networks with their null
label, which they learnt from the 10 % of batches whose label was dropped), with the sampler its JSON
records, and scores the samples with the project's suite (sharpness included). The result is written into
each reference's JSON under "unconditional" (the lesson reads it from the installed package), with the
machine, the count, the seed and the seconds.
"""

from __future__ import annotations

import argparse
import os

from genedu.reference import add_to_record, load_reference, reference_info, sample_options
from genedu.showdown import sample_and_score
from genedu.utils import describe_machine


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=["vae", "gan", "diffusion", "flow"],
                    choices=["vae", "gan", "diffusion", "flow"])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.n < 2000:
        ap.error(f"--n {args.n}: the references are compared at 10,000 samples (at least 2,000 for a rough check)")
    for family in args.families:
        info = reference_info(family)
        model = load_reference(family)
        opts = sample_options(family)
        load_before = os.getloadavg()[0]
        r = sample_and_score(model, opts, args.n, seed=args.seed, conditional=False)
        keep = ("n", "fid", "kid", "inception_score", "class_kl", "class_histogram", "precision", "recall", "density",
                "coverage", "sharpness", "near_copy_share", "seconds_per_1000")
        row = {k: r[k] for k in keep if k in r}
        row.update({"sample_options": opts, "labels": "none (the null label of a conditional network)"
                    if getattr(model, "conditional", False) else "none (an unconditional model)",
                    "seed": args.seed, "machine": describe_machine("cpu"),
                    "load_average_1min": [load_before, os.getloadavg()[0]],
                    "command": "python benchmarks/reference_unconditional.py"
                               + (f" --families {' '.join(args.families)}" if len(args.families) < 4 else "")
                               + (f" --n {args.n}" if args.n != 10_000 else "")})
        print(f"{family}: FID {row['fid']:.2f} unconditionally (recorded {info['evaluation']['fid']:.2f} with "
              f"{opts or 'its default sampler'}), class KL {row['class_kl']:.4f}, precision {row['precision']:.3f}, "
              f"recall {row['recall']:.3f}, sharpness {row.get('sharpness', float('nan')):.2f}", flush=True)
        add_to_record(family, "unconditional", row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
