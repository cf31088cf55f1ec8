/** The command-line tool as a user runs it: a real process over the shipped models. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadCatalogue } from '../../src/core/catalogue';
import { modelsDir, ROOT } from './paths';

const CLI = path.join(ROOT, 'out', 'cli.js');
const SAMPLE = path.join(ROOT, 'media', 'sample', 'long_sample.py');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('CLI: attention-inspector FILE --at LINE:COL', () => {
  it('a query pays only for its prefix: --at 1:1 analyses one token of the 14k-token sample', () => {
    const r = cli(SAMPLE, '--at', '1:1', '--json', '--provider', 'cpu');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { tokens: number; totalTokens: number; query: { position: number } };
    assert.equal(j.query.position, 0);
    assert.equal(j.tokens, 1, 'only the prefix up to the query');
    assert.ok(j.totalTokens > 14000);
  });

  it('--all analyses the file up to --max-tokens', () => {
    const r = cli(SAMPLE, '--at', '1:1', '--all', '--max-tokens', '300', '--json', '--provider', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { tokens: number }).tokens, 300);
  });

  it('a query past --max-tokens says which token it is, the flag that reaches it and what that costs', () => {
    const r = cli(SAMPLE, '--at', '1300:1', '--max-tokens', '2000', '--provider', 'cpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /1300:1 is token 13,\d{3} \(0-based\) of 14,\d{3}, past --max-tokens 2,000/);
    assert.match(r.err, /Rerun with --max-tokens 13\d{3} to reach it: .* holds about \d+ MB and takes roughly \d+ s/);
  });

  it('every shipped model id is accepted by --model; an unknown one lists them', () => {
    for (const e of loadCatalogue(modelsDir)) {
      const r = cli(SAMPLE, '--at', '3:1', '--model', e.id, '--json', '--provider', 'cpu');
      assert.equal(r.code, 0, `${e.id}: ${r.err}`);
      assert.equal((JSON.parse(r.out) as { normaliser: string }).normaliser, e.normaliser);
    }
    const bad = cli(SAMPLE, '--at', '3:1', '--model', 'gpt-5');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /unknown model "gpt-5": shipped models are ssmax, softmax/);
  });

  it('rejects bad numbers and providers with a message instead of guessing', () => {
    for (const [args, msg] of [
      [['--top', 'x'], /--top must be a positive whole number/],
      [['--max-tokens=-5'], /--max-tokens must be a positive whole number/],
      [['--max-tokens', '2.5'], /--max-tokens must be a positive whole number/],
      [['--provider', 'tpu'], /--provider must be one of auto, webgpu, cuda, dml, coreml, cpu/],
      [['--probe', '--model', 'softmax'], /--model does not apply to --probe.*--models/],
    ] as const) {
      const r = cli(SAMPLE, '--at', '1:1', ...args);
      assert.equal(r.code, 1);
      assert.match(r.err, msg);
    }
  });
});
