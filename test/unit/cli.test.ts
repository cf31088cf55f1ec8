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
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown model "gpt-5": shipped models are ssmax, softmax/);
  });

  it('rejects bad numbers, providers and unknown flags with a message and its usage instead of guessing', () => {
    for (const [args, msg] of [
      [['--at', '1:1', '--top', 'x'], /--top must be a positive whole number/],
      [['--at', '1:1', '--max-tokens=-5'], /--max-tokens must be a positive whole number/],
      [['--at', '1:1', '--max-tokens', '2.5'], /--max-tokens must be a positive whole number/],
      [['--at', '1:1', '--provider', 'tpu'], /--provider must be one of auto, webgpu, cuda, dml, coreml, cpu/],
      [['--at', '0:1'], /--at must be LINE:COL \(1-based\)/],
      [['--at', '1:1', '--max-token', '5'], /Unknown option '--max-token'/],
      [['--probe', '--model', 'softmax'], /--model does not apply to a probe.*--models/],
      [['--probe', '--depths', '0,2'], /--depths must be numbers between 0 and 1/],
      [['--probe', '--context', '0'], /--context must be a positive whole number/],
    ] as const) {
      const r = cli(SAMPLE, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, msg);
      assert.match(r.err, /usage: attention-inspector (inspect|probe)/, 'the command usage follows the message');
    }
  });
});

describe('CLI subcommands', () => {
  it('inspect FILE --at equals the earlier flag form FILE --at', () => {
    const a = cli('inspect', SAMPLE, '--at', '3:5', '--json', '--provider', 'cpu', '--top', '3');
    const b = cli(SAMPLE, '--at', '3:5', '--json', '--provider', 'cpu', '--top', '3');
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    type Out = { query: unknown; heads: { top: unknown[] }[] };
    const [ja, jb] = [JSON.parse(a.out) as Out, JSON.parse(b.out) as Out];
    assert.deepEqual(ja.query, jb.query);
    assert.deepEqual(
      ja.heads.map((h) => h.top),
      jb.heads.map((h) => h.top),
    );
    assert.equal(ja.heads[0].top.length, 3);
  });

  it('every subcommand has its own --help listing its options; no arguments prints the overview', () => {
    for (const [command, option] of [
      ['inspect', '--at LINE:COL'],
      ['probe', '--depths LIST'],
      ['focus', '--max-tokens N'],
      ['tokens', '--model MODEL'],
    ]) {
      const r = cli(command, '--help');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^usage: attention-inspector ${command} FILE`));
      assert.ok(r.out.includes(option), `${command} --help lists ${option}`);
    }
    const overview = cli();
    assert.equal(overview.code, 0);
    for (const command of ['inspect', 'probe', 'focus', 'tokens']) assert.match(overview.out, new RegExp(`^  ${command} `, 'm'));
    const unknown = cli('inspekt', SAMPLE);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "inspekt"/);
  });

  it('a subcommand takes exactly one FILE', () => {
    const r = cli('tokens', SAMPLE, SAMPLE);
    assert.equal(r.code, 2);
    assert.match(r.err, /tokens takes one FILE, got 2/);
  });
});
