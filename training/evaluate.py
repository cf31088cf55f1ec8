"""Stage 4: evaluate the shipped models and write training/RESULTS.md (+ results.json, curves.png).

  /usr/bin/python3 evaluate.py [--runs runs] [--quick]

Models: the softmax- and SSMax-trained pair (same initial weights, same batches), the retrofit (the softmax weights
run with SSMax, s = 1/ln N, no training: model.retrofit) and, when runs/retrofit-ft.pt exists, the retrofit after a
short SSMax fine-tune; the softmax model with NTK-scaled RoPE is a baseline for the loss only.

Every number comes with a 95 % interval, and every claim of the paper gets a verdict computed by one rule:
  holds        the difference is in the paper's direction and its interval excludes zero
  contradicted the difference is against the paper's direction and its interval excludes zero
  not shown    the interval includes zero
Intervals are percentile bootstraps over the independent units named in each section (held-out windows, or
haystacks), paired where two models see the same units; proportions use Wilson intervals. With fewer than
MIN_UNITS units there is no interval, and so no verdict.

Measured:
  1. training curves: held-out loss at the training length against tokens seen, both variants (curves.png);
  2. held-out loss at 1×, 4×, 16×, 64× the training length, by query-position bucket, over windows that tile the
     whole held-out split (every held-out file contributes);
  3. focus: max weight and entropy ÷ ln n of every model's own normaliser, mean and quartiles over all
     (query, layer, head) in each n bucket;
  4. key retrieval: a passkey test modelled on the paper's key-retrieval experiment (full value, teacher-forced
     greedy check), ≥ 50 haystacks per (length, depth) cell, and the attention on the needle;
  5. copying: loss on [eot] + X + X (X random ids) and every head's induction score.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import sys
import time

import numpy as np
import torch

from model import MASKED, GPT, Config, apply_rope, focus, retrofit, rope_tables, load_checkpoint, steps_seen
from tokenizer import Tokenizer
from train import copy_probe, copy_sequences

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT = 2000
MIN_UNITS = 8  # fewer independent units than this: no interval, so no verdict
MARKER = "<!-- notes: kept by evaluate.py -->"


# ---------------------------------------------------------------- statistics

def boot_mean_ci(x, seed=0):
    """Mean of x [units] and its 95 % percentile-bootstrap interval over units."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < MIN_UNITS:
        return float(x.mean()) if len(x) else float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (BOOT, len(x)))].mean(1)
    return float(x.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def wilson(k, n, z=1.96):
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def verdict(lo, hi):
    """For a difference oriented so that > 0 is the paper's direction."""
    if not (lo == lo and hi == hi):
        return "not shown"
    if lo > 0:
        return "holds"
    if hi < 0:
        return "contradicted"
    return "not shown"


def fmt_ci(m, lo, hi, digits=3):
    if not (lo == lo):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {(hi - lo) / 2:.{digits}f}"


# ---------------------------------------------------------------- models

def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), torch {torch.__version__}"


def load_models(runs):
    """name -> dict(model, cfg, ckpt, what). The pair is required; the fine-tuned retrofit is optional."""
    models = {}
    for v in ("softmax", "ssmax"):
        ckpt, cfg, m = load_checkpoint(os.path.join(runs, f"{v}.pt"))
        models[v] = {"model": m, "cfg": cfg, "ckpt": ckpt, "own": v,
                     "what": f"{'SSMax' if v == 'ssmax' else 'softmax'}-trained"}
    r = retrofit(models["softmax"]["model"])
    models["retrofit"] = {"model": r, "cfg": r.cfg, "ckpt": models["softmax"]["ckpt"], "own": "ssmax",
                          "what": "retrofit: softmax weights run with SSMax, s = 1/ln N, no training"}
    ft = os.path.join(runs, "retrofit-ft.pt")
    if os.path.exists(ft):
        ckpt, cfg, m = load_checkpoint(ft)
        models["retrofit-ft"] = {"model": m, "cfg": cfg, "ckpt": ckpt, "own": "ssmax",
                                 "what": f"retrofit + SSMax fine-tune ({ckpt['tokens'] / 1e6:.2f}M tokens)"}
    return models


