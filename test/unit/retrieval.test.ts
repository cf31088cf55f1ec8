import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis } from '../../src/core/analysis';
import { AttentionModel } from '../../src/core/model';
import { alignCopies, argmax, buildRetrievalText, copySteps, findRetrievalHeads, scoreRetrievalHeads } from '../../src/core/retrieval';
import type { Encoding } from '../../src/core/tokenizer';
import { modelsDir, ROOT } from './paths';

/** Words and runs of spaces as tokens, ids by first appearance: enough to check offsets and alignment by hand. */
function wordTokenizer() {
  const vocab = new Map<string, number>();
  return (text: string, maxTokens = Infinity): Encoding => {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (const m of text.matchAll(/\n|[^\S\n]+|[^\s]+/g)) {
      if (ids.length >= maxTokens) break;
      if (!vocab.has(m[0])) vocab.set(m[0], vocab.size);
      ids.push(vocab.get(m[0]) ?? -1);
      starts.push(m.index);
      ends.push(m.index + m[0].length);
    }
    return { ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  };
}

const doc = Array.from({ length: 60 }, (_, i) => `line ${i} alpha${i} beta${i % 7} gamma`).join('\n') + '\n';

describe('retrieval heads (Wu et al. 2024) on a copy with repeated spans', () => {
  it("the copy is the document's first tokens, then whole lines of it repeated, within the token budget", () => {
    const tok = wordTokenizer();
    const copy = buildRetrievalText(tok, doc, 200, [0.1, 0.5], 20);
    assert.equal(copy.spans.length, 2);
    const baseEnd = copy.spans[0].copyStart;
    assert.ok(doc.startsWith(copy.text.slice(0, baseEnd)), 'the copy starts with the document');
    for (const s of copy.spans) {
      const source = copy.text.slice(s.sourceStart, s.sourceEnd);
      assert.equal(copy.text.slice(s.copyStart, s.copyStart + source.length), source, 'the repeat is the source, character for character');
      assert.ok(s.sourceStart === 0 || copy.text[s.sourceStart - 1] === '\n', 'a span starts at a line start');
      assert.ok(source.endsWith('\n'), 'and ends with a line');
      assert.ok(s.sourceEnd <= baseEnd, 'inside the copied first part');
      assert.ok(tok(source).ids.length <= 20, 'no more tokens than asked');
    }
    assert.ok(tok(copy.text).ids.length <= 200, `the copy fits its budget (${tok(copy.text).ids.length} tokens)`);
    assert.deepEqual(buildRetrievalText(tok, '', 200), { text: '', spans: [] });
  });

  it('aligns each repeated token with its earlier occurrence and scores the step that predicts it', () => {
    const tok = wordTokenizer();
    const copy = buildRetrievalText(tok, doc, 200, [0.5], 12);
    const tokens = tok(copy.text);
    const aligned = alignCopies({ tokens, length: tokens.ids.length }, copy.spans);
    assert.ok(aligned.size > 5);
    for (const [i, j] of aligned) {
      assert.ok(j < i && tokens.ids[i] === tokens.ids[j], 'the same token, earlier');
      assert.equal(tokens.starts[i] - copy.spans[0].copyStart, tokens.starts[j] - copy.spans[0].sourceStart, 'at the same offset in the span');
    }
    const steps = copySteps(aligned);
    assert.equal(steps.length, aligned.size - 1, 'every repeated token but the first is predicted from the one before it');
    for (const s of steps) assert.equal(aligned.get(s.query + 1), s.source);
    assert.equal(argmax([0.1, 0.7, 0.7, 0.2]), 1, 'the first of equal maxima');
  });

  it('a head scores at the steps where the model copies and its top key is the copied token (hand-made rows)', async () => {
    const tok = wordTokenizer();
    const copy = buildRetrievalText(tok, doc, 200, [0.5], 12);
    const tokens = tok(copy.text);
    const steps = copySteps(alignCopies({ tokens, length: tokens.ids.length }, copy.spans));
    const n = tokens.ids.length;
    // head 0 puts 0.6 on the earlier occurrence of the next token; head 1 0.9 on the query itself; the model predicts
    // the copy at every other step
    const prediction = new Int32Array(n).fill(-1);
    steps.forEach((s, k) => {
      if (k % 2 === 0) prediction[s.query] = tokens.ids[s.query + 1];
    });
    const sourceOf = new Map(steps.map((s) => [s.query, s.source]));
    const rowFor = (query: number, head: number) => {
      const r = new Float32Array(query + 1).fill(0.1 / query);
      const at = head === 0 ? (sourceOf.get(query) ?? 0) : query;
      r[at] = head === 0 ? 0.6 : 0.9;
      return r;
    };
    const analysis = {
      tokens,
      length: n,
      analysed: n,
      prediction,
      rows: (query: number, h: { head: number }) => {
        const row = rowFor(query, h.head);
        return { softmax: row, ssmax: row.map((v) => v / 2), stats: {} };
      },
    } as unknown as Analysis;
    const model = {
      manifest: { id: 'm', displayName: 'hand-made', normaliser: 'softmax', architecture: { layers: 1, heads: 2 } },
      layerRows: async () => undefined,
      prepareQueries: async () => undefined,
    } as unknown as AttentionModel;
    const r = await scoreRetrievalHeads(model, analysis, copy.spans);
    assert.equal(r.steps, steps.length);
    assert.equal(r.copied, Math.ceil(steps.length / 2));
    const [top, other] = r.heads;
    assert.deepEqual([top.layer, top.head, other.head], [0, 0, 1]);
    assert.equal(top.hits, r.copied, 'head 0 scores at every step the model copies');
    assert.ok(Math.abs(top.score - r.copied / r.steps) < 1e-12);
    assert.ok(Math.abs(top.weight.softmax - 0.6) < 1e-6 && Math.abs(top.weight.ssmax - 0.3) < 1e-6, 'mean weight on the source, per view');
    assert.equal(other.score, 0, 'a head looking at the query itself retrieves nothing');
  });

  describe('the shipped pair on the sample file', () => {
    const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
    let models: AttentionModel[];
    before(async () => {
      models = await Promise.all(
        ['ssmax', 'softmax'].map((id) => AttentionModel.load({ manifestPath: path.join(modelsDir, `${id}.json`), provider: 'cpu', threads: 2 })),
      );
    });
    after(() => Promise.all(models.map((m) => m.dispose())));

    it('inside the training length both models copy, and a few heads (not most) do the retrieving', async () => {
      const before = text.slice();
      const results = await findRetrievalHeads(models, text, { contextTokens: 512 });
      assert.equal(text, before);
      for (const r of results) {
        assert.ok(r.contextTokens <= 512 && r.steps > 100, `${r.modelId}: ${r.steps} steps in ${r.contextTokens} tokens`);
        assert.ok(r.copied / r.steps > 0.4, `${r.modelId} copies (${r.copied} of ${r.steps})`);
        assert.ok(r.heads[0].score >= 0.3, `${r.modelId}: a retrieval head (${r.heads[0].score})`);
        assert.ok(r.heads[3].score < 0.1, `${r.modelId}: most heads are not (${r.heads[3].score})`);
        for (let k = 1; k < r.heads.length; k++) assert.ok(r.heads[k - 1].score >= r.heads[k].score, 'ranked');
      }
    });
  });
});
