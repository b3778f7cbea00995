"""Test configuration shared by the unit tests and the notebook tests (nbval).

Notebook kernels inherit this process's environment, so what is set here reaches them too:
- GENEDU_FAST=1: every lesson shrinks its training to seconds;
- MPLBACKEND=Agg: figures render headless;
- GENEDU_DATA: one data root for the whole run (./data in the checkout, git-ignored), so MNIST is
  extracted once;
- GENEDU_MNIST_SOURCE: ../shared/data/mnist beside the checkout when it exists and nothing else is set
  (machines without a network; CI sets it too).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent

os.environ["GENEDU_FAST"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GENEDU_DATA", str(ROOT / "data"))
_shared = ROOT.parent / "shared" / "data" / "mnist"
if "GENEDU_MNIST_SOURCE" not in os.environ and _shared.is_dir():
    os.environ["GENEDU_MNIST_SOURCE"] = str(_shared)
