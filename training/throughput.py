"""Measure training throughput on this machine and print a table (machine, date, tokens/s per setting).

  /usr/bin/python3 throughput.py                 # the default grid, ~3 minutes on 2 cores
  /usr/bin/python3 throughput.py --out runs/throughput.md

Each row times `--steps` training steps of model.py (after one warm-up step) and reports the median tokens/s of one
variant. The "pair" rows are what a real run does: both variants trained at once on the same batches, either as two
single-threaded processes side by side or as one process that steps both models on each batch. The winner is printed
last; `train.py` defaults follow it (see README.md).
"""
import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

from model import GPT, Config

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def step_times(variants, threads, batch, context, bf16, steps):
    """Seconds per training step (all `variants` stepped on the same batch), one entry per timed step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = [GPT(Config(context=context, normaliser=v)) for v in variants]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-3) for m in models]
    x = torch.randint(0, 4096, (batch, context))
    y = torch.randint(0, 4096, (batch, context))
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        for m, opt in zip(models, opts):
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
            with ctx:
                _, loss = m(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if i > 0:
            times.append(time.perf_counter() - t0)
    return times


def child(args):
    """One measurement in this process; prints JSON (used for the side-by-side processes)."""
    t = step_times(args.variants.split(","), args.threads, args.batch, args.context, args.bf16, args.steps)
    print(json.dumps({"median_s": statistics.median(t)}))


def side_by_side(threads, batch, context, bf16, steps):
    """Two single-variant processes started together; median step time of each."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    procs = [subprocess.Popen([sys.executable, __file__, "--child", "--variants", v, "--threads", str(threads),
                               "--batch", str(batch), "--context", str(context), "--steps", str(steps)]
                              + (["--bf16"] if bf16 else []), stdout=subprocess.PIPE, env=env, cwd=HERE)
             for v in ("softmax", "ssmax")]
    outs = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1])["median_s"] for p in procs]
    return max(outs)  # the slower of the two sets the pace of a paired run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variants", default="softmax")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if args.child:
        return child(args)

    C = args.context
    rows = []  # (setting, threads, batch, dtype, tokens/s per variant)

    def single(threads, batch, bf16):
        t = statistics.median(step_times(["softmax"], threads, batch, C, bf16, args.steps))
        rows.append(("one variant alone", threads, batch, "bf16" if bf16 else "fp32", batch * C / t))
        print(rows[-1], flush=True)

    for threads, batch, bf16 in [(1, 4, False), (1, 4, True), (1, 8, True), (2, 4, False), (2, 4, True),
                                 (2, 8, True), (2, 16, True)]:
        single(threads, batch, bf16)
    for batch in (4, 8):
        t = side_by_side(1, batch, C, True, args.steps)
        rows.append(("pair: two processes × 1 thread", 1, batch, "bf16", batch * C / t))
        print(rows[-1], flush=True)
    for batch in (4, 8):
        t = statistics.median(step_times(["softmax", "ssmax"], 2, batch, C, True, args.steps))
        rows.append(("pair: one process steps both", 2, batch, "bf16", batch * C / t))
        print(rows[-1], flush=True)

    lines = [f"# Training throughput, {datetime.date.today()} ({cpu_name()}, {os.cpu_count()} logical cores, "
             f"torch {torch.__version__}, context {C}, model.py defaults)", "",
             f"Median of {args.steps} steps after one warm-up step; tokens/s of one variant "
             "(for the pair rows: of each variant while both train).", "",
             "| setting | torch threads | batch × context | dtype | tokens/s per variant |", "|---|---|---|---|---|"]
    for name, th, b, dt, tps in rows:
        lines.append(f"| {name} | {th} | {b} × {C} | {dt} | {tps:,.0f} |")
    best = max((r for r in rows if r[0].startswith("pair")), key=lambda r: r[4])
    lines += ["", f"Best for a paired run: {best[0]}, batch {best[2]}, {best[3]}: {best[4]:,.0f} tokens/s per variant."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
