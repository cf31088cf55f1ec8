/** `tokens FILE`: every token's index, id, UTF-16 range and text, to debug a tokenizer. */
import { readFileSync } from 'node:fs';
import { loadTokenizer } from '../core/model';
import { flag, positiveInt, resolveModel, str, type Command } from './args';

export const tokensCommand: Command = {
  name: 'tokens',
  summary: "print a file's tokens: ids, UTF-16 offsets and texts",
  usage:
    'usage: attention-inspector tokens FILE [--model MODEL] [--max-tokens N] [--json]\n' +
    '  --model MODEL      whose tokenizer (default ssmax: the shipped one)\n' +
    '  --max-tokens N     stop after N tokens (default 32768)\n' +
    '  --json             machine-readable output\n' +
    'MODEL: a shipped id (models/catalogue.json), a manifest path, or a Hugging Face export folder.',
  options: {
    model: { type: 'string' },
    'max-tokens': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  positionals: 1,
  run(values, [file]) {
    const modelPath = resolveModel(str(values, 'model') ?? 'ssmax');
    const maxTokens = positiveInt('max-tokens', str(values, 'max-tokens'), 32768);
    const text = readFileSync(file, 'utf8');
    const tokenizer = loadTokenizer(modelPath);
    const enc = tokenizer.encode(text, maxTokens);
    const rows = Array.from(enc.ids, (id, i) => ({
      i,
      id,
      start: enc.starts[i],
      end: enc.ends[i],
      text: text.slice(enc.starts[i], enc.ends[i]),
      token: tokenizer.decodeToken(id),
    }));
    if (flag(values, 'json')) {
      console.log(JSON.stringify({ file, model: modelPath, count: rows.length, tokens: rows }));
      return Promise.resolve(0);
    }
    console.log('| # | id | start–end | text |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.i} | ${r.id} | ${r.start}–${r.end} | ${JSON.stringify(r.text)} |`);
    console.log(`${rows.length} tokens`);
    return Promise.resolve(0);
  },
};
