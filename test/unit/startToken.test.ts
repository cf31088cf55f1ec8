import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_TELLING_KEYS, startToken } from '../../src/vscode/startToken';

describe('the first query of an inspection', () => {
  it('is the token at the cursor when it sees enough keys', () => {
    assert.equal(startToken(300, 10_000, 500), 300);
    assert.equal(startToken(MIN_TELLING_KEYS - 1, 10_000, 500), MIN_TELLING_KEYS - 1);
  });
  it('is the last visible token when the cursor is at the start of the file (n = 1: every weight 1)', () => {
    assert.equal(startToken(0, 10_000, 480), 480);
  });
  it('is the middle of the document when the visible range ends too early', () => {
    assert.equal(startToken(0, 10_000, 20), 5000);
  });
  it('stays at the cursor in a document too short for any telling token', () => {
    assert.equal(startToken(0, 40, 39), 0);
  });
});
