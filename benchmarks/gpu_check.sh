#!/usr/bin/env bash
# Every GPU figure the suite reports, in one run of about 15 minutes on one GPU: training batches/s of every
# method at 256² in bf16 and inference images/s (with peak memory), training batches/s of every method in
# fp32, bf16 and compiled (benchmarks/training_options.py), patch-swap and feature translation,
# the internal colorization per image in the paper, official_code and fast_paper presets (fp32 and bf16,
# one at a time and batched, at 256² and 512×640), and EII Table 3's protocol at 512×640 on the real
# photos (paper, fast_paper, Levin, the matting Laplacian: paired PSNR differences). A session lent a GPU runs it first and
# reports its output.
#
#   bash benchmarks/gpu_check.sh             # on the GPU machine, from the repository root
#   bash benchmarks/gpu_check.sh --dry-run   # the same commands at toy sizes on CPU (a test runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export PYTHONUNBUFFERED=1

if [[ "${1:-}" == "--dry-run" ]]; then
  DEVICE=cpu; ACCEL=cpu; PRECISION=32-true; SIZE=32; MIN64=64; WIDE=128; BATCH=1; BATCHES=1; WARMUP=1
  SCALE=0.002; COLOR_SIZES="32x32 32x40"; QUALITY_SIZE=32x40; PHOTOS=2; PATCH=16
  OUT=${TMPDIR:-/tmp}/gpu_check_dry_run
  NARROW=(--cnum 4); DEEPGIN=(--width 4); FT=(--channels 4 --scales 64 128 --train-size 64)
  SPEED_OPTIONS=(--methods gatedconv --options fp32 bf16)
  nvidia-smi() { echo "dry run: no GPU"; }
else
  DEVICE=cuda; ACCEL=gpu; PRECISION=bf16-mixed; SIZE=256; MIN64=256; WIDE=4096; BATCH=8; BATCHES=20; WARMUP=5
  SCALE=0.1; COLOR_SIZES="256x256 512x640"; QUALITY_SIZE=512x640; PHOTOS=10; PATCH=64
  OUT=logs/gpu_check
  NARROW=(); DEEPGIN=(); FT=()
  SPEED_OPTIONS=(--options fp32 bf16 compile)
fi
run() { echo; echo "\$ $*"; "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
run "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

# training batches/s at 256² in bf16 and inference images/s, each with its peak memory
TIMING=(--batch-size "$BATCH" --batches "$BATCHES" --warmup "$WARMUP" --precision "$PRECISION")
run "$PYTHON" benchmarks/gatedconv_training.py --device "$ACCEL" --size "$SIZE" "${TIMING[@]}" "${NARROW[@]}"
run "$PYTHON" benchmarks/deepgin.py --device "$ACCEL" --size "$SIZE" "${TIMING[@]}" "${DEEPGIN[@]}"
run "$PYTHON" benchmarks/edgeconnect.py --device "$ACCEL" --size "$SIZE" "${TIMING[@]}" "${NARROW[@]}"
run "$PYTHON" benchmarks/gmcnn.py --device "$DEVICE" --size "$MIN64" "${TIMING[@]}" "${NARROW[@]}"
run "$PYTHON" benchmarks/hifill.py --device "$ACCEL" --size "$MIN64" --large-size "$WIDE" "${TIMING[@]}"
run "$PYTHON" benchmarks/blockwise.py --device "$ACCEL" --sizes "$SIZE" "${TIMING[@]}"
run "$PYTHON" benchmarks/feature_translation.py --device "$DEVICE" "${TIMING[@]}" "${FT[@]}"
run "$PYTHON" benchmarks/training_options.py --device "$ACCEL" --size "$SIZE" --batch-size "$BATCH" \
  --batches "$BATCHES" --warmup "$WARMUP" "${SPEED_OPTIONS[@]}"
run "$PYTHON" benchmarks/patch_swap.py --device "$DEVICE" --size "$PATCH" --batch 1 16

# the internal colorization: seconds per image, fp32 and bf16, both presets
for precision in 32 bf16; do
  run "$PYTHON" benchmarks/colorization.py --device "$DEVICE" --presets paper official_code fast_paper \
    --precision "$precision" --iterations-scale "$SCALE" --batch "$BATCH" --sizes $COLOR_SIZES
done

# EII Table 3's protocol at the paper's resolution on the real photos
run "$PYTHON" benchmarks/colorization_quality.py --device "$DEVICE" --size "$QUALITY_SIZE" --textures 0 \
  --methods paper fast_paper levin matting_laplacian \
  --photos "$PHOTOS" --batch "$BATCH" --out "$OUT/colorization_quality" \
  $([[ "$DEVICE" == cpu ]] && echo "--iterations-scale $SCALE")
