#!/usr/bin/env bash
# A few steps of every stage on a tiny corpus, in a temporary folder: keeps the pipeline from rotting silently.
# Run by `npm test` where Debian's python3-torch is present (CI installs it).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
$PY corpus.py --out "$T/data" --max-mb 1.5 --sources-md "$T/SOURCES.md"
$PY tokenizer.py --data "$T/data" --out "$T/data/tokenizer.json" --vocab-size 384 --sample-mb 0.3
for v in softmax ssmax; do
  $PY train.py --variant $v --data "$T/data" --out "$T/runs" --steps 4 --batch 2 --context 64 --d-model 32 --layers 2 --heads 2 --eval-every 2 --save-every 2
done
$PY evaluate.py --runs "$T/runs" --data "$T/data" --out "$T/RESULTS.md" --quick
head -c 64 "$T/data/tokenizer.json" >/dev/null
mkdir -p "$T/models" "$T/fixtures"
$PY export.py --runs "$T/runs" --data "$T/data" --models "$T/models" --fixtures "$T/fixtures" --reference-tokens 150
# the node-by-node graph (export_lean, shipped) computes what the torch export of model.StreamingGPT computes
$PY export.py --graph torch --variants ssmax,softmax --runs "$T/runs" --data "$T/data" --models "$T/models-torch" \
  --fixtures "$T/fixtures-torch" --reference-tokens 150
node ../test/pipeline/compare-graphs.mjs "$T/models" "$T/models-torch"
$PY - "$T/models/ssmax.onnx" <<'PY'
# each layer's statistics come before the next layer (onnxruntime orders nodes by dependency alone; without this it
# ran them all after the last layer and held every layer's scores at once)
import sys, onnx
g = onnx.load(sys.argv[1]).graph
producer = {o: n for n in g.node for o in n.output}
def ancestors(name, seen):
    n = producer.get(name)
    if n is None or id(n) in seen:
        return seen
    seen.add(id(n))
    for i in n.input:
        ancestors(i, seen)
    return seen
layers = sum(o.name.startswith("stats_") for o in g.output)
for l in range(layers - 1):
    assert id(producer[f"stats_{l}"]) in ancestors(f"q_{l + 1}", set()), f"layer {l + 1} does not wait for stats_{l}"
PY
$PY from_onnx.py --models "$T/models" --out "$T/back"
# the GPU script (a larger pair sized to its time) runs end to end on the CPU at toy sizes, and its parts unpack
OUT="$T/gpu" DATA="$T/data" PY=$PY DEVICE=cpu MINUTES=0.15 D_MODEL=32 LAYERS=2 HEADS=2 BATCH=2 CONTEXT=64 \
  REFERENCE_TOKENS=150 ./gpu.sh >/dev/null 2>&1 || { tail -20 "$T/gpu/train.out"; exit 1; }
