"""Stage 3: train the variants on the same batches from the same initial weights, in one process.

  /usr/bin/python3 train.py --variants softmax,ssmax --tokens 40e6 --bf16     # the pair
  /usr/bin/python3 train.py --variants ssmax --init-from runs/softmax.pt --tokens 2e6 --tag retrofit-ft

Every step draws one batch (a function of the seed and the step only, so an interrupted run resumes on the same
stream) and steps every variant on it: stepping both in one process was the fastest pairing on 2 cores
(throughput.py). A resumable checkpoint (weights, optimiser, step) is written every --save-every steps and at the
end, so an interrupted run keeps what it has and `--resume` continues it.

Learning rate: warm-up, constant, then a linear decay over the last --decay-frac of the planned steps
("warmup-stable-decay"): the checkpoint written just before the decay (`*.stable.pt`) can be trained further.

Logged every --eval-every steps (runs/<name>.log.jsonl): held-out loss at the training length on fixed windows of
the whole held-out split, and the copy probe: on [eot] + X + X with X random ids, the loss on each copy and every
head's induction score (attention from the second copy's token i to the token after its earlier occurrence).
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import subprocess
import time

import numpy as np
import torch

from model import GPT, Config

HERE = os.path.dirname(os.path.abspath(__file__))


def batch_at(data, step, batch, context, seed):
    """The batch of one step: random windows of the token stream, drawn from (seed, step) alone."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(data) - context - 1, size=batch)
    x = np.stack([data[s:s + context] for s in starts]).astype(np.int64)
    y = np.stack([data[s + 1:s + 1 + context] for s in starts]).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def val_windows(data, context, n_windows):
    """Start offsets of n windows spread evenly over the whole held-out stream."""
    span = len(data) - context - 1
    return [int(i * span / n_windows) for i in range(n_windows)]


@torch.no_grad()
def val_losses(model, data, context, starts, device="cpu", batch=8):
    """Mean loss of each held-out window (a list, so that a paired difference between variants has a spread)."""
    model.eval()
    out = []
    for i in range(0, len(starts), batch):
        ss = starts[i:i + batch]
        x = torch.from_numpy(np.stack([data[s:s + context] for s in ss]).astype(np.int64)).to(device)
        y = torch.from_numpy(np.stack([data[s + 1:s + 1 + context] for s in ss]).astype(np.int64)).to(device)
        logits = model(x)
        nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), y, reduction="none")
        out += nll.mean(dim=1).tolist()
    model.train()
    return out


def val_loss(model, data, context, starts, device="cpu"):
    return float(np.mean(val_losses(model, data, context, starts, device)))


