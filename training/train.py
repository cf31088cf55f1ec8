"""Stage 3: train one variant (softmax or ssmax). Run both with the same --seed: same initial weights, same batches.

  /usr/bin/python3 train.py --variant softmax --steps 3000 &  /usr/bin/python3 train.py --variant ssmax --steps 3000
A checkpoint is written every --save-every steps and at the end, so an interrupted run still leaves a model.
"""
import argparse
import json
import math
import os
import subprocess
import time

import numpy as np
import torch

from model import GPT, Config

HERE = os.path.dirname(os.path.abspath(__file__))


def batches(data, batch, context, seed):
    """Random windows of the token stream; the generator depends only on the seed (identical for both variants)."""
    rng = np.random.default_rng(seed)
    while True:
        starts = rng.integers(0, len(data) - context - 1, size=batch)
        x = np.stack([data[s:s + context] for s in starts]).astype(np.int64)
        y = np.stack([data[s + 1:s + 1 + context] for s in starts]).astype(np.int64)
        yield torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def val_loss(model, data, context, n_windows=16, device="cpu"):
    model.eval()
    losses = []
    step = max(1, (len(data) - context - 1) // n_windows)
    for i in range(n_windows):
        s = i * step
        x = torch.from_numpy(data[s:s + context].astype(np.int64))[None].to(device)
        y = torch.from_numpy(data[s + 1:s + 1 + context].astype(np.int64))[None].to(device)
        losses.append(model(x, y)[1].item())
    model.train()
    return float(np.mean(losses))


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=HERE, stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return "uncommitted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=["softmax", "ssmax"], required=True)
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "runs"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop early after this long (0 = no limit)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--save-every", type=int, default=250)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    tok = json.load(open(os.path.join(args.data, "tokenizer.json")))
    cfg = Config(vocab_size=tok["vocab_size"], context=args.context, d_model=args.d_model, n_layers=args.layers,
                 n_heads=args.heads, normaliser=args.variant)
    torch.manual_seed(args.seed)
    model = GPT(cfg).to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    train = np.memmap(os.path.join(args.data, "train.bin"), dtype=np.uint16, mode="r")
    val = np.memmap(os.path.join(args.data, "val.bin"), dtype=np.uint16, mode="r")
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, f"{args.variant}.log.jsonl")
    log = open(log_path, "w")
    print(f"{args.variant}: {n_params / 1e6:.2f}M parameters, {args.steps} steps of {args.batch}x{args.context}")

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        frac = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    def save(step, final):
        ckpt = {"config": cfg.to_dict(), "state": model.state_dict(), "step": step,
                "tokens": step * args.batch * args.context, "seed": args.seed, "args": vars(args),
                "n_params": n_params, "commit": git_commit(), "final": final,
                "val_loss": val_loss(model, val, args.context, device=args.device)}
        torch.save(ckpt, os.path.join(args.out, f"{args.variant}.pt.tmp"))
        os.replace(os.path.join(args.out, f"{args.variant}.pt.tmp"), os.path.join(args.out, f"{args.variant}.pt"))

    t0 = time.time()
    gen = batches(train, args.batch, args.context, args.seed + 1)
    step = 0
    for step in range(args.steps):
        x, y = next(gen)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        _, loss = model(x.to(args.device), y.to(args.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.time() - t0
        rec = {"step": step + 1, "loss": round(loss.item(), 4), "elapsed_s": round(elapsed, 1)}
        if (step + 1) % args.eval_every == 0:
            rec["val_loss"] = round(val_loss(model, val, args.context, device=args.device), 4)
            print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if (step + 1) % args.save_every == 0:
            save(step + 1, final=False)
        if args.max_minutes and elapsed > args.max_minutes * 60:
            print(f"time budget reached at step {step + 1}")
            break
    save(step + 1, final=True)
    print(f"{args.variant}: done, {step + 1} steps in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
