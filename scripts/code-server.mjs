// Real VS Code for tests and `npm start` on machines without desktop VS Code: code-server 4.100.3 (VS Code 1.100.3,
// the newest whose engines.node accepts node 20; its extension host is a real Node one, so onnxruntime-node loads),
// installed on demand into .vscode-test/code-server-<version>/ the way @vscode/test-electron keeps VS Code there,
// never with every `npm install`. See shared/notes/vscode-e2e.md.
//
//   ensureCodeServer()                          -> path of code-server's entry.js (run it with `node`); idempotent
//   startCodeServer({ workspace, port?, ... })  -> { url, port, dir, child, stop() }
//   workbenchUrl(base, { folder, payload })     -> the workbench URL with ?folder= and &payload=
//   devPayload(base, { extensionPath, testsPath }) -> payload entries extensionDevelopmentPath / extensionTestsPath
//
// `node scripts/code-server.mjs` installs it (or says where it is).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall } from './tooling.mjs';
import { ROOT } from './ensure-deps.mjs';

export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_DIR = process.env.CODE_SERVER_DIR || join(ROOT, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`);
const ENTRY = join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const MARKER = join(CODE_SERVER_DIR, '.installed');
const LOG = join(CODE_SERVER_DIR, 'install.log');

// @vscode/ripgrep's postinstall downloads rg from GitHub unless it finds the tarball in its cache in os.tmpdir():
// we put Debian's rg there. Versions as pinned by code-server 4.100.3's VS Code.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TAG = 'v13.0.0-10';
const RIPGREP_TRIPLE = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch] ?? `${process.arch}-unknown-linux-musl`;

// Native pieces code-server needs at run time (relative to <cache>/node_modules; argon2 is hoisted there). One missing
// means an install script did not run (npm's install-script policy, or a failed build).
const VS = 'code-server/lib/vscode/node_modules';
const NATIVE_CHECKS = [
  'argon2/lib/binding',
  `${VS}/node-pty/build/Release/pty.node`,
  `${VS}/kerberos/build/Release/kerberos.node`,
  `${VS}/@vscode/spdlog/build/Release/spdlog.node`,
  `${VS}/native-watchdog/build/Release/watchdog.node`,
  `${VS}/@vscode/ripgrep/bin/rg`,
];

const say = (...a) => console.log('[code-server]', ...a);
const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function missingNatives() {
  return NATIVE_CHECKS.filter((rel) => {
    const p = join(CODE_SERVER_DIR, 'node_modules', rel);
    if (!existsSync(p)) return true;
    if (rel.endsWith('/lib/binding')) return !readdirSync(p, { recursive: true }).some((f) => String(f).endsWith('.node'));
    return false;
  });
}

/** Debian packages the offline install needs: gssapi headers (kerberos builds from source), rg, a compiler. */
function ensureSystemPackages() {
  const need = [];
  if (!existsSync('/usr/include/gssapi/gssapi.h') && !onPath('krb5-config')) need.push('libkrb5-dev');
  if (!onPath('rg')) need.push('ripgrep');
  if (!onPath('make') || !onPath('g++')) need.push('build-essential');
  if (!onPath('python3')) need.push('python3');
  if (need.length) {
    say(`installing system packages: ${need.join(' ')}`);
    aptInstall(need);
  }
}

function seedRipgrepCache() {
  const dir = join(os.tmpdir(), RIPGREP_CACHE);
  const tarball = join(dir, `ripgrep-${RIPGREP_TAG}-${RIPGREP_TRIPLE}.tar.gz`);
  if (existsSync(tarball)) return;
  const rg = execFileSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).trim();
  const stage = mkdtempSync(join(os.tmpdir(), 'rg-stage-'));
  copyFileSync(rg, join(stage, 'rg'));
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['czf', tarball, '-C', stage, 'rg']);
  rmSync(stage, { recursive: true, force: true });
}

/**
 * Installs code-server@CODE_SERVER_VERSION into CODE_SERVER_DIR unless that was done before (marker file written only
 * after the native modules are checked). Returns the path of its entry.js: `node <entry> ...` is `code-server ...`.
 */
export function ensureCodeServer() {
  if (existsSync(MARKER) && existsSync(ENTRY)) return ENTRY;
  if (process.platform !== 'linux') {
    throw new Error(
      'The on-demand code-server install is written for Linux; elsewhere use desktop VS Code (`npm run test:desktop`, or `code` on PATH for `npm start`).',
    );
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20)
    throw new Error(`code-server ${CODE_SERVER_VERSION} needs node 20 (its postinstall refuses others); this is node ${process.versions.node}.`);
  ensureSystemPackages();
  seedRipgrepCache();
  rmSync(CODE_SERVER_DIR, { recursive: true, force: true });
  mkdirSync(CODE_SERVER_DIR, { recursive: true });
  // a package.json of its own, so npm treats the cache folder as the project, not the repository around it
  writeFileSync(join(CODE_SERVER_DIR, 'package.json'), JSON.stringify({ name: 'vscode-test-code-server', private: true }, null, 2));
  say(`installing code-server ${CODE_SERVER_VERSION} into ${CODE_SERVER_DIR} (once; 1-3 min; log: ${LOG})`);
  const env = {
    ...process.env,
    npm_config_yes: 'true', // node-pty's install runs `npx node-gyp`: no prompt
    // code-server's postinstall runs a nested `npm install` in lib/vscode whose native modules (node-pty, kerberos,
    // spdlog, watchdog, ...) must build. npm 11's install-script policy (allowScripts) only warns by default but fails
    // with strict-allow-scripts in a user's npmrc: this cache install of one pinned tool needs all of its scripts.
    npm_config_ignore_scripts: 'false',
    npm_config_strict_allow_scripts: 'false',
    npm_config_dangerously_allow_all_scripts: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  // As root, code-server's postinstall.sh refuses to run unless npm_config_unsafe_perm=true (npm 7+ no longer knows
  // the option and warns "Unknown env config", harmlessly).
  if (process.getuid?.() === 0) env.npm_config_unsafe_perm = 'true';
  const t0 = Date.now();
  const fd = openSync(LOG, 'w');
  const r = spawnSync('npm', ['install', '--prefix', CODE_SERVER_DIR, '--no-save', '--foreground-scripts', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: CODE_SERVER_DIR,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const tail = () => readFileSync(LOG, 'utf8').split('\n').slice(-40).join('\n');
  if (r.status !== 0) throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${r.status}); last lines of ${LOG}:\n${tail()}`);
  const missing = missingNatives();
  if (missing.length)
    throw new Error(`code-server installed, but these native parts were not built (install scripts skipped?): ${missing.join(', ')}; see ${LOG}`);
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  writeFileSync(MARKER, `${new Date().toISOString()} code-server ${CODE_SERVER_VERSION}, installed in ${secs} s\n`);
  say(`installed in ${secs} s`);
  return ENTRY;
}

