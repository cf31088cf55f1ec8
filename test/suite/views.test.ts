/**
 * The views' commands in the real extension host: "Probe Key Retrieval" and "Find Retrieval Heads" (on a copy: the
 * document is never touched) and "Compare Models Side by Side" (the other shipped model analyses the same document).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../src/extension';
import type { NeedleMapPayload, ProbePayload } from '../../src/protocol';
import type { RetrievalModelResult } from '../../src/core/retrieval';
import { activeApi, closeDocument, openUntitled, sampleText, until } from './util';

suite('Views (extension host)', () => {
  let api: AttentionInspectorApi;
  let text: string;

  suiteSetup(async () => {
    const active = await activeApi();
    api = active.api;
    text = sampleText(active.ext);
  });

  /** Comparison on for a fresh untitled document, analysed to the end by the other model. */
  async function compareOn(content: string) {
    const { doc } = await openUntitled(content);
    await vscode.commands.executeCommand('attentionInspector.inspect');
    await api.whenIdle(doc.uri.toString());
    await vscode.commands.executeCommand('attentionInspector.compareModels');
    assert.equal(api.selection().comparison, true);
    const state = await until(
      'the comparison analysis',
      () => {
        const s = api.comparison();
        return s && s.uri === doc.uri.toString() && s.done ? s : undefined;
      },
      60_000,
      100,
    );
    return { doc, state };
  }

  test("one click, one rows request: the panel, the editor highlights and the hover share the answer; another token's hover asks once, lean", async () => {
    const { doc, editor } = await openUntitled(text.slice(0, 7000));
    await vscode.commands.executeCommand('attentionInspector.inspect');
    await api.whenIdle(doc.uri.toString());
    const a = await until('the analysis', () => api.analysis(doc.uri.toString())?.done && api.analysis(doc.uri.toString()), 60_000, 100);
    const rowsSent = () => api.engineRequests().rows ?? 0;
    // both consumers of a query have their answer (so every request they make is sent) once each has drawn it
    const drawn = (position: number) =>
      api.decorationsDrawn().uri === doc.uri.toString() &&
      api.decorationsDrawn().position === position &&
      (api.panel()?.posted.some((m) => m.type === 'attention' && m.uri === doc.uri.toString() && m.position === position) ?? false);
    const first = await until('a first query', () => api.selection().position, 30_000, 50);
    await until('the panel and the highlights on the first query', () => drawn(first) || undefined, 30_000, 50);
    const target = Math.floor(a.length * 0.6);
    const before = rowsSent();
    api.receiveFromWebview({ type: 'selectToken', position: target }); // a click on a token in the panel
    await until('the panel and the highlights on the new query', () => drawn(target) || undefined, 30_000, 50);
    const afterClick = rowsSent();
    assert.equal(afterClick - before, 1, 'one rows request for the panel and the highlights together');
    // the hover over the same token: answered from the same request
    const pos = editor.selection.active;
    const hover = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
    assert.ok(hover?.length, 'a hover');
    assert.equal(rowsSent(), afterClick, 'the hover of the clicked token costs no request');
    // another token's hover asks once
    const other = doc.positionAt(Math.floor(doc.getText().length * 0.3));
    await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, other);
    assert.equal(rowsSent(), afterClick + 1);
    await closeDocument(doc);
  });

  test('Probe Key Retrieval: every depth for both models, and the document is unchanged', async () => {
    const { doc } = await openUntitled(text.slice(0, 8000));
    const version = doc.version;
    const probe = await vscode.commands.executeCommand<ProbePayload | undefined>('attentionInspector.probe', doc.uri, 600);
    assert.ok(probe, 'the probe ran');
    assert.equal(probe.error, undefined);
    assert.ok(probe.done);
    assert.match(probe.expected, /^\d{5}$/);
    assert.equal(probe.needle, `PASSKEY = ${probe.expected}`);
    assert.deepEqual(
      probe.depths.map((d) => d.depth),
      [0, 0.25, 0.5, 0.75, 1],
    );
    for (const d of probe.depths) {
      assert.deepEqual(
        d.models.map((m) => m.normaliser),
        ['ssmax', 'softmax'],
      );
      assert.ok(d.contextTokens <= 600 && d.needlePosition < d.queryPosition);
      for (const m of d.models) assert.ok(m.best.softmax >= 0 && m.best.softmax <= 1 && m.best.ssmax >= 0 && m.best.ssmax <= 1);
    }
    assert.equal(doc.version, version, 'the probe never edits the document');
    assert.equal(doc.getText(), text.slice(0, 8000));
    assert.equal(doc.isDirty, true, 'an untitled document stays as it was (dirty because it is untitled, not because of us)');
  });

  test('Find Retrieval Heads: every head of both models ranked, on a copy; the document is unchanged', async () => {
    const { doc } = await openUntitled(text.slice(0, 8000));
    const version = doc.version;
    const results = await vscode.commands.executeCommand<RetrievalModelResult[] | undefined>('attentionInspector.findRetrievalHeads', doc.uri, 512, false);
    assert.ok(results, 'the run finished');
    assert.deepEqual(
      results.map((r) => r.normaliser),
      ['ssmax', 'softmax'],
    );
    for (const r of results) {
      assert.equal(r.heads.length, 16, 'every layer × head of the 4 × 4 shipped models');
      assert.ok(r.steps > 0 && r.copied <= r.steps && r.contextTokens <= 512);
      assert.ok(r.heads.every((h) => h.score >= 0 && h.score <= 1 && h.hits <= r.copied));
    }
    assert.equal(doc.version, version, 'the run never edits the document');
    assert.equal(doc.getText(), text.slice(0, 8000));
  });

  test('Needle Map: a small grid runs to completion for both models, the panel fills in cell by cell; the document is unchanged', async () => {
    const { doc } = await openUntitled(text.slice(0, 8000));
    const version = doc.version;
    const grid = { lengths: [128, 256], depths: [0, 1], haystacks: 2 };
    const map = await vscode.commands.executeCommand<NeedleMapPayload | undefined>('attentionInspector.needleMap', doc.uri, grid);
    assert.ok(map?.done, 'the run finished');
    assert.equal(map.error, undefined);
    assert.deepEqual(
      map.cells.map((c) => [c.length, c.depth]),
      [
        [128, 0],
        [128, 1],
        [256, 0],
        [256, 1],
      ],
    );
    assert.equal(map.completedRuns, map.totalRuns);
    for (const c of map.cells)
      assert.deepEqual(
        c.models.map((m) => [m.normaliser, m.haystacks]),
        [
          ['ssmax', 2],
          ['softmax', 2],
        ],
      );
    const posted = api.panel()?.posted.filter((m) => m.type === 'needleMap') ?? [];
    assert.ok(posted.length >= 1 + map.cells.length, `the panel got the empty grid, then each cell (${posted.length} messages)`);
    assert.equal(doc.version, version, 'the run never edits the document');
    assert.equal(doc.getText(), text.slice(0, 8000));
  });

  test('Toggle Loss Heat: every token underlined by its loss, the mean per position bucket, the difference with Compare on; the document untouched', async () => {
    const { doc, state } = await compareOn(text.slice(0, 9000));
    const version = doc.version;
    assert.ok(state.done);
    const on = await vscode.commands.executeCommand<ReturnType<AttentionInspectorApi['lossHeat']>>('attentionInspector.toggleLossHeat');
    assert.equal(on.uri, doc.uri.toString());
    assert.equal(on.mode, 'difference', 'with Compare on: main − comparison, token by token');
    assert.ok(on.marked > 0, 'some tokens differ by half a nat or more');
    assert.ok(on.otherBuckets && on.otherBuckets.length === on.buckets.length);
    assert.equal(on.buckets[0].from, 0);
    assert.equal(on.buckets[0].to, 512, 'the first bucket ends at the training length');
    for (const b of on.buckets) assert.ok(b.mean > 0 && b.mean < 20 && b.count > 0, `bucket ${b.from}–${b.to}: ${b.mean}`);
    // Compare off: the main model's own loss
    await vscode.commands.executeCommand('attentionInspector.compareModels');
    const loss = await until(
      'the heat of the main model alone',
      () => (api.lossHeat().mode === 'loss' && api.lossHeat().marked > 0 ? api.lossHeat() : undefined),
      30_000,
      100,
    );
    assert.ok(loss.marked > 0 && loss.otherBuckets === undefined);
    const off = await vscode.commands.executeCommand<ReturnType<AttentionInspectorApi['lossHeat']>>('attentionInspector.toggleLossHeat');
    assert.equal(off.mode, 'off');
    assert.equal(off.marked, 0);
    assert.equal(doc.version, version, 'the loss heat never edits the document');
    await closeDocument(doc);
  });

  test('Compare Models Side by Side: the other shipped model analyses the document too, and turns off again', async () => {
    const { doc, state: c } = await compareOn(text.slice(0, 6000));
    assert.equal(c.version, doc.version);
    // the Loss tab gets both models' strips once both analyses are done
    await until('the loss strip of both models in the panel', () =>
      api.panel()?.posted.some((m) => m.type === 'loss' && m.uri === doc.uri.toString() && m.version === doc.version && m.models === 2),
    );
    assert.ok(c.analysed > 1000 && c.analysed === c.length);
    assert.notEqual(c.normaliser, api.model()?.normaliser, 'the comparison uses the model trained with the other normaliser');
    // a new cap applies to the other model's copy too (the same version of the document, analysed again)
    const full = c.length;
    const cfg = vscode.workspace.getConfiguration('attentionInspector');
    await cfg.update('maxTokens', 300, vscode.ConfigurationTarget.Global);
    try {
      await until(
        () => `the comparison capped at 300 tokens (now ${JSON.stringify(api.comparison())})`,
        () => {
          const s = api.comparison();
          return s?.done && s.length === 300 && api.analysis(doc.uri.toString())?.length === 300;
        },
        60_000,
        100,
      );
    } finally {
      await cfg.update('maxTokens', undefined, vscode.ConfigurationTarget.Global);
    }
    await until('the comparison on the whole document again', () => api.comparison()?.done && api.comparison()?.length === full, 60_000, 100);
    await vscode.commands.executeCommand('attentionInspector.compareModels');
    assert.equal(api.selection().comparison, false);
    assert.equal(api.comparison(), undefined, 'turning comparison off frees its analysis');
  });

  test('every shipped model is selectable: the retrofit as the comparison model, then as the main model', async () => {
    const ids = api.catalogue();
    assert.deepEqual(ids.slice(0, 3), ['ssmax', 'softmax', 'retrofit'], 'the pair and the retrofit are shipped, in this order');
    const cfg = () => vscode.workspace.getConfiguration('attentionInspector');
    await cfg().update('compareModel', 'retrofit', vscode.ConfigurationTarget.Global);
    try {
      const { doc } = await compareOn(text.slice(0, 3000));
      const c = await until(
        'the retrofit to analyse the document beside the main model',
        () => {
          const s = api.comparison();
          return s?.modelId === 'retrofit' && s.uri === doc.uri.toString() && s.done ? s : undefined;
        },
        60_000,
        100,
      );
      assert.equal(c.normaliser, 'ssmax', 'the retrofit runs SSMax');
      await vscode.commands.executeCommand('attentionInspector.compareModels');
      assert.equal(api.selection().comparison, false);
    } finally {
      await cfg().update('compareModel', undefined, vscode.ConfigurationTarget.Global);
    }
    await cfg().update('model', 'retrofit', vscode.ConfigurationTarget.Global);
    try {
      await until('the retrofit to be the main model', () => api.model()?.id === 'retrofit', 60_000, 100);
      const { doc } = await openUntitled(text.slice(0, 2000));
      await vscode.commands.executeCommand('attentionInspector.inspect');
      await api.whenIdle(doc.uri.toString());
      const a = api.analysis(doc.uri.toString());
      assert.ok(a?.done && a.analysed > 100, 'the retrofit analyses a document');
      assert.equal(api.model()?.normaliser, 'ssmax');
      await closeDocument(doc);
    } finally {
      await cfg().update('model', undefined, vscode.ConfigurationTarget.Global);
      await until('the default model back', () => api.model()?.id === 'ssmax', 60_000, 100);
    }
  });

  test("closing the compared document drops the other model's analysis of it, in the host and in the model process", async () => {
    const { doc } = await compareOn(text.slice(6000, 10_000));
    const uri = doc.uri.toString();
    // the second model's analyses are keyed `${manifest}\0${uri}` in the model process
    assert.ok(
      (await api.modelProcessDocuments()).some((k) => k.endsWith(`\0${uri}`)),
      'held while the document is open',
    );
    await closeDocument(doc);
    await until('the comparison to let go of the closed document', () => api.comparison() === undefined);
    await until('the model process to drop the second analysis', async () => !(await api.modelProcessDocuments()).some((k) => k.endsWith(`\0${uri}`)));
    await vscode.commands.executeCommand('attentionInspector.compareModels'); // off again for the suites after this one
    assert.equal(api.selection().comparison, false);
  });
});
