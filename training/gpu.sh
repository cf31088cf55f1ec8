#!/usr/bin/env bash
# A larger softmax/SSMax pair on one GPU, in one command that ends within ~7 minutes on an H200: the same pipeline
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
# (if the export failed there, models/ holds <variant>.fp16.pt instead: copy each to gpu-pair/runs/<variant>.pt)
# The environment can change any of the sizes below; DEVICE=cpu with tiny sizes runs it here (smoke.sh does).
set -euo pipefail
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
# OUT and DATA are taken from where the script is called (the device tool's $OUT is absolute)
OUT=$(mkdir -p "${OUT:-$here/runs-gpu}" && CDPATH= cd -- "${OUT:-$here/runs-gpu}" && pwd)
DATA=$(CDPATH= cd -- "${DATA:-$here/data}" 2>/dev/null && pwd || echo "${DATA:-$here/data}")
cd "$here"
PY=${PY:-python3}           # on the GPU machine, the python that holds its CUDA torch
MINUTES=${MINUTES:-5}       # the training run itself, evaluations included; setup, export and packing ~1.5 more
DEVICE=${DEVICE:-cuda}
D_MODEL=${D_MODEL:-384}; LAYERS=${LAYERS:-6}; HEADS=${HEADS:-6}   # ~12M parameters: 24 MB a model in fp16
BATCH=${BATCH:-64}; CONTEXT=${CONTEXT:-512}; LR=${LR:-1e-3}
TOKENS=${TOKENS:-60e6}      # per variant, at most: ~4 passes over the 15M-token corpus (an H200 could do far more)
REFERENCE_TOKENS=${REFERENCE_TOKENS:-150}   # export.py's float64 fixtures are not packed (made here from the weights)
if [ ! -s "$DATA/train.bin" ] && [ -s data.tar.gz ] && [ "$DATA" = "$here/data" ]; then tar -xzf data.tar.gz; fi
for f in train.bin val.bin tokenizer.json; do
  test -s "$DATA/$f" || { echo "gpu.sh: $DATA/$f is missing (see the top of this script)" >&2; exit 2; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# export.py needs onnx: fail before training, not after it
"$PY" -c 'import torch, onnx, numpy, sys; print("torch", torch.__version__, "onnx", onnx.__version__,
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no cuda", file=sys.stderr)'
"$PY" train.py --variants softmax,ssmax --data "$DATA" --out "$W/runs" --device "$DEVICE" --bf16 \
  --fit-minutes "$MINUTES" --tokens "$TOKENS" --batch "$BATCH" --context "$CONTEXT" --d-model "$D_MODEL" --layers "$LAYERS" \
  --heads "$HEADS" --lr "$LR" 2>&1 | tee "$OUT/train.out"
# the pair only (24 MB each at the default size; the device tool brings back 64 MiB in all): the retrofit, which is
# the softmax weights, and the float64 fixtures are made here from the weights (from_onnx.py, then export.py)
if ! "$PY" export.py --runs "$W/runs" --data "$DATA" --models "$W/models" --fixtures "$W/fixtures" \
  --reference-tokens "$REFERENCE_TOKENS" --variants ssmax,softmax 2>&1 | tee -a "$OUT/train.out"; then
  # keep the training: each variant's weights in fp16 (what the ONNX files would hold), for export.py here
  echo "gpu.sh: export failed; packing the weights instead" | tee -a "$OUT/train.out"
  mkdir -p "$W/models"
  "$PY" - "$W/runs" "$W/models" <<'PY'
import sys, os, torch
runs, out = sys.argv[1:]
for v in ("softmax", "ssmax"):
    ck = torch.load(os.path.join(runs, f"{v}.pt"), map_location="cpu")
    ck["state"] = {k: t.half() if t.is_floating_point() else t for k, t in ck["state"].items()}
    ck.pop("opt", None)
    torch.save(ck, os.path.join(out, f"{v}.fp16.pt"))
PY
fi
cp "$W"/runs/*.log.jsonl "$W/models/"
rm -f "$OUT"/pair.tar.part-*
tar -C "$W" -cf - models | split -b 15M - "$OUT/pair.tar.part-"
ls -l "$OUT"