@torch.no_grad()
def chunked(model, ids, chunk=512, want_stats=False, rope_base=None):
    """One sequence through the model in chunks of queries against a key/value cache (as the extension runs it).

    Returns nll [T-1] (predicting token t+1 at t) and, if asked, stats [layers, heads, T, 4] = own max weight, own
    entropy, other max weight, other entropy (model.focus of both views). The same maths as model.Attention (checked
    against the training graph by check_chunked), written for speed at 32k tokens on a CPU: the cache is preallocated
    and sliced (no concatenation per chunk), only the newest block of keys is masked, and chunks are small enough
    that each chunk's scores stay in cache."""
    cfg = model.cfg
    H, D, L = cfg.n_heads, cfg.head_dim, cfg.n_layers
    base = rope_base or cfg.rope_base
    ids_t = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    T = len(ids_t)
    K = [torch.empty(H, T, D) for _ in range(L)]
    V = [torch.empty(H, T, D) for _ in range(L)]
    log_train = math.log(cfg.context)
    nll, stats = [], [[] for _ in range(L)]
    for start in range(0, T, chunk):
        x_ids = ids_t[start:start + chunk]
        t = len(x_ids)
        end = start + t
        cos, sin = rope_tables(torch.arange(start, end).float(), D, base)
        n = torch.arange(start + 1, end + 1, dtype=torch.float32)  # keys seen by each query
        causal = torch.full((t, t), MASKED).triu(1)  # added to the newest block of keys only
        x = model.embed(x_ids[None])
        for l, blk in enumerate(model.blocks):
            att = blk.attn
            h = blk.ln1(x)
            q, k, v = att.qkv(h).split(cfg.d_model, dim=2)
            q = apply_rope(q.view(1, t, H, D).transpose(1, 2), cos, sin)[0]  # [H, t, D]
            K[l][:, start:end] = apply_rope(k.view(1, t, H, D).transpose(1, 2), cos, sin)[0]
            V[l][:, start:end] = v.view(t, H, D).transpose(0, 1)
            z = torch.matmul(q, K[l][:, :end].transpose(1, 2)).mul_(1.0 / math.sqrt(D))  # [H, t, end]
            if cfg.normaliser == "ssmax":
                own = att.s[:, None, None] * torch.log(n)[None, :, None]
                other = att.s[:, None, None] * log_train
            else:
                own, other = None, (torch.log(n) / log_train)[None, :, None]

            def masked(scaled):  # the mask after the scale, as in Attention (a scale of 0 at n = 1 must not unmask)
                scaled[:, :, start:end] += causal
                return scaled

            logits = masked(z * own if own is not None else z.clone() if want_stats else z)
            p = torch.softmax(logits, -1)
            if want_stats:
                st = [*focus(logits), *focus(masked(z * other))]
                stats[l].append(torch.stack(st, -1))  # [H, t, 4]
            y = torch.matmul(p, V[l][:, :end]).transpose(0, 1).reshape(1, t, cfg.d_model)
            x = x + att.proj(y)
            x = x + blk.mlp(blk.ln2(x))
        logits = model.ln_f(x)[0] @ model.embed.weight.T
        tgt = ids_t[start + 1:end + 1]
        lp = torch.log_softmax(logits[:len(tgt)], -1)
        nll.append(-lp[torch.arange(len(tgt)), tgt])
    out = torch.cat(nll).numpy()
    if not want_stats:
        return out, None
    return out, torch.stack([torch.cat(s_, 1) for s_ in stats]).numpy()


@torch.no_grad()
def check_chunked(model, ids):
    """chunked() against the training graph's own forward and Attention's statistics: max |difference|."""
    nll, st = chunked(model, ids, chunk=64, want_stats=True)
    x = torch.as_tensor(np.asarray(ids[:-1], dtype=np.int64))[None]
    y = torch.as_tensor(np.asarray(ids[1:], dtype=np.int64))
    ref = -torch.log_softmax(model(x)[0], -1)[torch.arange(len(y)), y].numpy()
    cfg = model.cfg
    cos, sin = rope_tables(torch.arange(len(ids)).float(), cfg.head_dim, cfg.rope_base)
    h = model.embed(torch.as_tensor(np.asarray(ids, dtype=np.int64))[None])
    worst_stats = 0.0
    for l, blk in enumerate(model.blocks):
        _, _, _, _, ref_st = blk.attn(blk.ln1(h), cos, sin, want_stats=True)
        worst_stats = max(worst_stats, float(np.abs(ref_st[0].numpy() - st[l]).max()))
        h, *_ = blk(h, cos, sin)
    return float(np.abs(ref - nll[:len(ref)]).max()), worst_stats


def tiles(n_tokens, L, max_windows):
    """Start offsets of up to max_windows non-overlapping windows of length L spread over the whole stream."""
    count = (n_tokens - 1) // L
    if count <= 0:
        return []
    chosen = np.unique(np.linspace(0, count - 1, min(count, max_windows)).round().astype(int))
    return [int(i * L) for i in chosen]


def buckets(L, n_train):
    edges = [0, n_train]
    while edges[-1] < L:
        edges.append(min(L, edges[-1] * 4))
    return edges


# ---------------------------------------------------------------- sections

EARLIER_CURVE = "earlier-curve.json"  # curve rows an earlier evaluate.py computed from logs that were not kept


