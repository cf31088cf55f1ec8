// `npm run bench:hf`: the benchmark on a random-weight decoder shaped like a ~100M-parameter Llama (12 layers, 12
// query heads sharing 4 key heads, d 768), in the layout optimum exports, generated here by training/hf_decoders.py
// (Debian's torch; ~430 MB, in the temp folder, not committed). Extra arguments go to the benchmark, e.g. --sizes 4096,16384.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const dir = join(tmpdir(), 'attention-inspector-bench-llama-100m');
if (!existsSync(join(dir, 'llama', 'model.onnx'))) {
  console.log(`generating the ~100M-parameter Llama-layout decoder in ${dir} ...`);
  execFileSync('/usr/bin/python3', ['hf_decoders.py', '--out', dir, '--families', 'llama', '--shape', '100m'], {
    cwd: join(ROOT, 'training'),
    stdio: ['ignore', 'inherit', 'ignore'],
  });
}
const args = process.argv.slice(2);
execFileSync(
  process.execPath,
  [
    '--expose-gc',
    join(ROOT, 'out', 'bench.js'),
    '--model',
    join(dir, 'llama'),
    '--baseline-limit-gb',
    '0',
    ...(args.some((a) => a.startsWith('--sizes')) ? [] : ['--sizes', '4096']),
    ...args,
  ],
  { stdio: 'inherit' },
);
