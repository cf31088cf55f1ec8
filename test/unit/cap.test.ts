/** What a query past the token cap is told, in the CLI and in the editor's hover. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hoverPastCap } from '../../src/core/cap';

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
});
