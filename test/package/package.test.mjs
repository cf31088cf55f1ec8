// `npm test -- package`: builds every platform's VSIX (scripts/package.mjs) and reads each one's file list from the
// zip's central directory: its platform's onnxruntime binaries and no other's, no CUDA/TensorRT libraries a build
// machine downloaded, the bundles, the models and the helper graphs; sizes printed. Refused targets say why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { binariesOf, TARGETS } from '../../scripts/package.mjs';
import { ensureCodeServer, startCodeServer, workbenchUrl } from '../../scripts/code-server.mjs';
import { ensureChromium } from '../../scripts/tooling.mjs';
import { launchBrowser, Workbench } from '../e2e/workbench.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

/** Names of the entries of a zip file, from its central directory (end record at most 64 KB from the end). */
function zipEntries(file) {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, `${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names = [];
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    names.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
      size: buf.readUInt32LE(at + 24),
      method: buf.readUInt16LE(at + 10),
      compressed: buf.readUInt32LE(at + 20),
      offset: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

/** The text of one zip entry (stored or deflated). */
function zipText(file, entry) {
  const buf = readFileSync(file);
  const at = entry.offset;
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  const data = buf.subarray(start, start + entry.compressed);
  return (entry.method === 8 ? inflateRawSync(data) : data).toString('utf8');
}

describe('VSIX per platform', { timeout: 900_000 }, () => {
  before(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs')], { cwd: ROOT, stdio: 'inherit' });
  });
  after(() => {
    // the production build minified out/: rebuild the development one the other tests use
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  });

  for (const target of Object.keys(TARGETS)) {
    it(`${target}: its own binaries only, the bundles and the models`, () => {
      const file = join(ROOT, 'dist', `attention-inspector-${target}.vsix`);
      const entries = zipEntries(file);
      const names = new Set(entries.map((e) => e.name.replace(/^extension\//, '')));
      const vsixManifest = entries.find((e) => e.name === 'extension.vsixmanifest');
      assert.ok(vsixManifest, 'a VSIX manifest');
      assert.match(zipText(file, vsixManifest), new RegExp(`TargetPlatform="${target}"`), 'the VSIX manifest names its target platform');
      for (const f of [
        'package.json',
        'out/extension.js',
        'out/engine.js',
        'out/webview.js',
        'out/cli.js',
        'media/webview.css',
        'models/catalogue.json',
        'models/tokenizer.json',
        'models/rows.onnx',
        'models/stats.onnx',
        'models/whatif.onnx',
        'media/icon.png',
        'changelog.md', // vsce writes README.md and CHANGELOG.md lower-case
        'THIRD_PARTY_NOTICES.md',
        'readme.md',
      ]) {
        assert.ok(names.has(f), `${target} has ${f}`);
      }
      const catalogue = JSON.parse(readFileSync(join(ROOT, 'models', 'catalogue.json'), 'utf8')).models;
      for (const m of catalogue) {
        assert.ok(names.has(`models/${m}`), `${target} has the manifest ${m}`);
        assert.ok(names.has(`models/${m.replace(/\.json$/, '.onnx')}`), `${target} has the model of ${m}`);
      }
      const bins = [...names].filter((n) => n.startsWith('node_modules/onnxruntime-node/bin/'));
      assert.deepEqual(bins.sort(), binariesOf(target).sort(), `${target} ships exactly its own binaries`);
      assert.ok(!bins.some((b) => /cuda|tensorrt/i.test(b)), 'no CUDA or TensorRT libraries');
      assert.ok(![...names].some((n) => n.startsWith('test/') || n.startsWith('training/') || n.startsWith('src/')), 'no tests, training code or sources');
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
      const pictures = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\((media\/[^)\s]+)\)/g)].map((m) => m[1]);
      assert.ok(pictures.length > 0, 'the README opens with a picture of the extension');
      for (const f of [pkg.icon, ...pictures]) assert.ok(names.has(f), `${target} has ${f} (the icon or a README picture)`);
      const mb = statSync(file).size / 2 ** 20;
      console.log(`${target}: ${mb.toFixed(1)} MB, ${entries.length} files, binaries ${bins.map((b) => b.split('/').pop()).join(', ')}`);
    });
  }

  it('the linux-x64 VSIX, installed into code-server, inspects the sample file (no development checkout involved)', { timeout: 420_000 }, async (t) => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip('code-server runs here only on linux-x64');
    ensureChromium();
    const entry = ensureCodeServer();
    const tmp = mkdtempSync(join(tmpdir(), 'ai-vsix-'));
    const home = join(tmp, 'home');
    const extensions = join(tmp, 'ext');
    const workspace = join(tmp, 'workspace');
    mkdirSync(home, { recursive: true });
    cpSync(join(ROOT, 'media', 'sample'), workspace, { recursive: true });
    const vsix = join(ROOT, 'dist', 'attention-inspector-linux-x64.vsix');
    execFileSync(process.execPath, [entry, '--install-extension', vsix, '--extensions-dir', extensions], {
      env: { ...process.env, HOME: home },
      stdio: 'inherit',
    });
    const installed = readdirSync(extensions).filter((d) => d.startsWith('attention-inspector.'));
    assert.equal(installed.length, 1, `the extension is installed (${readdirSync(extensions).join(', ')})`);
    const cs = await startCodeServer({ workspace, extensionsDir: extensions, env: { HOME: home } });
    const context = await launchBrowser({ profileDir: join(tmp, 'profile'), home });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const wb = new Workbench(page, { shotsDir: join(ROOT, 'test-results', 'vsix'), log: (...a) => console.log('[vsix]', ...a) });
      await page.goto(workbenchUrl(cs.url, { folder: workspace }));
      await wb.ready('long_sample.py');
      await wb.openFromExplorer('long_sample.py');
      await wb.focusEditor('long_sample.py');
      await wb.gotoLine(300);
      await wb.command('Attention: Inspect Attention');
      await wb.webview().locator('#tokens span.tok.selected').first().waitFor({ timeout: 180_000 });
      const status = await wb.waitFor(
        'the shipped model on the CPU in the status bar',
        async () => {
          const items = await wb.statusBarItems();
          return { ok: items.some((i) => i.includes('SSMax-trained') && /CPU/.test(i)), items };
        },
        120_000,
        500,
      );
      console.log(`[vsix] status bar: ${JSON.stringify(status.items.filter((i) => /CPU/.test(i)))}`);
      await wb.shot('vsix-inspected');
    } finally {
      await context.close().catch(() => undefined);
      await cs.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a target without onnxruntime binaries is refused with the reason', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), 'darwin-x64'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no VSIX for darwin-x64: onnxruntime-node 1\.30 ships native binaries only for linux-x64/);
  });
});
