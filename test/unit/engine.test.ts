import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineClient, EngineError } from '../../src/core/engineClient';
import type { EngineEvent } from '../../src/core/engineProtocol';
import { modelsDir, ROOT } from './paths';

const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8').slice(0, 20_000);

describe('model process (real child process, real model)', () => {
  const logs: string[] = [];
  const client = new EngineClient(path.join(ROOT, 'out', 'engine.js'), (l) => logs.push(l));
  after(() => client.dispose());
  /** Resolves at the first progress event of a document version that is part-way through: the run is in flight. */
  const midRun = (docKey: string, version: number) =>
    new Promise<void>((resolve) => {
      const off = client.onEvent((e) => {
        if (e.event === 'progress' && e.docKey === docKey && e.version === version && e.analysed > 0 && e.analysed < e.length) {
          off();
          resolve();
        }
      });
    });

  it('loads, analyses with progress events, and answers rows for both normalisers', async () => {
    const info = await client.request('load', { manifestPath: path.join(modelsDir, 'ssmax.json'), provider: 'cpu', threads: 1 });
    assert.equal(info.normaliser, 'ssmax');
    assert.equal(info.provider, 'cpu');
    const events: EngineEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    const result = await client.request('analyse', { docKey: 'doc', version: 1, text, maxTokens: 1000, chunkSize: 256 });
    off();
    assert.equal(result.length, 1000);
    assert.equal(events[0].event, 'tokens');
    const progress = events.filter((e) => e.event === 'progress');
    assert.ok(progress.length >= 4, 'progress after each chunk');
    const rows = await client.request('rows', { docKey: 'doc', version: 1, position: 900, head: { layer: 3, head: 'mean' }, topK: 5 });
    assert.equal(rows.softmax.length, 901);
    assert.ok(rows.softmax instanceof Float32Array, 'typed arrays cross the process boundary as they are');
    const sum = rows.ssmax.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4);
    assert.equal(rows.top.length, 5);
    // the hover's lean answer: the same top keys, statistics and sink, without the two 901-long rows
    const lean = await client.request('rows', { docKey: 'doc', version: 1, position: 900, head: { layer: 3, head: 'mean' }, topK: 5, lean: true });
    assert.equal(lean.softmax.length, 0);
    assert.equal(lean.ssmax.length, 0);
    assert.deepEqual(lean.top, rows.top);
    assert.deepEqual(lean.stats, rows.stats);
    assert.deepEqual(lean.sink, rows.sink);
    assert.equal(lean.n, 901);
  });

  it('refuses rows for a version it has not analysed (never shows stale results)', async () => {
    await assert.rejects(client.request('rows', { docKey: 'doc', version: 2, position: 1, head: { layer: 0, head: 0 }, topK: 3 }), /version 2/);
  });

  it('a newer analysis of the same document cancels the running one', async () => {
    const started = midRun('doc', 3);
    const first = client.request('analyse', { docKey: 'doc', version: 3, text: text + '\n# edit', maxTokens: 3000, chunkSize: 128 });
    await started;
    const second = client.request('analyse', { docKey: 'doc', version: 4, text: text + '\n# edit 2', maxTokens: 3000, chunkSize: 256 });
    await assert.rejects(first, (e: EngineError) => e.cancelled);
    const r = await second;
    assert.ok(r.reused > 0, 'the common prefix was reused');
  });

  it('survives the process being killed mid-analysis: the request fails, the next one restarts it', async () => {
    const pid = client.pid;
    const started = midRun('other', 1);
    const running = client.request('analyse', { docKey: 'other', version: 1, text, maxTokens: 4000, chunkSize: 64 });
    await started;
    client.kill();
    await assert.rejects(running, (e: EngineError) => e.crashed);
    const r = await client.request('analyse', { docKey: 'other', version: 2, text: text.slice(0, 2000), maxTokens: 500 });
    assert.ok(r.length > 0);
    assert.notEqual(client.pid, pid);
    assert.equal(client.restarts, 1);
  });

  it("a what-if law given at load applies to the second model too: softmax-trained models' length-scaled view follows it", async () => {
    const law = { law: 'qwen-logn' as const };
    const info = await client.request('load', { manifestPath: path.join(modelsDir, 'ssmax.json'), provider: 'cpu', threads: 1, whatIf: law });
    assert.equal(info.whatIf?.label, 'Qwen log-n', 'named for the panel even for an SSMax-trained main model');
    const softmax = path.join(modelsDir, 'softmax.json');
    const other = await client.request('loadOther', { manifestPath: softmax });
    assert.equal(other.whatIf?.formula, 'softmax(max(1, ln n / ln 512)·z)');
    await client.request('analyse', { model: softmax, docKey: 'law', version: 1, text, maxTokens: 700 });
    // Qwen's log-n is 1 up to the training length: the what-if equals softmax there, and is sharper past it
    const near = await client.request('rows', { model: softmax, docKey: 'law', version: 1, position: 300, head: { layer: 1, head: 2 }, topK: 3 });
    assert.ok(Math.abs(near.stats.softmax.maxWeight - near.stats.ssmax.maxWeight) < 1e-6);
    const far = await client.request('rows', { model: softmax, docKey: 'law', version: 1, position: 690, head: { layer: 1, head: 2 }, topK: 3 });
    assert.ok(far.stats.ssmax.entropy < far.stats.softmax.entropy, 'sharper past N');
    // anything that is not a law is the default
    const plain = await client.request('load', { manifestPath: softmax, provider: 'cpu', threads: 1, whatIf: { law: 'yarn' } as never });
    assert.equal(plain.whatIf?.label, 'SSMax');
  });
});