def section_curves(models, logs_dir, w, out_png):
    """Held-out loss at the training length against tokens seen, from the training logs.

    A log record names the held-out split it was measured on (`heldout`, a hash of val.bin; the corpus is rebuilt
    from each machine's packages, so the split can differ between machines): differences are only taken between
    records of the same split, and the plot draws each split as its own line."""
    logs = {}
    for v in ("softmax", "ssmax"):
        p = os.path.join(logs_dir, f"{v}.log.jsonl")
        if os.path.exists(p):
            logs[v] = [json.loads(l) for l in open(p) if l.strip()]
    w("## 1. Training curves: the paper's \"faster loss reduction during pretraining\"\n")
    if len(logs) < 2:
        w("No training logs in the runs folder.\n")
        return {}
    earlier_path = os.path.join(logs_dir, EARLIER_CURVE)
    earlier = json.load(open(earlier_path)) if os.path.exists(earlier_path) else {"rows": [], "about": ""}
    key = lambda r: (r["step"], r.get("heldout", "unrecorded"))  # noqa: E731
    by_key = {v: {key(r): r for r in logs[v] if "val_windows" in r} for v in logs}
    common = sorted(set(by_key["softmax"]) & set(by_key["ssmax"]))
    sets = []  # held-out splits in order of first use
    for s_ in [r["heldout"] for r in earlier["rows"]] + [k[1] for k in common]:
        if s_ not in sets:
            sets.append(s_)
    letter = {s_: chr(ord("A") + i) for i, s_ in enumerate(sets)}
    n_win = len(by_key["softmax"][common[-1]]["val_windows"]) if common else 0
    w(f"Held-out loss at the training length on the same {n_win} held-out windows (spread over the whole held-out "
      "split) at evaluations of the run; difference softmax − SSMax with a paired bootstrap over windows "
      "(> 0: SSMax lower, the paper's direction). One seed: the interval covers the choice of held-out windows, "
      "not the run-to-run spread of training.\n")
    rows = [dict(r, source="earlier") for r in earlier["rows"]]
    picks = [k for k in common if k[0] > 0]
    if len(picks) > 8:
        idx = np.unique(np.geomspace(1, len(picks), 8).round().astype(int) - 1)
        ends = {k for s_ in {k[1] for k in picks} for k in (min(j for j in picks if j[1] == s_),
                                                              max(j for j in picks if j[1] == s_))}
        picks = sorted({picks[i] for i in idx} | ends)  # and each split's first and last point
    for k in picks:
        a = np.array(by_key["softmax"][k]["val_windows"])
        b = np.array(by_key["ssmax"][k]["val_windows"])
        m, lo, hi = boot_mean_ci(a - b, seed=k[0])
        rows.append({"step": k[0], "tokens": by_key["softmax"][k]["tokens"], "heldout": k[1],
                     "softmax": float(a.mean()), "ssmax": float(b.mean()), "diff": [m, lo, hi],
                     "verdict": verdict(lo, hi), "source": "log"})
    rows.sort(key=lambda r: (r["tokens"], sets.index(r["heldout"])))
    w("| tokens seen | held-out split | softmax | SSMax | softmax − SSMax | verdict |")
    w("|---|---|---|---|---|---|")
    for r in rows:
        w(f"| {r['tokens'] / 1e6:.2f}M | {letter[r['heldout']]}{'*' if r['source'] == 'earlier' else ''} | "
          f"{r['softmax']:.3f} | {r['ssmax']:.3f} | {fmt_ci(*r['diff'])} | {r['verdict']} |")
    w("")
    for s_ in sets:
        w(f"- split {letter[s_]}: `{s_}`" + (f" ({earlier['about_split']})" if s_ == earlier.get("split") else ""))
    if earlier["rows"]:
        w(f"- \\* {earlier['about']}")
    w("")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=120)
        for v, colour in (("softmax", "#1f77b4"), ("ssmax", "#d62728")):
            for i, s_ in enumerate(sets):
                pts = sorted([(r["tokens"], r[v]) for r in earlier["rows"] if r["heldout"] == s_]
                             + [(r["tokens"], r["val_loss"]) for r in logs[v]
                                if r["step"] > 0 and r.get("heldout", "unrecorded") == s_])
                ls = ["-", "--", ":", "-."][i % 4]
                label = f"{v}-trained" + (f", split {letter[s_]}" if len(sets) > 1 else "")
                if pts:
                    ax1.plot([t / 1e6 for t, _ in pts], [y for _, y in pts], ls, color=colour, label=label)
            ind = sorted({r["tokens"]: r["induction_max"] for r in logs[v] if r["step"] > 0}.items())
            ax2.plot([t / 1e6 for t, _ in ind], [y for _, y in ind], color=colour, label=f"{v}-trained")
        # a continued run starts from earlier weights with a fresh optimiser (its first record has no compute yet)
        restarts = sorted({r["tokens"] for r in logs["softmax"] if r["step"] > 0 and r.get("elapsed_s") == 0})
        for i, t in enumerate(restarts):
            for ax in (ax1, ax2):
                ax.axvline(t / 1e6, color="grey", lw=0.8, ls=":",
                           label="continued: fresh optimiser" if i == 0 and ax is ax1 else None)
        all_losses = [r["softmax"] for r in rows] + [r["val_loss"] for r in logs["softmax"] if r["step"] > 0]
        ax1.set_xlabel("tokens seen (millions)")
        ax1.set_ylabel("held-out loss at the training length (nats/token)")
        ax1.set_ylim(top=min(8.5, max(all_losses) + 0.2))
        ax2.set_xlabel("tokens seen (millions)")
        ax2.set_ylabel("best head's induction score")
        ax2.set_xlim(ax1.get_xlim())
        ax2.axhline(0.3, color="grey", lw=0.8, ls="--")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out_png)
        plt.close(fig)
        w(f"![training curves]({os.path.basename(out_png)})\n")
        w("Left: held-out loss; right: the largest induction score over all heads on the copy probe (section 5; "
          "the dashed line is the 0.3 target; it does not depend on the held-out split); dotted: a run continued from "
          "earlier weights with a fresh optimiser.\n")
    except ImportError:
        w("(matplotlib is not installed: no plot; `./setup.sh` installs python3-matplotlib.)\n")
    return {"curve": rows}


