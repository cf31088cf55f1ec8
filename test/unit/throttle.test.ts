import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Throttle } from '../../src/vscode/throttle';

describe('Throttle (panel updates during a long analysis)', () => {
  it('background requests run at most once per interval; a user request runs at once; dispose cancels', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      let runs = 0;
      const t = new Throttle(() => runs++, 1000);
      t.run(true);
      mock.timers.tick(0);
      assert.equal(runs, 1, 'immediate');
      for (let i = 0; i < 10; i++) t.run(false); // ten progress reports in a row
      mock.timers.tick(999);
      assert.equal(runs, 1, 'not before the interval');
      mock.timers.tick(1);
      assert.equal(runs, 2, 'one run for all ten');
      t.run(false);
      t.run(true); // the user acts: no waiting
      mock.timers.tick(0);
      assert.equal(runs, 3);
      t.run(false);
      assert.ok(t.pending);
      t.dispose();
      mock.timers.tick(5000);
      assert.equal(runs, 3, 'nothing runs after dispose');
    } finally {
      mock.timers.reset();
    }
  });
});
