// `npm start`: build, then open VS Code with the extension loaded from this folder (no VSIX) on the long sample.
//   - desktop VS Code when `code` is on PATH: code --extensionDevelopmentPath=<repo> <repo>/media/sample <sample file>
//   - otherwise code-server (installed on demand into .vscode-test/): serves VS Code on http://127.0.0.1:<port>
//     with the extension loaded through the workbench URL's `payload` (extensionDevelopmentPath); open the printed
//     URL in a browser. Runs until Ctrl+C, then stops code-server's whole process group.
//
// Options: --port N (or $PORT; default 8080 or the next free one), --code-server (even if `code` is on PATH),
// --no-open (do not try to open a browser), --print-url (print only the URL line on stdout, for scripts),
// --no-build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDeps, ROOT } from './ensure-deps.mjs';
import { freePort, startCodeServer, workbenchUrl } from './code-server.mjs';

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const printUrl = flag('--print-url');
// with --print-url stdout carries only the URL; everything else goes to stderr
const info = (...a) => (printUrl ? console.error(...a) : console.log(...a));

const SAMPLE_DIR = join(ROOT, 'media', 'sample');
const SAMPLE = join(SAMPLE_DIR, 'long_sample.py');
if (!existsSync(SAMPLE)) console.error(`warning: ${SAMPLE} is missing; VS Code opens ${SAMPLE_DIR} without it.`);

ensureDeps();
if (!flag('--no-build')) {
  info('Building (node scripts/build.mjs)...');
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', printUrl ? 2 : 'inherit', 'inherit'] });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (onPath('code') && !flag('--code-server')) {
  // Desktop VS Code: an Extension Development Host window on the sample folder, the long file open.
  const args = [`--extensionDevelopmentPath=${ROOT}`, SAMPLE_DIR, ...(existsSync(SAMPLE) ? [SAMPLE] : [])];
  info(`code ${args.join(' ')}`);
  const r = spawnSync('code', args, { stdio: 'inherit' });
  process.exit(r.status ?? 0);
}

const wanted = Number(opt('--port') ?? process.env.PORT ?? 0);
const port = wanted || (await freePort(8080));
info(`Starting code-server (VS Code in the browser) on 127.0.0.1:${port}...`);
const cs = await startCodeServer({ workspace: SAMPLE_DIR, port });
const url = workbenchUrl(cs.url, { folder: SAMPLE_DIR, extensionDevelopmentPath: ROOT });

if (printUrl) {
  console.log(url);
} else {
  const line = '-'.repeat(78);
  console.log(`\n${line}\nAttention Inspector is loaded from ${ROOT} (no VSIX).\nOpen this URL in a browser:\n\n  ${url}\n`);
  console.log(`Then open long_sample.py, put the cursor on a token and run "Attention: Inspect Attention" (F1).`);
  console.log(`Remote machine? Forward the port first, e.g.  ssh -L ${port}:127.0.0.1:${port} <host>`);
  console.log(`code-server log: ${cs.logFile}\nAfter rebuilding (npm run build), reload the browser window (F1 "Developer: Reload Window").`);
  console.log(`Ctrl+C stops it.\n${line}`);
}

if (!flag('--no-open') && !printUrl && process.env.DISPLAY) {
  // best effort: a desktop session with a browser
  for (const opener of ['xdg-open', 'sensible-browser']) {
    if (onPath(opener)) {
      spawn(opener, [url], { stdio: 'ignore', detached: true }).unref();
      break;
    }
  }
}

let done = false;
const shutdown = async (why) => {
  if (done) return;
  done = true;
  info(`\n${why}: stopping code-server...`);
  await cs.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('Ctrl+C'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));
cs.exited.then((code) => {
  if (done) return;
  console.error(`code-server exited (${code}); see ${cs.logFile}`);
  process.exit(1);
});