/** `preferred` if it is free on 127.0.0.1, else the next free one (50 tried); with no preference, any free port. */
export async function freePort(preferred = 0, host = '127.0.0.1') {
  const tryPort = (port) =>
    new Promise((res) => {
      const srv = createServer();
      srv.once('error', () => res(undefined));
      srv.listen(port, host, () => {
        const p = srv.address().port;
        srv.close(() => res(p));
      });
    });
  if (preferred) for (let p = preferred; p < preferred + 50; p++) if (await tryPort(p)) return p;
  const any = await tryPort(0);
  if (!any) throw new Error('no free port');
  return any;
}

/** User settings: no Welcome page over the editor, quick hovers, no updates, telemetry, trust prompts or AI chat. */
export const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'editor.hover.delay': 150,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'chat.disableAIFeatures': true,
  'git.openRepositoryInParentFolders': 'never',
  'update.mode': 'none',
};

/**
 * Starts code-server in its own process group (setsid) with isolated XDG, user-data and extensions folders in a new
 * temp folder, and waits for /healthz. stop() kills the whole group (killing only the main pid would leave the
 * extension host behind) and removes the temp folder (KEEP_CODE_SERVER_DATA=1 keeps it).
 *
 * workspace (or folder): the folder opened by default; port: that one exactly (else $PORT-free-from-8080 logic is the
 * caller's: default is any free port); host: default 127.0.0.1; extensionsDir; env: added to code-server's environment
 * (the extension host inherits it; the payload's extensionEnvironment is ignored); settings: merged over
 * DEFAULT_SETTINGS; inherit/log: code-server's output to this terminal instead of <dir>/code-server.log; trust: keep
 * workspace trust on (no --disable-workspace-trust), so that a folder not trusted opens in restricted mode.
 */
