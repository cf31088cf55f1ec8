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
$PY - "$T" <<'PY'
import json, sys, os
t = sys.argv[1]
for v in ("softmax", "ssmax"):
    m = json.load(open(os.path.join(t, "models", f"{v}.json")))
    assert m["normaliser"] == v and os.path.getsize(os.path.join(t, "models", m["onnx"])) > 0
    assert (m["s"] is not None) == (v == "ssmax")
    r = json.load(open(os.path.join(t, "fixtures", f"{v}.reference.json")))
    assert len(r["ids"]) == 150 and r["attention"]
assert "Key retrieval" in open(os.path.join(t, "RESULTS.md")).read()
print("pipeline smoke test: ok")
PY
