// `npm test`: every test, in one node:test run so there is one summary.
//   unit (plain Node: tokenizer, maths, model, model process) -> training pipeline smoke test (skips without torch)
//   -> webview in real Chromium -> a VSIX per platform and its file list -> end to end in real VS Code (code-server + Chromium).
// Installs what is missing first: npm dependencies here; Chromium and code-server inside their tests.
import { execSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDeps, ROOT } from './ensure-deps.mjs';

const KINDS = ['unit', 'pipeline', 'webview', 'package', 'e2e'];
const only = process.argv.slice(2); // e.g. `npm test -- unit webview`
const unknown = only.filter((k) => !KINDS.includes(k));
if (unknown.length) {
  // a misspelt kind would otherwise run nothing it names and still pass
  console.error(`npm test: unknown test kind ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the kinds are ${KINDS.join(', ')}`);
  process.exit(2);
}

ensureDeps();
const run = (cmd) => execSync(cmd, { cwd: ROOT, stdio: 'inherit' });
run('node scripts/build.mjs');
run('npx tsc --noEmit -p . && npx tsc --noEmit -p webview');
// lint and formatting (eslint.config.mjs, .prettierrc.json): a finding fails the run like a test does
run('npx eslint . && npx prettier --check .');

const want = (k) => only.length === 0 || only.includes(k);
const files = [];
if (want('unit'))
  files.push(
    ...readdirSync(join(ROOT, 'out/test/unit'))
      .filter((f) => f.endsWith('.test.js'))
      .sort()
      .map((f) => `out/test/unit/${f}`),
  );
if (want('pipeline')) files.push('test/pipeline/smoke.test.mjs');
if (want('webview')) {
  // the webview test renders real model output: regenerated from the shipped models on every run, so it can't drift
  run('node out/test/tools/makeWebviewFixture.js');
  files.push('test/webview/run.mjs');
}
// the VSIXes (packaging minifies out/; its test rebuilds the development bundles when done, so its place in the order
// node gives the files does not matter)
if (want('package')) files.push('test/package/package.test.mjs');
if (want('e2e')) files.push('test/e2e/run.mjs');

// one file at a time: the machine has 2 cores and the browser tests are heavy
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