def section_loss(models, val, n_train, multiples, windows, long_configs, w, stats_out):
    w("## 2. Held-out loss by evaluation length and query position (nats/token)\n")
    w("Windows of length L tile the held-out stream (non-overlapping, spread over the whole split, so every held-out "
      "file contributes); each window runs in chunks of 512 queries against the key/value cache. A cell is the "
      "mean over windows of the window's mean loss in that position bucket, ± half its 95 % bootstrap interval over "
      "windows. Loss at a position does not depend on L (causal attention, n = position + 1), so the L = 64× windows "
      "also hold every shorter bucket; shorter L get more windows.\n")
    names = [n for n in ("softmax", "ssmax", "retrofit", "retrofit-ft") if n in models]
    table = {}
    for mult, n_windows in zip(multiples, windows):
        L = n_train * mult
        top = mult == multiples[-1]
        starts = tiles(len(val), L, n_windows)
        if not starts:
            continue
        edges = buckets(L, n_train)
        w(f"**L = {L}** ({mult}× the training context, {len(starts)} windows)\n")
        w("| model | " + " | ".join(f"{a}–{b}" for a, b in zip(edges, edges[1:])) + " | all |")
        w("|---|" + "---|" * len(edges))
        configs = [(n, None) for n in names] + ([("softmax", "ntk")] if mult > 1 else [])
        if top:  # the longest windows cost the most (∝ L² each): only the configurations asked for
            configs = [(n, r) for n, r in configs if (r or n) in long_configs]
        for name, rope in configs:
            m = models[name]
            base = m["cfg"].rope_base * mult ** (m["cfg"].head_dim / (m["cfg"].head_dim - 2)) if rope else None
            per_window = []
            for s0 in starts:
                # focus statistics from the longest windows each model runs at (section 3)
                want = rope is None and (top or (len(multiples) > 1 and mult == multiples[-2]
                                                 and name not in long_configs))
                nll, st = chunked(m["model"], val[s0:s0 + L], want_stats=want, rope_base=base)
                per_window.append([float(nll[a:b].mean()) for a, b in zip(edges, edges[1:])] + [float(nll.mean())])
                if want:
                    stats_out.setdefault(name, []).append(st)
            print(f"  loss L={L} {name}{' ntk' if rope else ''}: {len(starts)} windows", flush=True)
            arr = np.array(per_window)  # [windows, buckets + 1]
            label = name if not rope else f"softmax + NTK RoPE (base × {mult}^(d/(d−2)))"
            table[(label, L)] = arr
            cells = [fmt_ci(*boot_mean_ci(arr[:, j], seed=j)) for j in range(arr.shape[1])]
            w(f"| {label} | " + " | ".join(cells) + " |")
        w("")
    return table


