#!/usr/bin/env bash
# The whole pipeline, one stage per command: corpus -> tokenizer -> train the pair -> fine-tune the retrofit ->
# evaluate -> export. STEPS, BATCH, CONTEXT, MAX_MINUTES, DEVICE, THREADS and FT_STEPS can be set in the environment;
# the defaults train the shipped pair's 19,600 steps in one run (the shipped pair came from three runs on the same
# batch stream: training/README.md, "How the shipped pair was trained").
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
PY=/usr/bin/python3   # Debian's python sees python3-torch; another python3 first on PATH may not
STEPS=${STEPS:-19600}; BATCH=${BATCH:-4}; CONTEXT=${CONTEXT:-512}; MAX_MINUTES=${MAX_MINUTES:-0}; DEVICE=${DEVICE:-cpu}
THREADS=${THREADS:-2}; FT_STEPS=${FT_STEPS:-$((STEPS / 20))}
mkdir -p runs
$PY corpus.py
# the shipped tokenizer (ids the extension's tokenizer and its parity tests know); drop --reuse to train a new one
$PY tokenizer.py --reuse ../models/tokenizer.json
# both variants in one process, stepped on the same batch (the fastest pairing here: runs/throughput.md)
export OPENBLAS_NUM_THREADS=1
$PY train.py --variants softmax,ssmax --steps "$STEPS" --batch "$BATCH" --context "$CONTEXT" --bf16 \
  --threads "$THREADS" --max-minutes "$MAX_MINUTES" --device "$DEVICE" --resume 2>&1 | tee runs/pair.out
# the retrofit fine-tune: softmax weights, SSMax with s = 1/ln N to start, ~5 % of the pretraining steps, new batches
$PY train.py --variants ssmax --init-from runs/softmax.pt --tag retrofit-ft --steps "$FT_STEPS" --lr 3e-4 \
  --warmup 30 --step-offset "$STEPS" --batch "$BATCH" --context "$CONTEXT" --bf16 --threads "$THREADS" \
  --device "$DEVICE" --eval-every "$FT_STEPS" --save-every "$FT_STEPS" 2>&1 | tee runs/retrofit-ft.out
unset OPENBLAS_NUM_THREADS
$PY evaluate.py
$PY export.py
