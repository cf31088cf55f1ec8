#!/usr/bin/env bash
# A larger softmax/SSMax pair on one GPU, in one command that ends within ~9 minutes on an H200: the same pipeline
# (train.py on the same batches from the same initial weights, export.py's graph), sized to the time it is given.
# Needs only this repository and the tokenised corpus (train.bin, val.bin, tokenizer.json: 31 MB, ignored by git), made
# where the corpus sources are (7 s here) and carried as training/data.tar.gz (10 MB; the tree and the carried files
# may be 64 MiB together, and the tree alone is ~43 MB):
#   cd training && /usr/bin/python3 corpus.py && /usr/bin/python3 tokenizer.py --reuse ../models/tokenizer.json
#   tar -czf data.tar.gz data/train.bin data/val.bin data/tokenizer.json
# then, on the device: `bash training/gpu.sh` with carry ["training/data.tar.gz"] (it unpacks it when data/ is absent).
# Writes to $OUT (default training/runs-gpu): train.out, and the exported models and training logs as one tar in
# parts of at most 15 MiB (what the device tool brings back). Back here, with the parts in training/runs-gpu:
#   mkdir -p training/gpu-pair && cat training/runs-gpu/pair.tar.part-* | tar -x -C training/gpu-pair
#   cd training && /usr/bin/python3 from_onnx.py --models gpu-pair/models --out gpu-pair/runs
#   cp gpu-pair/models/*.log.jsonl gpu-pair/runs/
#   /usr/bin/python3 evaluate.py --runs gpu-pair/runs --out gpu-pair/RESULTS.md   # and export.py --runs gpu-pair/runs
# The environment can change any of the sizes below; DEVICE=cpu with tiny sizes runs it here (smoke.sh does).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-python3}           # on the GPU machine, the python that holds its CUDA torch
OUT=$(mkdir -p "${OUT:-runs-gpu}" && cd "${OUT:-runs-gpu}" && pwd)
DATA=${DATA:-data}
MINUTES=${MINUTES:-6}       # the training run itself, evaluations included; export and packing take ~1 more
DEVICE=${DEVICE:-cuda}
D_MODEL=${D_MODEL:-384}; LAYERS=${LAYERS:-6}; HEADS=${HEADS:-6}   # ~12M parameters: 24 MB a model in fp16
BATCH=${BATCH:-64}; CONTEXT=${CONTEXT:-512}; LR=${LR:-1e-3}
TOKENS=${TOKENS:-60e6}      # per variant, at most: ~4 passes over the 15M-token corpus (an H200 could do far more)
REFERENCE_TOKENS=${REFERENCE_TOKENS:-2100}
if [ ! -s "$DATA/train.bin" ] && [ -s data.tar.gz ] && [ "$DATA" = data ]; then tar -xzf data.tar.gz; fi
for f in train.bin val.bin tokenizer.json; do
  test -s "$DATA/$f" || { echo "gpu.sh: $DATA/$f is missing (see the top of this script)" >&2; exit 2; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$PY" -c 'import torch, sys; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "no cuda",
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "", file=sys.stderr)'
"$PY" train.py --variants softmax,ssmax --data "$DATA" --out "$W/runs" --device "$DEVICE" --bf16 \
  --fit-minutes "$MINUTES" --tokens "$TOKENS" --batch "$BATCH" --context "$CONTEXT" --d-model "$D_MODEL" --layers "$LAYERS" \
  --heads "$HEADS" --lr "$LR" 2>&1 | tee "$OUT/train.out"
# the pair only (24 MB each at the default size; the device tool brings back 64 MiB in all): the retrofit, which is
# the softmax weights, and the float64 fixtures are made here from the weights (from_onnx.py, then export.py)
"$PY" export.py --runs "$W/runs" --data "$DATA" --models "$W/models" --fixtures "$W/fixtures" \
  --reference-tokens "$REFERENCE_TOKENS" --variants ssmax,softmax 2>&1 | tee -a "$OUT/train.out"
cp "$W"/runs/*.log.jsonl "$W/models/"
rm -f "$OUT"/pair.tar.part-*
tar -C "$W" -cf - models | split -b 15M - "$OUT/pair.tar.part-"
ls -l "$OUT"