def section_loss_claims(table, n_train, multiples, w):
    """Paired differences of window losses: the paper's generalisation claims."""
    rows = []
    w("**Differences (paired over the same windows; > 0 means the second model has the lower loss)**\n")
    w("| comparison | L | positions | difference | verdict |")
    w("|---|---|---|---|---|")
    pairs = [("softmax", "ssmax", "SSMax-trained vs softmax-trained"),
             ("softmax", "retrofit", "retrofit vs its softmax source"),
             ("retrofit", "retrofit-ft", "fine-tuned retrofit vs retrofit"),
             ("ssmax", "retrofit-ft", "SSMax-trained vs fine-tuned retrofit (> 0: retrofit-ft better)")]
    for a, b, what in pairs:
        for mult in multiples:
            L = n_train * mult
            if (a, L) not in table or (b, L) not in table:
                continue
            A, B = table[(a, L)], table[(b, L)]
            # at 1× all positions; beyond, the positions past the training length (the buckets after the first)
            if mult == 1:
                d, where = A[:, -1] - B[:, -1], "all"
            else:
                nb = A.shape[1] - 1
                d = A[:, 1:nb].mean(1) - B[:, 1:nb].mean(1)
                where = f"{n_train}–{L}"
            m, lo, hi = boot_mean_ci(d, seed=L)
            rows.append({"a": a, "b": b, "L": L, "positions": where, "diff": [m, lo, hi], "verdict": verdict(lo, hi)})
            w(f"| {what} | {L} | {where} | {fmt_ci(m, lo, hi)} | {verdict(lo, hi)} |")
    w("")
    return rows


def section_focus(models, stats, n_train, w):
    w("## 3. Focus: max weight and entropy ÷ ln n against the number of keys n\n")
    w("From the longest windows each model ran at in section 2 (— where it ran shorter ones only): every query "
      "position, layer and head is one value; a cell is the mean and, in brackets, the quartiles (25 % / 50 % / "
      "75 %) over all of them in the n bucket. The model's own "
      "normaliser decides whether SSMax keeps focus; the counterfactual views (the other normaliser calibrated to "
      "agree at n = N) are listed separately, because a view that multiplies the scores by ln n / ln N is sharper "
      "beyond N by construction.\n")
    if not stats:
        w("No long windows were evaluated.\n")
        return {}
    T = max(arrs[0].shape[2] for arrs in stats.values())
    edges = [1, 64, n_train]
    while edges[-1] < T:
        edges.append(min(T, edges[-1] * 4))
    cols = list(zip(edges, edges[1:]))
    summary = {}
    for what, idx in (("max weight", 0), ("entropy ÷ ln n", 1)):
        w(f"**{what}**\n")
        w("| model · view | " + " | ".join(f"n {a}–{b}" for a, b in cols) + " |")
        w("|---|" + "---|" * len(cols))
        for name, arrs in ((n, stats[n]) for n in models if n in stats):
            for view, off in (("own", 0), ("counterfactual", 2)):
                cells = []
                for a, b in cols:
                    vals = []
                    for st in arrs:
                        if st.shape[2] < b:  # a window shorter than the bucket: no partial buckets
                            continue
                        x = st[:, :, a - 1:b, idx + off]  # positions with n = pos + 1 in (a, b]
                        if idx == 1:
                            n = np.arange(a, b + 1, dtype=np.float64)[: x.shape[2]]
                            x = x / np.log(np.maximum(n, 2))[None, None, :]
                        vals.append(x.reshape(-1))
                    v = np.concatenate(vals) if vals else np.zeros(0)
                    if not v.size:  # this model ran at a shorter length only
                        cells.append("—")
                        continue
                    q1, q2, q3 = np.percentile(v, [25, 50, 75])
                    cells.append(f"{v.mean():.3f} [{q1:.2f} / {q2:.2f} / {q3:.2f}]")
                    summary.setdefault(name, {}).setdefault(view, {}).setdefault(what, []).append(
                        {"n": [a, b], "mean": float(v.mean()), "quartiles": [float(q1), float(q2), float(q3)]})
                other = "SSMax" if models[name]["own"] == "softmax" else "softmax"
                label = f"{name} · own ({models[name]['own']})" if view == "own" else f"{name} · {other} view (what if)"
                w(f"| {label} | " + " | ".join(cells) + " |")
        w("")
    # the claim, on trained models' own normalisers: the drop of mean max weight from n ≤ N to the last bucket,
    # per window (so the windows are the bootstrap units), softmax-trained drop minus SSMax-trained drop
    claim = None
    if "softmax" in stats and "ssmax" in stats:
        def drop(st):
            early = st[:, :, :n_train, 0].mean()
            late = st[:, :, edges[-2] - 1:, 0].mean()
            return early - late
        da = np.array([drop(s) for s in stats["softmax"]])
        db = np.array([drop(s) for s in stats["ssmax"]])
        m, lo, hi = boot_mean_ci(da - db, seed=7)
        claim = {"softmax_drop": float(da.mean()), "ssmax_drop": float(db.mean()), "diff": [m, lo, hi],
                 "verdict": verdict(lo, hi), "late_bucket": [edges[-2], edges[-1]]}
        w(f"Mean max weight (own normaliser) from n ≤ {n_train} to n {edges[-2]}–{edges[-1]}: the softmax-trained "
          f"model's falls by {da.mean():.3f}, the SSMax-trained model's by {db.mean():.3f}; difference "
          f"{fmt_ci(m, lo, hi)} (paired over {len(da)} windows): **{verdict(lo, hi)}**.\n")
    return {"table": summary, "claim": claim}


