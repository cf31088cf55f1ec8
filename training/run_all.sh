#!/usr/bin/env bash
# The whole pipeline, one stage per command: corpus -> tokenizer -> train (both variants in parallel) -> evaluate -> export.
# STEPS, BATCH, CONTEXT, MAX_MINUTES and DEVICE can be set in the environment. Defaults reproduce the shipped pair.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
PY=/usr/bin/python3   # Debian's python sees python3-torch; another python3 first on PATH may not
STEPS=${STEPS:-1800}; BATCH=${BATCH:-4}; CONTEXT=${CONTEXT:-512}; MAX_MINUTES=${MAX_MINUTES:-0}; DEVICE=${DEVICE:-cpu}
$PY corpus.py
$PY tokenizer.py
# one core each: two single-threaded runs beat one run with two threads here (shared/notes/training-on-cpu.md)
export OPENBLAS_NUM_THREADS=1
for v in softmax ssmax; do
  $PY train.py --variant $v --steps "$STEPS" --batch "$BATCH" --context "$CONTEXT" --max-minutes "$MAX_MINUTES" --device "$DEVICE" > runs/$v.out 2>&1 &
done
wait
unset OPENBLAS_NUM_THREADS
$PY evaluate.py
$PY export.py
