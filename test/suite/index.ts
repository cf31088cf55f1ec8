/**
 * The mocha runner that VS Code loads as `extensionTestsPath` (out/test/suite/index.js): it runs in the real
 * extension host with the real `vscode` API, in desktop VS Code (@vscode/test-electron, `npm run test:desktop`) or
 * in code-server (test/e2e/run.mjs, through the workbench URL's payload). Resolves when every test passed.
 * SUITE_GREP=<regexp> runs only the matching tests (while working on some: the whole suite takes minutes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

const LAST = 'deactivation.test.js';

export function run(): Promise<void> {
  // generous: the 14.5k-token sample takes 1.5 to 2.5 min to analyse on this shared 2-core machine under load
  // SUITE_GREP (in the environment of the process that starts VS Code) runs only the tests whose names match it
  const mocha = new Mocha({ ui: 'tdd', timeout: 300_000, color: false, grep: process.env.SUITE_GREP || undefined });
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    // deactivation disposes the extension for good: it runs last
    .sort((a, b) => Number(a === LAST) - Number(b === LAST) || a.localeCompare(b));
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => {
        if (failures > 0) reject(new Error(`${failures} of the extension-host tests failed`));
        else resolve();
      });
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