@torch.no_grad()
def passkey(models, tok, val, lengths, depths, trials, w, batch=5):
    w("## 4. Key retrieval: a passkey test modelled on the paper's key-retrieval experiment\n")
    w(f"A held-out stretch (a different one per haystack) of L tokens with the line `PASSKEY = ddddd` (a random "
      f"5-digit value per haystack) inserted at a depth, ending with `PASSKEY =`. **Correct** means greedy decoding "
      f"produces the whole value (checked by teacher forcing: the model's top prediction equals every value token in "
      f"turn). Attention: the weight the last asking token puts on the planted value's tokens under the model's own "
      f"normaliser, for the best (layer, head) and the mean over all heads. {trials} haystacks per cell; accuracy with "
      f"its 95 % Wilson interval.\n")
    names = [n for n in ("softmax", "ssmax", "retrofit", "retrofit-ft") if n in models]
    w("| L | depth | " + " | ".join(f"{n}: correct · best head · mean" for n in names) + " |")
    w("|---|---|" + "---|" * len(names))
    ask = tok.encode("\nPASSKEY =")
    results = []
    for L in lengths:
        for depth in depths:
            rng = np.random.default_rng([L, int(round(depth * 100))])
            cases = []
            for t in range(trials):
                value = str(int(rng.integers(10000, 100000)))
                v_ids = tok.encode(" " + value)
                head = ask + v_ids + tok.encode("\n")
                room = L - len(head) - len(ask) - (len(v_ids) - 1)
                s0 = int(rng.integers(0, len(val) - room - 1))
                body = val[s0:s0 + room].tolist()
                cut = int(round(depth * len(body)))
                seq = body[:cut] + head + body[cut:] + ask + v_ids[:-1]
                key_pos = list(range(cut + len(ask), cut + len(ask) + len(v_ids)))
                q0 = cut + len(head) + len(body) - cut + len(ask) - 1
                cases.append((seq, v_ids, key_pos, q0))
            row = [str(L), f"{depth:.0%}"]
            for name in names:
                model = models[name]["model"]
                for blk in model.blocks:
                    blk.attn.record = True
                correct, best, mean = [], [], []
                for i in range(0, trials, batch):
                    group = cases[i:i + batch]
                    width = max(len(c[0]) for c in group)
                    x = torch.tensor([c[0] + [0] * (width - len(c[0])) for c in group])
                    logits = model(x)
                    atts = [blk.attn.last_att for blk in model.blocks]  # [B, H, T, T] each
                    for b, (seq, v_ids, key_pos, q0) in enumerate(group):
                        pred = logits[b, q0:q0 + len(v_ids)].argmax(-1).tolist()
                        correct.append(pred == v_ids)
                        mass = torch.stack([a[b, :, q0, key_pos].sum(-1) for a in atts])  # [layers, heads]
                        best.append(float(mass.max()))
                        mean.append(float(mass.mean()))
                for blk in model.blocks:
                    blk.attn.record = False
                    blk.attn.last_att = None
                k = int(sum(correct))
                lo, hi = wilson(k, trials)
                results.append({"model": name, "L": L, "depth": depth, "correct": k, "trials": trials,
                                "wilson": [lo, hi], "best": float(np.mean(best)), "mean": float(np.mean(mean)),
                                "correct_per_trial": [bool(c) for c in correct], "best_per_trial": best})
                row.append(f"{k}/{trials} [{lo:.2f}–{hi:.2f}] · {np.mean(best):.3f} · {np.mean(mean):.4f}")
            w("| " + " | ".join(row) + " |")
    w("")
    return results


