/**
 * The mocha runner that VS Code loads as `extensionTestsPath` (out/test/suite/index.js): it runs in the real
 * extension host with the real `vscode` API, in desktop VS Code (@vscode/test-electron, `npm run test:desktop`) or
 * in code-server (test/e2e/run.mjs, through the workbench URL's payload). Resolves when every test passed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', timeout: 120_000, color: false });
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
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
