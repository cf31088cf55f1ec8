// The training pipeline on a tiny corpus for a few steps (training/smoke.sh), where Debian's torch is present.
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy, onnx'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) {
  // said loudly: a skipped pipeline test is easy to miss in a long run (CI installs the packages, so it runs there)
  console.warn(
    "\n*** the training-pipeline smoke test is SKIPPED: Debian's python3-torch, python3-numpy and python3-onnx are not installed (bash training/setup.sh installs them) ***\n",
  );
}

test(
  'training pipeline smoke run: corpus -> tokenizer -> train -> evaluate -> export',
  { skip: hasTorch ? false : 'python3-torch not installed (bash training/setup.sh installs it)' },
  () => {
    const out = execFileSync('bash', [join(ROOT, 'training', 'smoke.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000 });
    assert.match(out, /pipeline smoke test: ok/);
  },
);