def section_copy(models, tok, w, count=32):
    w("## 5. Copying: induction heads\n")
    w(f"{count} sequences `[eot] + X + X`, X 200 uniformly random token ids; the control `[eot] + X + Y` has fresh "
      "ids Y in the second half. Loss on the second copy far below the first (and below the control) means the "
      "model copies; a head's induction score is its mean attention from the second copy's token i to the token "
      "after i's earlier occurrence (1 = a perfect induction head). Targets: second copy < half the first, and a "
      "head with score ≥ 0.3.\n")
    seqs = copy_sequences(tok.vocab_size, tok.eot_id, count=count, seed=99)
    ctrl = copy_sequences(tok.vocab_size, tok.eot_id, count=count, seed=100)
    ctrl[:, 201:] = copy_sequences(tok.vocab_size, tok.eot_id, count=count, seed=101)[:, 1:201]
    w("| model | first copy | second copy | control (fresh ids) | second ÷ first | best head (score) | next best heads | targets met |")
    w("|---|---|---|---|---|---|---|---|")
    out = {}
    for name, m in models.items():
        first, second, scores = copy_probe(m["model"], seqs)
        _, control, _ = copy_probe(m["model"], ctrl)
        flat = sorted(((s, l, h) for l, row in enumerate(scores) for h, s in enumerate(row)), reverse=True)
        ok = second < 0.5 * first and flat[0][0] >= 0.3
        out[name] = {"first": first, "second": second, "control": control, "scores": scores, "met": ok}
        nxt = ", ".join(f"L{l}H{h} {s:.2f}" for s, l, h in flat[1:4])
        w(f"| {name} | {first:.2f} | {second:.2f} | {control:.2f} | {second / first:.2f} | "
          f"L{flat[0][1]}H{flat[0][2]} {flat[0][0]:.2f} | {nxt} | {'yes' if ok else 'no'} |")
    w("")
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--logs", default="", help="the training logs for section 1 (default: --runs; the shipped "
                    "pair's are in logs/)")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--multiples", default="1,4,16,64")
    ap.add_argument("--max-windows", type=int, default=32, help="windows per length below the longest")
    ap.add_argument("--long-windows", type=int, default=8, help="windows at the longest length")
    ap.add_argument("--windows", default="", help="windows per length, one per multiple (overrides the two above; "
                    "the cost of a window grows with L²)")
    ap.add_argument("--long-configs", default="softmax,ssmax,retrofit,retrofit-ft,ntk",
                    help="which models (and ntk) run at the longest length")
    ap.add_argument("--passkey-lengths", default="512,2048")
    ap.add_argument("--passkey-depths", default="0.1,0.5,0.9")
    ap.add_argument("--passkey-trials", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("EVAL_THREADS", "2")))
    t0 = time.time()
    tok = Tokenizer(os.path.join(args.data, "tokenizer.json"))
    val = np.fromfile(os.path.join(args.data, "val.bin"), dtype=np.uint16).astype(np.int64)
    models = load_models(args.runs)
    n_train = models["softmax"]["cfg"].context
    multiples = [int(m) for m in args.multiples.split(",")]
    p_lengths = [int(x) for x in args.passkey_lengths.split(",")]
    p_depths = [float(x) for x in args.passkey_depths.split(",")]
    trials = args.passkey_trials
    if args.quick:
        multiples, args.max_windows, args.long_windows, args.windows = [1, 2], 3, 2, ""
        p_lengths, p_depths, trials = [n_train], [0.5], 3
    timings = {}
    lines = []
    w = lines.append
    sm = models["softmax"]
    cfg, ck = sm["cfg"], sm["ckpt"]
    w("# Results: softmax vs SSMax, same model, same data\n")
    command = " ".join(["evaluate.py"] + [shlex.quote(a) for a in sys.argv[1:]])
    w(f"Reproduce: `cd training && /usr/bin/python3 {command}` (one command, after `./run_all.sh`). Measured "
      f"{datetime.date.today().isoformat()} on {machine()}.\n")
    seen = steps_seen(ck)
    history = (f" (the last {ck['step']} of them in a run continued from earlier weights: training/README.md gives "
               "the whole history)" if seen != ck["step"] else "")
    w(f"Models: {ck['n_params'] / 1e6:.2f}M parameters, d_model {cfg.d_model}, {cfg.n_layers} layers × "
      f"{cfg.n_heads} heads, RoPE, training context N = {n_train}. The pair: {seen} steps × "
      f"{ck['args']['batch']} × {n_train} = {seen * ck['args']['batch'] * n_train / 1e6:.1f}M tokens per variant{history}, seed {ck['seed']}, "
      f"the same initial weights and the same batches (bf16 autocast: {bool(ck['args'].get('bf16'))}). Held-out: "
      f"{len(val) / 1e6:.2f}M tokens from files never trained on (training/SOURCES.md). Models evaluated: "
      + "; ".join(f"**{n}** ({m['what']})" for n, m in models.items()) + ".\n")
    checks = {n: check_chunked(m["model"], val[:700]) for n, m in models.items()}
    worst = max(max(c) for c in checks.values())
    assert worst < 1e-3, f"the chunked evaluation disagrees with the training graph: {checks}"
    w(f"Self-check: the chunked evaluation below equals each model's training graph on 700 held-out tokens (largest "
      f"difference in per-token loss or focus statistic: {worst:.1e}).\n")
    w("Verdicts: **holds** = the difference is in the paper's direction with its 95 % interval clear of zero; "
      "**contradicted** = against it, clear of zero; **not shown** = the interval includes zero.\n")

    print(f"self-check {worst:.1e}; curves...", flush=True)
    t = time.time()
    curves = section_curves(models, args.logs or args.runs, w,
                            os.path.join(os.path.dirname(args.out), "curves.png"))
    timings["curves"] = time.time() - t
    t = time.time()
    stats = {}
    windows = ([int(x) for x in args.windows.split(",")] if args.windows
               else [args.max_windows] * (len(multiples) - 1) + [args.long_windows])
    assert len(windows) == len(multiples), "--windows needs one count per multiple"
    table = section_loss(models, val, n_train, multiples, windows,
                         args.long_configs.split(","), w, stats)
    loss_claims = section_loss_claims(table, n_train, multiples, w)
    timings["loss"] = time.time() - t
    print(f"loss: {timings['loss'] / 60:.1f} min", flush=True)
    t = time.time()
    focus = section_focus(models, stats, n_train, w)
    timings["focus"] = time.time() - t
    print(f"focus: {timings['focus'] / 60:.1f} min", flush=True)
    t = time.time()
    retrieval = passkey(models, tok, val, p_lengths, p_depths, trials, w)
    timings["passkey"] = time.time() - t
    print(f"passkey: {timings['passkey'] / 60:.1f} min", flush=True)
    t = time.time()
    copying = section_copy(models, tok, w)
    timings["copy"] = time.time() - t
    print(f"copy: {timings['copy'] / 60:.1f} min", flush=True)

    # the claims, each with its rule
    w("## 6. The paper's claims beside ours\n")
    w("| the paper says | we measured | verdict |")
    w("|---|---|---|")
    if focus.get("claim"):
        c = focus["claim"]
        w(f"| Softmax's attention fades as n grows; SSMax keeps focus | drop of the own mean max weight from n ≤ "
          f"{n_train} to n {c['late_bucket'][0]}–{c['late_bucket'][1]}: softmax-trained {c['softmax_drop']:.3f}, "
          f"SSMax-trained {c['ssmax_drop']:.3f}; difference {fmt_ci(*c['diff'])} | {c['verdict']} |")
    for r in loss_claims:
        if (r["a"], r["b"]) == ("softmax", "ssmax"):
            claim = ("SSMax trains as well as softmax at the training length" if r["L"] == n_train
                     else "SSMax generalises better to longer contexts")
            w(f"| {claim} | softmax − SSMax loss at L = {r['L']}, positions {r['positions']}: "
              f"{fmt_ci(*r['diff'])} nats | {r['verdict']} |")
        if (r["a"], r["b"]) == ("softmax", "retrofit") and r["L"] > n_train:
            w(f"| Replacing softmax by SSMax after pretraining helps length generalisation | softmax − retrofit loss at "
              f"L = {r['L']}, positions {r['positions']}: {fmt_ci(*r['diff'])} nats | {r['verdict']} |")
    if curves.get("curve"):
        last = curves["curve"][-1]
        mid = curves["curve"][len(curves["curve"]) // 2]
        w(f"| SSMax reduces the loss faster during pretraining | softmax − SSMax held-out loss at "
          f"{mid['tokens'] / 1e6:.1f}M tokens {fmt_ci(*mid['diff'])}, at {last['tokens'] / 1e6:.1f}M "
          f"{fmt_ci(*last['diff'])} | {mid['verdict']} / {last['verdict']} |")
    far = [r for r in retrieval if r["L"] > n_train]
    if far:
        def trials_of(name):
            return np.array([c for r in far if r["model"] == name for c in r["correct_per_trial"]], dtype=float)
        a, b = trials_of("softmax"), trials_of("ssmax")
        if len(a) and len(a) == len(b):
            m, lo, hi = boot_mean_ci(b - a, seed=11)
            w(f"| SSMax retrieves key information from long contexts better | passkey accuracy beyond N "
              f"(all depths): softmax {a.mean():.2f}, SSMax {b.mean():.2f}; difference {fmt_ci(m, lo, hi, 2)} "
              f"| {verdict(lo, hi)} |")
    w("")
    minutes = (time.time() - t0) / 60
    w(f"evaluate.py took {minutes:.1f} min here (" + ", ".join(f"{k} {v / 60:.1f}" for k, v in timings.items())
      + " min).\n")

    summary = {"date": datetime.date.today().isoformat(), "machine": machine(), "minutes": minutes,
               "models": {n: m["what"] for n, m in models.items()},
               "loss": {f"{k[0]}@{k[1]}": v.mean(0).tolist() for k, v in table.items()},
               "loss_claims": loss_claims, "curves": curves, "focus": focus,
               "retrieval": [{k: v for k, v in r.items() if not k.endswith("per_trial")} for r in retrieval],
               "copy": copying}
    with open(os.path.join(os.path.dirname(args.out), "results.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    notes = ""
    if os.path.exists(args.out):
        old = open(args.out, encoding="utf-8").read()
        if MARKER in old:
            notes = old[old.index(MARKER):]
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n" + (("\n" + notes) if notes else ""))
    print(f"wrote {args.out} in {minutes:.1f} min")


if __name__ == "__main__":
    main()