export async function startCodeServer({
  workspace,
  folder,
  port,
  host = '127.0.0.1',
  extensionsDir,
  env = {},
  settings = {},
  inherit,
  log,
  trust = false,
} = {}) {
  const entry = ensureCodeServer();
  const open = workspace ?? folder;
  const dir = mkdtempSync(join(os.tmpdir(), 'ai-code-server-'));
  for (const d of ['xdg/config', 'xdg/data', 'xdg/cache', 'ud/User', 'ext', 'home']) mkdirSync(join(dir, d), { recursive: true });
  const p = port ?? (await freePort(0, host));
  writeFileSync(join(dir, 'cs-config.yaml'), `bind-addr: ${host}:${p}\nauth: none\ncert: false\n`);
  writeFileSync(join(dir, 'ud', 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
  const args = [
    entry,
    '--bind-addr',
    `${host}:${p}`,
    '--auth',
    'none',
    '--config',
    join(dir, 'cs-config.yaml'),
    '--user-data-dir',
    join(dir, 'ud'),
    '--extensions-dir',
    extensionsDir ?? join(dir, 'ext'),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
  ];
  if (!trust) args.push('--disable-workspace-trust');
  if (open) args.push(resolve(open));
  const toTerminal = inherit ?? log ?? false;
  const logFile = join(dir, 'code-server.log');
  const fd = toTerminal ? undefined : openSync(logFile, 'a');
  const child = spawn(process.execPath, args, {
    detached: true, // setsid: its own process group
    stdio: toTerminal ? 'inherit' : ['ignore', fd, fd],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, 'xdg/config'),
      XDG_DATA_HOME: join(dir, 'xdg/data'),
      XDG_CACHE_HOME: join(dir, 'xdg/cache'),
      ...env,
    },
  });
  if (fd !== undefined) closeSync(fd);
  const exited = new Promise((res) => child.once('exit', (code, signal) => res(code ?? signal)));
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      const kill = (sig) => {
        try {
          process.kill(-child.pid, sig);
          return true;
        } catch {
          return false; // group gone
        }
      };
      kill('SIGTERM');
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline && kill(0)) await new Promise((r) => setTimeout(r, 100));
      kill('SIGKILL'); // whatever is left of the group: extension host, pty host, file watcher
      if (process.env.KEEP_CODE_SERVER_DATA !== '1') rmSync(dir, { recursive: true, force: true });
    })());
  const logTail = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '');
  const url = `http://${host}:${p}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logTail();
      await stop();
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before it answered:\n${tail}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(`code-server did not answer ${url}/healthz within 60 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port: p, host, dir, home: join(dir, 'home'), logFile: toTerminal ? undefined : logFile, child, exited, stop, logTail };
}

/** vscode-remote URI of an absolute path on code-server's machine, as the web workbench served from `base` sees it. */
export function remoteUri(base, absPath) {
  return `vscode-remote://${new URL(base).host}${encodeURI(resolve(absPath))}`;
}

/**
 * Payload entries that load an extension from source (code-server rejects --extensionDevelopmentPath) and, with
 * testsPath, run its test module in the extension host (the exit code comes back through window.codeAutomationExit).
 */
export function devPayload(base, { extensionPath, testsPath } = {}) {
  const payload = [];
  if (extensionPath) payload.push(['extensionDevelopmentPath', remoteUri(base, extensionPath)]);
  if (testsPath) payload.push(['extensionTestsPath', remoteUri(base, testsPath)]);
  return payload;
}

/**
 * The workbench URL opening `folder` (absolute path) with the `payload` parameter (array of [key, value]). Also takes
 * extensionDevelopmentPath / extensionTestsPath (absolute paths) and builds the payload from them.
 */
export function workbenchUrl(base, { folder, payload = [], extensionDevelopmentPath, extensionTestsPath } = {}) {
  const all = [...payload, ...devPayload(base, { extensionPath: extensionDevelopmentPath, testsPath: extensionTestsPath })];
  const q = new URLSearchParams();
  if (folder) q.set('folder', resolve(folder));
  if (all.length) q.set('payload', JSON.stringify(all));
  return `${base.replace(/\/$/, '')}/?${q.toString()}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(ensureCodeServer());
}
