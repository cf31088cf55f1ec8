"""Stage 2: a byte-level BPE tokenizer, trained in plain Python, saved as one small JSON file.

File format (read by src/core/tokenizer.ts, which must give the same ids):
  {"format": "byte-bpe-v1", "pattern": <regex>, "merges": [[a, b], ...], "eot_id": int, "vocab_size": int}
Ids 0..255 are bytes; merge k (0-based) creates id 256 + k from the pair (a, b); eot_id follows the merges.
The pre-tokenising regex uses ASCII classes only, so Python's `re` and JavaScript's RegExp (with the `u`
flag, code-point based like Python) split any text identically.
"""
import argparse
import shutil
import collections
import heapq
import json
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
WS = r" \t\n\r\f\v"
PATTERN = (
    r"'(?:[sdmt]|ll|ve|re)"
    r"| ?[A-Za-z_]+"
    r"| ?[0-9]{1,3}"
    rf"| ?[^{WS}A-Za-z_0-9]+"
    rf"|[{WS}]+(?![^{WS}])"
    rf"|[{WS}]+"
)
_pre = re.compile(PATTERN)


def pre_tokenize(text):
    return [m.group(0) for m in _pre.finditer(text)]


def train(texts, vocab_size):
    words = collections.Counter()
    for t in texts:
        words.update(pre_tokenize(t))
    seqs = [list(w.encode("utf-8")) for w in words]
    counts = list(words.values())
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pair_counts[(a, b)] += counts[i]
            where[(a, b)].add(i)
    # Max-heap with lazy invalidation; ties broken by the smaller pair so training is deterministic.
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    n_merges = vocab_size - 256 - 1
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negc or negc == 0:
            continue
        new_id = 256 + len(merges)
        merges.append(pair)
        a, b = pair
        for i in list(where[pair]):
            s = seqs[i]
            c = counts[i]
            j = 0
            out = []
            changed = collections.Counter()
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    out.append(new_id)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            for x, y in zip(s, s[1:]):
                changed[(x, y)] -= c
            for x, y in zip(out, out[1:]):
                changed[(x, y)] += c
            seqs[i] = out
            for p, d in changed.items():
                if d == 0:
                    continue
                pair_counts[p] += d
                if d > 0:
                    where[p].add(i)
                    heapq.heappush(heap, (-pair_counts[p], p))
                elif pair_counts[p] > 0:
                    heapq.heappush(heap, (-pair_counts[p], p))
        pair_counts.pop(pair, None)
        where.pop(pair, None)
    return merges


class Tokenizer:
    def __init__(self, path):
        with open(path) as fh:
            spec = json.load(fh)
        assert spec["format"] == "byte-bpe-v1"
        self.pattern = re.compile(spec["pattern"])
        self.ranks = {tuple(p): r for r, p in enumerate(spec["merges"])}
        self.eot_id = spec["eot_id"]
        self.vocab_size = spec["vocab_size"]
        self.cache = {}
        self.bytes_of = [bytes([i]) for i in range(256)]
        for a, b in spec["merges"]:
            self.bytes_of.append(self.bytes_of[a] + self.bytes_of[b])

    def _bpe(self, chunk):
        ids = list(chunk.encode("utf-8"))
        while len(ids) > 1:
            best = None
            for p in zip(ids, ids[1:]):
                r = self.ranks.get(p)
                if r is not None and (best is None or r < best[0]):
                    best = (r, p)
            if best is None:
                break
            r, (a, b) = best
            out, j = [], 0
            while j < len(ids):
                if j + 1 < len(ids) and ids[j] == a and ids[j + 1] == b:
                    out.append(256 + r)
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            ids = out
        return ids

    def encode(self, text):
        ids = []
        for m in self.pattern.finditer(text):
            chunk = m.group(0)
            got = self.cache.get(chunk)
            if got is None:
                got = self._bpe(chunk)
                if len(self.cache) < 200_000:
                    self.cache[chunk] = got
            ids.extend(got)
        return ids

    def decode(self, ids):
        return b"".join(self.bytes_of[i] for i in ids if i < len(self.bytes_of)).decode("utf-8", errors="replace")


def encode_splits(tok, data_dir):
    """Encode train/val into flat uint16 token files, documents separated by the end-of-text id."""
    import numpy as np
    for split in ("train", "val"):
        ids = []
        for line in open(os.path.join(data_dir, f"{split}.jsonl"), encoding="utf-8"):
            ids.extend(tok.encode(json.loads(line)["text"]))
            ids.append(tok.eot_id)
        np.array(ids, dtype=np.uint16).tofile(os.path.join(data_dir, f"{split}.bin"))
        print(f"{split}: {len(ids)} tokens")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "data", "tokenizer.json"))
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--sample-mb", type=float, default=12.0, help="train the merges on a random sample of files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", default="", help="encode with this existing tokenizer.json instead of training merges "
                    "(keeps the shipped ids, e.g. --reuse ../models/tokenizer.json)")
    args = ap.parse_args()
    if args.reuse:
        if os.path.abspath(args.reuse) != os.path.abspath(args.out):
            shutil.copyfile(args.reuse, args.out)
        encode_splits(Tokenizer(args.out), args.data)
        print(f"tokenizer: reused {args.reuse}")
        return
    docs = [json.loads(l)["text"] for l in open(os.path.join(args.data, "train.jsonl"), encoding="utf-8")]
    rng = random.Random(args.seed)
    rng.shuffle(docs)
    sample, size = [], 0
    for d in docs:
        if size > args.sample_mb * 1e6:
            break
        sample.append(d)
        size += len(d)
    merges = train(sample, args.vocab_size)
    spec = {"format": "byte-bpe-v1", "pattern": PATTERN, "merges": [list(m) for m in merges],
            "eot_id": 256 + len(merges), "vocab_size": 256 + len(merges) + 1}
    with open(args.out, "w") as fh:
        json.dump(spec, fh, separators=(",", ":"))
    tok = Tokenizer(args.out)
    probe = "".join(sample[:50])
    encode_splits(tok, args.data)
    print(f"tokenizer: {len(merges)} merges, vocab {spec['vocab_size']}, "
          f"{len(probe.encode()) / max(1, len(tok.encode(probe))):.2f} bytes/token on a sample")


if __name__ == "__main__":
    main()
