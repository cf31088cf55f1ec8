/** What a query past the token cap is told, in the CLI and in the editor's hover. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hoverPastCap, inspectPastCap } from '../../src/core/cap';

describe('hover past the token cap', () => {
  it('says which token it is about, why it has no answer and the setting that reaches it', () => {
    // 1,000 tokens analysed over the first 4,000 characters of a document of about 5,000 tokens
    const text = hoverPastCap(1000, 5000, 4000, 7999, false);
    assert.ok(text);
    assert.match(text, /about token 2,000, past the cap: the first 1,000 of about 5,000 tokens are analysed/);
    assert.match(text, /depends on every token before it/);
    assert.match(text, /raise `attentionInspector\.maxTokens` to at least 2,000/);
  });

  it('names the memory budget when it set the cap, and says nothing inside the analysed text or without a cap', () => {
    assert.match(hoverPastCap(1000, 5000, 4000, 4500, true) ?? '', /raise `attentionInspector\.memoryBudgetMb`\.$/);
    assert.equal(hoverPastCap(1000, 5000, 4000, 3999, false), undefined, 'inside the analysed text');
    assert.equal(hoverPastCap(1000, 1000, 4000, 4200, false), undefined, 'no cap: trailing whitespace past the last token');
    assert.equal(hoverPastCap(0, 0, 0, 0, false), undefined, 'an empty document');
  });

  it('never estimates past the end of the document', () => {
    assert.match(hoverPastCap(1000, 1200, 4000, 100_000, false) ?? '', /about token 1,200,/);
  });

  it('Inspect with the cursor past the cap: which token, why, and a cap that reaches it (a round one a little past it)', () => {
    const r = inspectPastCap(1000, 5000, 4000, 7999, false);
    assert.ok(r);
    assert.match(r.text, /the first 1,000 of about 5,000 tokens; the cursor is on about token 2,000, past the cap/);
    assert.match(r.text, /depends on every token before it/);
    assert.equal(r.raiseTo, 3072, '2,000 × 1.05 rounded up to a multiple of 1,024');
    assert.match(r.text, /raise attentionInspector\.maxTokens to 3,072\.$/);
    // the memory budget set the cap: no number to raise maxTokens to
    const m = inspectPastCap(1000, 5000, 4000, 7999, true);
    assert.equal(m?.raiseTo, undefined);
    assert.match(m?.text ?? '', /attentionInspector\.memoryBudgetMb/);
    // past what maxTokens allows at all
    assert.equal(inspectPastCap(32768, 300_000, 100_000, 1_000_000, false)?.raiseTo, undefined);
    assert.equal(inspectPastCap(1000, 5000, 4000, 3999, false), undefined, 'the cursor inside the analysed text');
  });
});
