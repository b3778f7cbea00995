"""The reference DDPM's variational bound on the very binarised test images the reference VAE's likelihood used.

    python benchmarks/likelihood_same_data.py [--n 5000] [--t-samples 16]

The VAE's IWAE bound is on binarised digits (its decoder is Bernoulli); the DDPM's bound is recorded on 8-bit
greys (its decoder is discretised to 256 levels). To set them side by side on the same data, this binarises
the first `n` test images exactly as the VAE's IWAE did (`genedu.evaluate.likelihood`, seed 0, batches of
100), writes each as an 8-bit image (0 and 255, i.e. -1 and 1) and computes the DDPM's bound on them. The two
figures are then -log p of the same images; the DDPM spreads its probability over 256 grey levels it learned
from greys where the VAE spreads it over 2, so the comparison says which model was made for this data, not
which family is better. Written into the diffusion reference's JSON under "variational_bound_binarised".
"""

from __future__ import annotations

import argparse
import math

import torch

from genedu.data import load_mnist
from genedu.evaluate.likelihood import _binary_batches, diffusion_bound
from genedu.reference import add_to_record, load_reference, reference_info
from genedu.utils import describe_machine


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--t-samples", type=int, default=16)
    args = ap.parse_args(argv)
    vae = reference_info("vae")["likelihood"]
    if f"first {args.n} test images" not in vae["setting"] or "binarised" not in vae["setting"]:
        ap.error(f"--n {args.n}: the VAE reference's bound is on other images ({vae['setting']}): use its count")
    test = load_mnist("test")
    x01 = torch.cat([x for x, _ in _binary_batches(test, batch_size=100, seed=0, n=args.n, device="cpu")])
    model = load_reference("diffusion")
    bound = diffusion_bound(model, 2 * x01 - 1, n=args.n, t_samples=args.t_samples, seed=0)
    row = {"bits_per_dim": bound["bits_per_dim"], "bits_per_dim_stderr": bound["bits_per_dim_stderr"],
           "nats": bound["nats"], "n": bound["n"], "t_samples": args.t_samples,
           "setting": f"the first {args.n} test images binarised as the VAE reference's IWAE binarised them (seed 0), "
                      "each pixel 0 or 255 on the 8-bit grid; unconditional (null class)",
           "vae_iwae_nats_same_images": vae["iwae_nll_nats"],
           "vae_bits_per_dim_same_images": vae["iwae_nll_nats"] / (784 * math.log(2)),
           "machine": describe_machine("cpu"), "command": "python benchmarks/likelihood_same_data.py"
           + (f" --n {args.n}" if args.n != 5000 else "") + (f" --t-samples {args.t_samples}" if args.t_samples != 16 else "")}
    print(f"on the same {args.n} binarised test images: VAE (IWAE k=1000) {row['vae_bits_per_dim_same_images']:.3f} bits/dim, "
          f"DDPM bound {row['bits_per_dim']:.3f} +/- {row['bits_per_dim_stderr']:.3f} bits/dim", flush=True)
    add_to_record("diffusion", "variational_bound_binarised", row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
