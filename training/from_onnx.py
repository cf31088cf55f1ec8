"""Read a shipped model back into model.py: models/<id>.onnx + <id>.json -> runs/<id>.pt (a checkpoint export.py takes).

  /usr/bin/python3 from_onnx.py                       # every model in models/catalogue.json that has its own weights
  /usr/bin/python3 from_onnx.py --ids ssmax,softmax --out runs

The checkpoints are not in the repository (they are ~50 MB each with the optimiser state); the ONNX files are, with
every weight (fp16 behind a Cast, as export.py writes them). This reads those initialisers by their parameter names,
so a fresh clone can re-export the shipped pair with a new graph (e.g. `export.py` after a graph change) without
retraining. The weights come back fp16-rounded, which is what the extension runs anyway. The retrofit has no weights
of its own (it is the softmax model's): it is rebuilt from softmax by export.py, never read here.
"""
import argparse
import json
import os

import numpy as np
import torch

from model import GPT, Config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def read_model(models_dir, model_id):
    """(manifest, GPT) rebuilt from <id>.onnx; raises if a parameter is missing or has the wrong shape."""
    import onnx
    from onnx import numpy_helper
    manifest = json.load(open(os.path.join(models_dir, f"{model_id}.json")))
    a = manifest["architecture"]
    cfg = Config(vocab_size=a["vocabSize"], context=manifest["trainingContext"], d_model=a["dModel"],
                 n_layers=a["layers"], n_heads=a["heads"], mlp_ratio=a.get("mlpRatio", 4),
                 rope_base=a.get("ropeBase", 10000.0), normaliser=manifest["normaliser"])
    graph = onnx.load(os.path.join(models_dir, manifest["onnx"])).graph
    weights = {}
    for init in graph.initializer:
        name = init.name[:-len("_fp16")] if init.name.endswith("_fp16") else init.name
        if name.startswith("m."):
            weights[name[2:]] = torch.from_numpy(numpy_helper.to_array(init).astype(np.float32))
    model = GPT(cfg)
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    wrong = [k for k in state if k in weights and tuple(weights[k].shape) != tuple(state[k].shape)]
    if missing or wrong:
        raise ValueError(f"{model_id}.onnx: missing {missing[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict({k: weights[k] for k in state})
    model.eval()
    return manifest, model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(REPO, "models"))
    ap.add_argument("--out", default=os.path.join(HERE, "runs"))
    ap.add_argument("--ids", default="", help="comma-separated ids (default: the catalogue's, but the retrofit)")
    args = ap.parse_args()
    ids = [i for i in args.ids.split(",") if i] or [
        n[:-5] for n in json.load(open(os.path.join(args.models, "catalogue.json")))["models"] if n != "retrofit.json"]
    os.makedirs(args.out, exist_ok=True)
    for model_id in ids:
        manifest, model = read_model(args.models, model_id)
        prov = manifest.get("provenance", {})
        # a checkpoint's step and tokens count its own run; the manifest's steps also count --step-offset
        this_run = prov.get("stepsThisRun", prov.get("steps", 0))
        batch, context = prov.get("trainArgs", {}).get("batch", 0), model.cfg.context
        tokens = this_run * batch * context if "stepsThisRun" in prov else prov.get("tokens", 0)
        ckpt = {"config": model.cfg.to_dict(), "state": model.state_dict(), "step": this_run, "tokens": tokens,
                "seed": prov.get("seed", 0), "args": prov.get("trainArgs", {}),
                "n_params": sum(p.numel() for p in model.parameters()), "commit": prov.get("commit", "unknown"),
                "final": prov.get("finalCheckpoint", True), "val_loss": prov.get("valLoss") or float("nan"),
                "init_from": prov.get("initFrom"), "read_from_onnx": manifest["onnx"]}
        torch.save(ckpt, os.path.join(args.out, f"{model_id}.pt"))
        print(f"{model_id}: {ckpt['n_params'] / 1e6:.2f}M parameters from {manifest['onnx']} -> {args.out}/{model_id}.pt")


if __name__ == "__main__":
    main()