grep -q "^fit: " "$T/gpu/train.out"
cat "$T"/gpu/pair.tar.part-* | tar -x -C "$T/gpu"
test -s "$T/gpu/models/ssmax.onnx" && test -s "$T/gpu/models/softmax.json" && test -s "$T/gpu/models/ssmax.log.jsonl"
$PY from_onnx.py --models "$T/gpu/models" --out "$T/gpu/back" >/dev/null
cp "$T"/gpu/models/*.log.jsonl "$T/gpu/back/"
$PY evaluate.py --runs "$T/gpu/back" --data "$T/data" --out "$T/gpu/RESULTS.md" --quick >/dev/null
grep -q "softmax − SSMax" "$T/gpu/RESULTS.md"
# the Hugging Face-layout test decoders still export (the committed ones in test/fixtures/hf come from this script)
$PY hf_decoders.py --out "$T/hf" --families gpt2,llama --tokenizer "$T/data/tokenizer.json" 2>/dev/null
test -s "$T/hf/llama/model.onnx" && test -s "$T/hf/gpt2/tokenizer.json"
$PY - "$T" <<'PY'
# the training curve never subtracts losses measured on different held-out splits (they differ between machines)
import json, os, sys
import evaluate
d = os.path.join(sys.argv[1], "split-logs")
os.makedirs(d, exist_ok=True)
for v, base in (("softmax", 3.0), ("ssmax", 2.9)):
    with open(os.path.join(d, f"{v}.log.jsonl"), "w") as fh:
        for split, shift in (("split-one", 0.0), ("split-two", -0.5)):  # the same step on two splits
            fh.write(json.dumps({"step": 100, "tokens": 100, "heldout": split, "elapsed_s": 1.0, "induction_max": 0.1,
                                 "val_loss": base + shift, "val_windows": [base + shift] * 8}) + "\n")
lines = []
rows = evaluate.section_curves({}, d, lines.append, os.path.join(d, "curves.png"))["curve"]
assert sorted(r["heldout"] for r in rows) == ["split-one", "split-two"], rows
assert all(abs(r["diff"][0] - 0.1) < 1e-9 for r in rows), rows  # softmax − SSMax within each split only
PY
$PY - <<'PY'
# the verdict rules of RESULTS.md cannot pass when the claim fails
import numpy as np
from evaluate import boot_mean_ci, verdict, wilson, MIN_UNITS
assert verdict(0.01, 0.2) == "holds" and verdict(-0.2, -0.01) == "contradicted" and verdict(-0.1, 0.1) == "not shown"
assert verdict(float("nan"), float("nan")) == "not shown"
rng = np.random.default_rng(0)
m, lo, hi = boot_mean_ci(rng.normal(0.0, 1.0, 400))
assert lo < 0 < hi and verdict(lo, hi) == "not shown", (lo, hi)  # no effect: no verdict
m, lo, hi = boot_mean_ci(rng.normal(0.5, 1.0, 400))
assert verdict(lo, hi) == "holds" and lo < m < hi
m, lo, hi = boot_mean_ci(rng.normal(-0.5, 1.0, 400))
assert verdict(lo, hi) == "contradicted"
assert np.isnan(boot_mean_ci([1.0] * (MIN_UNITS - 1))[1]), "too few units: no interval"
lo, hi = wilson(0, 50)
assert lo == 0 and 0.06 < hi < 0.08, hi  # 0 of 50 is not "0 %": up to 7 %
lo, hi = wilson(50, 50)
assert hi == 1 and 0.92 < lo < 0.94
PY
$PY - "$T" <<'PY'
import json, sys, os
import torch
t = sys.argv[1]
for v in ("softmax", "ssmax"):  # the shipped ONNX holds the weights: reading them back gives the fp16-rounded originals
    a = torch.load(os.path.join(t, "runs", f"{v}.pt"))["state"]
    b = torch.load(os.path.join(t, "back", f"{v}.pt"))["state"]
    assert a.keys() == b.keys()
    for k in a:
        ref = a[k].half().float() if a[k].numel() >= 1024 else a[k]
        assert torch.equal(ref, b[k]), k
cat = json.load(open(os.path.join(t, "models", "catalogue.json")))["models"]
assert cat == ["ssmax.json", "softmax.json", "retrofit.json"], cat
for v, own in (("softmax", "softmax"), ("ssmax", "ssmax"), ("retrofit", "ssmax")):
    m = json.load(open(os.path.join(t, "models", f"{v}.json")))
    assert m["normaliser"] == own and os.path.getsize(os.path.join(t, "models", m["onnx"])) > 0
    assert (m["s"] is not None) == (own == "ssmax") and m["summary"] and m["counterpart"]
    r = json.load(open(os.path.join(t, "fixtures", f"{v}.reference.json")))
    assert len(r["ids"]) == 150 and r["attention"]
assert "Key retrieval" in open(os.path.join(t, "RESULTS.md")).read()
print("pipeline smoke test: ok")
PY
