import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineClient } from '../../src/core/engineClient';
import type { EngineEvent } from '../../src/core/engineProtocol';
import { modelsDir, ROOT } from './paths';

const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8').slice(0, 12_000);
const ssmax = path.join(modelsDir, 'ssmax.json');
const softmax = path.join(modelsDir, 'softmax.json');

describe('model process: views, a second model, the probe (real child process, real models)', () => {
  const client = new EngineClient(path.join(ROOT, 'out', 'engine.js'), () => undefined);
  before(async () => {
    await client.request('load', { manifestPath: ssmax, provider: 'cpu', threads: 1 });
    await client.request('analyse', { docKey: 'doc', version: 1, text, maxTokens: 1200 });
  });
  after(() => client.dispose());

  it('heads: every layer × head for one query, agreeing with the rows of that head', async () => {
    const h = await client.request('heads', { docKey: 'doc', version: 1, position: 1100 });
    assert.equal(h.cells.length, 16);
    assert.deepEqual(h.cells.map((c) => `${c.layer}:${c.head}`).slice(0, 5), ['0:0', '0:1', '0:2', '0:3', '1:0']);
    const rows = await client.request('rows', { docKey: 'doc', version: 1, position: 1100, head: { layer: 2, head: 3 }, topK: 3 });
    const cell = h.cells[2 * 4 + 3];
    assert.ok(Math.abs(cell.stats.ssmax.maxWeight - rows.stats.ssmax.maxWeight) < 1e-6);
    assert.deepEqual(
      cell.top.map((t) => t.position),
      rows.top.map((t) => t.position),
    );
    assert.ok(Math.abs(rows.distance.ssmax.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'the distance profile covers every key');
    await assert.rejects(client.request('heads', { docKey: 'doc', version: 1, position: 5000 }), /not analysed/);
  });

  it('focus curve: log-binned over every analysed position, starting at n = 1', async () => {
    const c = await client.request('focusCurve', { docKey: 'doc', version: 1, head: { layer: 3, head: 'mean' }, points: 128 });
    assert.equal(c.analysed, 1200);
    assert.equal(c.n[0], 1);
    assert.ok(c.n.length <= 128 && (c.n.at(-1) ?? 0) > 1000);
    assert.equal(c.maxWeight.softmax.length, c.n.length);
    assert.equal(c.sink, undefined, 'no sink curve unless asked');
    const withSink = await client.request('focusCurve', { docKey: 'doc', version: 1, head: { layer: 3, head: 'mean' }, points: 128, sinkTokens: 4 });
    assert.equal(withSink.sink?.tokens, 4);
    assert.equal(withSink.sink?.ssmax.length, c.n.length);
    assert.ok(withSink.sink.ssmax.every((v) => v >= 0 && v <= 1 + 1e-6));
    await assert.rejects(client.request('focusCurve', { docKey: 'doc', version: 1, head: { layer: 9, head: 0 }, points: 10 }), /no head/);
  });

  it('a second model analyses the same document beside the first, under its own key, with its own results', async () => {
    const info = await client.request('loadOther', { manifestPath: softmax });
    assert.equal(info.normaliser, 'softmax');
    const events: EngineEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    await client.request('analyse', { docKey: 'doc', model: softmax, version: 1, text, maxTokens: 1200 });
    off();
    assert.ok(events.length > 0, 'the analysis reported progress');
    assert.ok(
      events.every((e) => (e.event === 'tokens' || e.event === 'progress') && e.model === softmax),
      'its events name the model',
    );
    const own = await client.request('rows', { docKey: 'doc', version: 1, position: 1000, head: { layer: 3, head: 0 }, topK: 3 });
    const other = await client.request('rows', { docKey: 'doc', model: softmax, version: 1, position: 1000, head: { layer: 3, head: 0 }, topK: 3 });
    assert.notDeepEqual(Array.from(own.softmax.slice(0, 50)), Array.from(other.softmax.slice(0, 50)), 'different models, different attention');
    // forgetting the second model's analysis leaves the first
    assert.equal(await client.request('forget', { docKey: 'doc', model: softmax }), true);
    await assert.rejects(
      client.request('rows', { docKey: 'doc', model: softmax, version: 1, position: 10, head: { layer: 0, head: 0 }, topK: 1 }),
      /no analysis/,
    );
    await client.request('rows', { docKey: 'doc', version: 1, position: 10, head: { layer: 0, head: 0 }, topK: 1 });
  });

  it('probe: results per depth for both models as events, and a cancel stops it', async () => {
    const events: EngineEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    const results = await client.request('probe', {
      probeKey: 'p1',
      text,
      key: 'PASSKEY',
      value: '48151',
      depths: [0, 1],
      contextTokens: 300,
      models: [ssmax, softmax],
    });
    off();
    assert.equal(results.length, 2);
    assert.deepEqual(
      events.filter((e) => e.event === 'probe').map((e) => (e.event === 'probe' ? e.completed : 0)),
      [1, 2, 3, 4],
    );
    const cancelled = client.request('probe', {
      probeKey: 'p2',
      text,
      key: 'PASSKEY',
      value: '1',
      depths: [0, 0.5, 1],
      contextTokens: 2000,
      models: [ssmax, softmax],
    });
    await client.request('cancel', { docKey: 'p2' });
    await assert.rejects(cancelled, /cancel/);
    await assert.rejects(client.request('probe', { probeKey: 'p3', text, key: 'K', value: '1', depths: [2], contextTokens: 300, models: [ssmax] }), /depths/);
  });

  it('retrieval heads: a ranking per model, progress as events, and a cancel stops it', async () => {
    const events: EngineEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    const results = await client.request('retrievalHeads', { jobKey: 'r1', text, contextTokens: 512, models: [ssmax, softmax] });
    off();
    assert.deepEqual(
      results.map((r) => r.modelId),
      ['ssmax', 'softmax'],
    );
    for (const r of results) assert.equal(r.heads.length, 16, 'every layer × head is ranked');
    const progress = events.flatMap((e) => (e.event === 'retrieval' && e.jobKey === 'r1' ? [e] : []));
    assert.ok(progress.length >= results[0].steps, 'a progress event per scored step');
    assert.equal(progress.at(-1)?.completed, progress.at(-1)?.total, 'the last event says the run is complete');
    const cancelled = client.request('retrievalHeads', { jobKey: 'r2', text, contextTokens: 4096, models: [ssmax, softmax] });
    await client.request('cancel', { docKey: 'r2' });
    await assert.rejects(cancelled, /cancel/);
    await assert.rejects(client.request('retrievalHeads', { jobKey: 'r3', text, contextTokens: 10, models: [ssmax] }), /contextTokens/);
  });

  it('needle map: a cell per event, bad grids refused, and a cancel stops it', async () => {
    const events: EngineEvent[] = [];
    const off = client.onEvent((e) => events.push(e));
    const cells = await client.request('needleMap', { jobKey: 'n1', text, lengths: [128], depths: [0, 1], haystacks: 1, models: [ssmax] });
    off();
    assert.equal(cells.length, 2);
    assert.deepEqual(
      events.flatMap((e) => (e.event === 'needleMap' && e.jobKey === 'n1' ? [[e.cell.depth, e.completed, e.total]] : [])),
      [
        [0, 1, 2],
        [1, 2, 2],
      ],
    );
    for (const bad of [{ lengths: [10] }, { depths: [2] }, { haystacks: 0 }, { lengths: Array.from({ length: 17 }, () => 128) }])
      await assert.rejects(client.request('needleMap', { jobKey: 'n2', text, lengths: [128], depths: [0], haystacks: 1, models: [ssmax], ...bad }));
    const cancelled = client.request('needleMap', { jobKey: 'n3', text, lengths: [2000], depths: [0, 0.5, 1], haystacks: 3, models: [ssmax, softmax] });
    await client.request('cancel', { docKey: 'n3' });
    await assert.rejects(cancelled, /cancel/);
  });
});
