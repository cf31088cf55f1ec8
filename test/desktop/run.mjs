// `npm run test:desktop`: the extension-host mocha suite (out/test/suite/index.js) in desktop VS Code through
// @vscode/test-electron, which downloads VS Code into .vscode-test/ on first use. For machines with internet (a
// developer's desktop, public CI); offline (as on this project's build machine) the download fails and this says so:
// there, `npm run test:e2e` runs the same suite in code-server.
//   VSCODE_VERSION=1.100.3 npm run test:desktop     (default: stable)
// On a Linux machine without a display, run it under xvfb-run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { ROOT } from '../../scripts/ensure-deps.mjs';

const extensionTestsPath = join(ROOT, 'out', 'test', 'suite', 'index.js');
const sample = join(ROOT, 'media', 'sample');
if (!existsSync(extensionTestsPath)) {
  console.error(`${extensionTestsPath} is missing: run \`node scripts/build.mjs\` first (npm run test:desktop does).`);
  process.exit(1);
}

try {
  const code = await runTests({
    version: process.env.VSCODE_VERSION || 'stable',
    extensionDevelopmentPath: ROOT,
    extensionTestsPath,
    launchArgs: [sample, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  process.exit(code);
} catch (e) {
  const msg = String(e?.stack ?? e);
  if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo|download|update\.code\.visualstudio\.com|Failed to get/i.test(msg)) {
    console.error(
      '\nCould not download VS Code (@vscode/test-electron needs update.code.visualstudio.com).\n' +
        'This test is for machines with internet. Without it, run the same suite in code-server instead:\n' +
        '  npm run test:e2e\n\n' +
        `Cause: ${String(e?.message ?? e).split('\n')[0]}`,
    );
  } else {
    console.error('The desktop VS Code test run failed:', msg);
  }
  process.exit(1);
}
