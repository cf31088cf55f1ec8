import assert from 'node:assert/strict';
import * as os from 'node:os';
import { describe, it } from 'node:test';
import { defaultThreads, editorThreads } from '../../src/core/ort';

describe('threads', () => {
  it("the extension's automatic count leaves one core to the editor, never below one", () => {
    assert.equal(editorThreads(16), 15);
    assert.equal(editorThreads(8), 7);
    assert.equal(editorThreads(2), 1);
    assert.equal(editorThreads(1), 1);
  });

  it('the CLI and the benchmark use every core', () => {
    assert.equal(defaultThreads(), os.availableParallelism());
  });
});
