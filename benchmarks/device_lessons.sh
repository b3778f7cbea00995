#!/usr/bin/env bash
# One call on a lent GPU machine: every lesson's normal mode timed there (TRAIN_FROM_SCRATCH is True on a
# GPU: each lesson trains its own models), in lanes side by side, plus the VAE precision job (bf16
# autocast against float32). Run from the repository root:
#
#     benchmarks/device_lessons.sh OUT [MINUTES] [fast]
#
# `fast` runs the tests' fast mode instead (GENEDU_FAST=1: every cell on tiny budgets, to check the GPU code
# path in minutes) into lessons_fast_gpu.json, and no VAE job.
#
# MNIST comes from GENEDU_MNIST_SOURCE (default: data/src, the four .gz files, carried along); the
# notebook packages missing on that machine come as wheels in .whl/ when there is one. Everything it
# brings back lies directly in OUT: lesson_times_gpu.json, the lanes' log, the executed notebooks
# (lessons.tar.gz) and the gpu_references.py job's archive and summary.
set -u
OUT=${1:?usage: benchmarks/device_lessons.sh OUT [MINUTES]}
MINUTES=${2:-7.8}
FAST=${3:-}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export GENEDU_MNIST_SOURCE="${GENEDU_MNIST_SOURCE:-$PWD/data/src}" GENEDU_DATA="${GENEDU_DATA:-/tmp/genedu_data}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/run.log"
# the data and the real images' classifier features once, before anything runs side by side
python3 -c "from genedu import load_mnist; load_mnist('train'); load_mnist('test')
from genedu.evaluate.report import real_features; real_features('test'); real_features('train')" 2>&1 | tee -a "$OUT/run.log"

if [ "$FAST" = fast ]; then
  python3 benchmarks/lesson_times.py --fast --lanes 03_diffusion 03b_flow 05_showdown 01_vae,04_evaluation 02_gan,00_mnist \
    --deadline-minutes "$MINUTES" --threads 2 --out "$OUT/lessons_fast_gpu.json" --keep /tmp/lessons 2>&1 | tee -a "$OUT/run.log"
else
  python3 benchmarks/gpu_references.py --out /tmp/refs --minutes "$MINUTES" --jobs vae_amp >>"$OUT/run.log" 2>&1 &
  python3 benchmarks/lesson_times.py --lanes 01_vae,00_mnist 02_gan,04_evaluation 03_diffusion 03b_flow 05_showdown \
    --deadline-minutes "$MINUTES" --threads 2 --out "$OUT/lesson_times_gpu.json" --keep /tmp/lessons 2>&1 | tee -a "$OUT/run.log"
fi
wait
cp /tmp/refs/*.tar.gz /tmp/refs/summary.json "$OUT/" 2>/dev/null
tar czf "$OUT/lessons.tar.gz" -C /tmp lessons 2>/dev/null
ls -la "$OUT"