def copy_sequences(vocab_size, eot_id, length=200, count=8, seed=1234):
    """[eot] + X + X with X uniform random ids (never eot): the standard induction/copy probe."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, eot_id, (count, length), generator=g)
    return torch.cat([torch.full((count, 1), eot_id), x, x], dim=1)


@torch.no_grad()
def copy_probe(model, seqs, device="cpu"):
    """Loss on the first and second copy (nats/token) and each head's induction score [layers][heads].

    Induction score: mean attention from second-copy token at position L+1+i to the first copy's token i+1, the
    token that followed the earlier occurrence of the current token (the position an induction head looks at)."""
    model.eval()
    L = (seqs.shape[1] - 1) // 2
    for blk in model.blocks:
        blk.attn.record = True
    logits = model(seqs.to(device))
    lp = torch.log_softmax(logits.float(), -1)
    tgt = seqs[:, 1:].to(device)
    nll = -lp[:, :-1].gather(-1, tgt[..., None])[..., 0]  # [B, 2L]; nll[:, t] predicts token t+1
    first = nll[:, 1:L].mean().item()  # predicting first-copy tokens 2..L (the first one is unpredictable)
    second = nll[:, L + 1:2 * L].mean().item()  # predicting second-copy tokens 2..L
    q = torch.arange(L + 2, 2 * L + 1)  # second copy's token i (i = 1..L-1) sits at L+1+i
    k = q - L + 1  # the token after the earlier occurrence: position (q - L) + 1
    scores = []
    for blk in model.blocks:
        att = blk.attn.last_att  # [B, H, T, T]
        blk.attn.record = False
        scores.append(att[:, :, q, k].float().mean(dim=(0, 2)).tolist())
    model.train()
    return first, second, scores


def cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX); elsewhere torch emulates it, far slower."""
    try:
        flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "").split()
    except OSError:
        return True  # not Linux: let torch decide
    return "avx512_bf16" in flags or "amx_bf16" in flags


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=HERE, stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return "uncommitted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", "--variant", default="softmax,ssmax", help="comma-separated: softmax, ssmax")
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "runs"))
    ap.add_argument("--tag", default="", help="names the run files <tag or variant>.*")
    ap.add_argument("--steps", type=int, default=0, help="planned steps (0: from --tokens)")
    ap.add_argument("--tokens", type=float, default=40e6, help="planned tokens per variant")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (and save) after this long (0 = no limit)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--decay-frac", type=float, default=0.2, help="linear decay to 10%% over this last fraction")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-seed", type=int, default=1, help="the batch stream (same for every variant)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast bfloat16 (CPU AVX-512 BF16 or GPU)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--val-windows", type=int, default=64)
    ap.add_argument("--save-every", type=int, default=500)
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoints in --out")
    ap.add_argument("--init-from", default="",
                    help="start from this checkpoint's weights (a retrofit; {variant} in the path names each variant's own)")
    ap.add_argument("--step-offset", type=int, default=0,
                    help="steps already trained: the batch stream starts there and the logs count from there")
    ap.add_argument("--fit-minutes", type=float, default=0,
                    help="plan the steps from the first steps' speed so that the run ends within this long "
                         "(evaluations and saves included; ~10 of each), at most --steps or --tokens (at least 24)")
    args = ap.parse_args()
    assert not (args.fit_minutes and args.resume), "--fit-minutes plans a fresh run"

    torch.set_num_threads(args.threads)
    if args.bf16 and args.device == "cpu" and not cpu_has_bf16():
        # measured 2026-12-02 on an AVX2-only EPYC: one fp32 step 830 tokens/s, bf16 autocast 66 tokens/s (emulated)
        print("--bf16 ignored: this CPU has no AVX-512 BF16 or AMX, where bf16 autocast is ~12x slower than fp32")
        args.bf16 = False
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    assert all(v in ("softmax", "ssmax") for v in variants), variants
    tok = json.load(open(os.path.join(args.data, "tokenizer.json")))
    steps = args.steps or int(math.ceil(args.tokens / (args.batch * args.context)))
    os.makedirs(args.out, exist_ok=True)
    train = np.memmap(os.path.join(args.data, "train.bin"), dtype=np.uint16, mode="r")
    val = np.memmap(os.path.join(args.data, "val.bin"), dtype=np.uint16, mode="r")
    starts = val_windows(val, args.context, args.val_windows)
    # the corpus is rebuilt from each machine's installed packages, so the held-out split can differ between machines:
    # every log record names the one it was measured on, and evaluate.py never joins losses from different ones
    heldout = hashlib.sha1(np.asarray(val).tobytes()).hexdigest()[:12]
    seqs = copy_sequences(tok["vocab_size"], tok["eot_id"])

    runs = []
    for v in variants:
        name = f"{args.tag}-{v}" if args.tag and len(variants) > 1 else (args.tag or v)
        cfg = Config(vocab_size=tok["vocab_size"], context=args.context, d_model=args.d_model,
                     n_layers=args.layers, n_heads=args.heads, normaliser=v)
        torch.manual_seed(args.seed)  # same initial weights for every variant (s draws nothing from the RNG)
        model = GPT(cfg).to(args.device)
        if args.init_from:
            src = torch.load(args.init_from.format(variant=v), map_location="cpu")["state"]
            missing, unexpected = model.load_state_dict(src, strict=False)
            assert not unexpected and all(k.endswith(".attn.s") for k in missing), (missing, unexpected)
        decay = [p for n_, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n_, p in model.named_parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=args.lr, betas=(0.9, 0.95))
        run = {"name": name, "variant": v, "cfg": cfg, "model": model, "opt": opt, "step": 0, "elapsed": 0.0}
        path = os.path.join(args.out, f"{name}.pt")
        resumed = args.resume and os.path.exists(path)
        if resumed:
            ck = torch.load(path, map_location="cpu")
            model.load_state_dict(ck["state"])
            opt.load_state_dict(ck["opt"])
            run["step"], run["elapsed"] = ck["step"], ck.get("elapsed_s", 0.0)
            if not args.steps and ck.get("planned_steps"):  # a --fit-minutes plan (or another --tokens) holds
                steps = ck["planned_steps"]
        run["log"] = open(os.path.join(args.out, f"{name}.log.jsonl"), "a" if resumed else "w")
        runs.append(run)
        n_params = sum(p.numel() for p in model.parameters())
        run["n_params"] = n_params
        print(f"{name}: {n_params / 1e6:.2f}M parameters, step {run['step']} of {steps} ({args.batch}x{args.context})")
    start_step = min(r["step"] for r in runs)
    assert all(r["step"] == start_step for r in runs), "variants are at different steps; resume them separately"

    decay_from = int(steps * (1 - args.decay_frac))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        if step < decay_from:
            return args.lr
        return args.lr * (1 - 0.9 * (step - decay_from) / max(1, steps - decay_from))

    def save(run, step, suffix=""):
        ck = {"config": run["cfg"].to_dict(), "state": run["model"].state_dict(), "opt": run["opt"].state_dict(),
              "step": step, "tokens": step * args.batch * args.context, "seed": args.seed, "args": vars(args),
              "n_params": run["n_params"], "commit": git_commit(), "final": step >= steps, "planned_steps": steps,
              "elapsed_s": run["elapsed"], "init_from": args.init_from or None,
              "val_loss": val_loss(run["model"], val, args.context, starts, device=args.device)}
        path = os.path.join(args.out, f"{run['name']}{suffix}.pt")
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    def evaluate(run, step):
        first, second, ind = copy_probe(run["model"], seqs, args.device)
        per_window = val_losses(run["model"], val, args.context, starts, device=args.device)
        seen = step + args.step_offset  # a continued run or a fine-tune counts the tokens its weights have seen
        rec = {"step": seen, "tokens": seen * args.batch * args.context, "elapsed_s": round(run["elapsed"], 1),
               "wall_s": round(time.time() - t_start, 1), "val_loss": round(float(np.mean(per_window)), 4),
               "val_windows": [round(v, 4) for v in per_window], "heldout": heldout,
               "copy_first": round(first, 3), "copy_second": round(second, 3),
               "induction_max": round(max(max(h) for h in ind), 4),
               "induction": [[round(x, 4) for x in h] for h in ind]}
        run["log"].write(json.dumps(rec) + "\n")
        run["log"].flush()
        print(run["name"], json.dumps({k: v for k, v in rec.items() if k not in ("induction", "val_windows")}), flush=True)

    autocast = (lambda: torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16)) if args.bf16 \
        else contextlib.nullcontext
    t_start = time.time()
    evaluated = -1
    if start_step == 0:
        for r in runs:
            evaluate(r, 0)
        evaluated = 0
    step = start_step
    # --fit-minutes: time FIT_PROBE steps after a few warm-up steps (CUDA's first kernels), then plan the rest; the
    # plan comes before the warm-up ends, so the learning-rate schedule sees only the planned length
    fit_from, fit_t0 = (3, None) if args.fit_minutes else (None, None)
    FIT_PROBE = 20
    if args.fit_minutes:  # at least the probe's steps, whatever --steps/--tokens say
        steps = max(steps, fit_from + FIT_PROBE + 1)
        decay_from = int(steps * (1 - args.decay_frac))
    while step < steps:
        if fit_from is not None and step == fit_from:
            fit_t0 = time.time()
        if fit_t0 is not None and step == fit_from + FIT_PROBE:
            per_step = (time.time() - fit_t0) / FIT_PROBE
            # ~10 evaluations and saves, each about twice the copy probe and the held-out windows (timed once here)
            t_eval = time.time()
            copy_probe(runs[0]["model"], seqs, args.device)
            val_losses(runs[0]["model"], val, args.context, starts, device=args.device)
            per_eval = (time.time() - t_eval) * len(runs) * 2  # the save's held-out loss again, and the write
            left = args.fit_minutes * 60 - (time.time() - t_start) - 11 * per_eval
            steps = min(steps, step + max(1, int(left / per_step)))  # --tokens (or --steps) still caps it
            args.eval_every = args.save_every = max(1, steps // 10)
            decay_from = int(steps * (1 - args.decay_frac))
            print(f"fit: {per_step * 1000:.1f} ms a step ({len(runs) * args.batch * args.context / per_step:,.0f} "
                  f"tokens/s for all variants), {per_eval:.1f} s an evaluation and save -> {steps} steps "
                  f"({steps * args.batch * args.context / 1e6:.1f}M tokens per variant) in {args.fit_minutes} min",
                  flush=True)
            fit_t0 = None
        x, y = batch_at(train, step + args.step_offset, args.batch, args.context, args.batch_seed)
        x, y = x.to(args.device), y.to(args.device)
        for r in runs:
            t0 = time.time()
            for g in r["opt"].param_groups:
                g["lr"] = lr_at(step)
            with autocast():
                _, loss = r["model"](x, y)
            r["opt"].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(r["model"].parameters(), 1.0)
            r["opt"].step()
            r["elapsed"] += time.time() - t0
            r["last_loss"] = loss.item()
        step += 1
        if step % args.eval_every == 0 or step == steps:
            for r in runs:
                evaluate(r, step)
            evaluated = step
        if step % args.save_every == 0 or step == steps:
            for r in runs:
                save(r, step)
        if step == decay_from:
            for r in runs:
                save(r, step, ".stable")
        if args.max_minutes and time.time() - t_start > args.max_minutes * 60:
            print(f"time budget reached at step {step}")
            break
    for r in runs:
        if evaluated != step:
            evaluate(r, step)
        if step % args.save_every and step != steps:
            save(r, step)
        tps = step * args.batch * args.context / max(1e-9, r["elapsed"]) if step else 0
        print(f"{r['name']}: step {step}/{steps}, {r['elapsed']:.0f} s of its own compute "
              f"({tps:,.0f} tokens/s while stepped), wall {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
