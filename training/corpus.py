"""Stage 1: gather a code-heavy, permissively licensed corpus from what this machine already has.

Sources are local copies that arrive through Debian's packages and the npm registry, so the corpus can be
rebuilt offline. Each source's licence is recorded in SOURCES.md. Files are de-duplicated by content, and the
held-out split is made by file (a stable hash of the relative path), so no validation file leaks into training.
"""
import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# (name, root, extensions, licence). Roots that are missing are skipped and reported.
SOURCES = [
    ("python-stdlib", "/usr/lib/python3.11", (".py",), "PSF-2.0"),
    ("torch-python", "/usr/lib/python3/dist-packages/torch", (".py",), "BSD-3-Clause"),
    ("numpy-python", "/usr/lib/python3/dist-packages/numpy", (".py",), "BSD-3-Clause"),
    ("typescript-lib", os.path.join(REPO, "node_modules/typescript/lib"), (".d.ts",), "Apache-2.0"),
    ("types-node", os.path.join(REPO, "node_modules/@types/node"), (".d.ts",), "MIT"),
    ("undici-types", os.path.join(REPO, "node_modules/undici-types"), (".d.ts",), "MIT"),
    ("npm-cli", "/usr/lib/node_modules/npm/lib", (".js",), "Artistic-2.0"),
    ("npm-cli-deps", "/usr/lib/node_modules/npm/node_modules", (".js",), "MIT/ISC/BSD (per package)"),
    ("debian-doc-markdown", "/usr/share/doc", (".md",), "per package (see /usr/share/doc/*/copyright)"),
]
MAX_FILE_BYTES = 400_000  # generated monsters (e.g. typescript.js) would dominate the mix
MIN_FILE_BYTES = 200
VAL_FRACTION = 0.03


def is_val(rel_path: str) -> bool:
    h = int(hashlib.sha1(rel_path.encode()).hexdigest()[:8], 16)
    return (h % 10_000) < VAL_FRACTION * 10_000


def iter_files(root, exts):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(exts):
                yield os.path.join(dirpath, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    ap.add_argument("--max-mb", type=float, default=80.0, help="stop after this many MB of text")
    ap.add_argument("--sources-md", default=os.path.join(HERE, "SOURCES.md"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seen = set()
    stats = []
    splits = {"train": [], "val": []}
    total = 0
    for name, root, exts, licence in SOURCES:
        n_files = n_bytes = 0
        if not os.path.isdir(root):
            print(f"skip {name}: {root} missing", file=sys.stderr)
            stats.append((name, root, licence, 0, 0))
            continue
        for path in iter_files(root, exts):
            try:
                size = os.path.getsize(path)
                if size < MIN_FILE_BYTES or size > MAX_FILE_BYTES:
                    continue
                with open(path, "rb") as fh:
                    raw = fh.read()
                text = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            digest = hashlib.sha1(raw).digest()
            if digest in seen or total > args.max_mb * 1e6:
                continue
            seen.add(digest)
            rel = f"{name}/{os.path.relpath(path, root)}"
            splits["val" if is_val(rel) else "train"].append({"path": rel, "text": text})
            n_files += 1
            n_bytes += len(raw)
            total += len(raw)
        stats.append((name, root, licence, n_files, n_bytes))
    for split, docs in splits.items():
        with open(os.path.join(args.out, f"{split}.jsonl"), "w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(args.sources_md, "w") as fh:
        fh.write("# Corpus sources and licences\n\nWritten by `corpus.py`. Every source is a local copy installed from "
                 "Debian's packages or the npm registry; files are de-duplicated by content; the held-out split is "
                 f"{VAL_FRACTION:.0%} of files chosen by a hash of their path.\n\n")
        fh.write("| source | root | licence | files | MB |\n|---|---|---|---|---|\n")
        for name, root, licence, nf, nb in stats:
            fh.write(f"| {name} | `{root.replace(REPO, '.')}` | {licence} | {nf} | {nb / 1e6:.1f} |\n")
        fh.write(f"\ntrain files: {len(splits['train'])}, held-out files: {len(splits['val'])}, total {total / 1e6:.1f} MB\n")
    print(f"corpus: {len(splits['train'])} train / {len(splits['val'])} val files, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
