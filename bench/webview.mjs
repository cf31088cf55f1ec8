// `npm run bench:webview`: the panel's speed on long documents in real Chromium, next to a baseline that renders every
// token into the DOM (what the panel did before its token view was virtualised), in one run. For n tokens (the real
// test fixture tiled, with its real attention row tiled the same way): time to show the document, token spans in
// the DOM, time to apply an attention row for the selected token, and a click on a token (the selection repaint),
// median / p95 over repeated runs. Prints a markdown table with the machine and date; writes bench/results/.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../scripts/tooling.mjs';
import { loadFixture, tiledDocument } from '../test/webview/fixture.mjs';
import { serveWebview } from '../test/webview/serve.mjs';

const SIZES = (process.argv.find((a) => a.startsWith('--sizes='))?.slice(8) ?? '1024,4096,16384,32768').split(',').map(Number);
const REPEAT = 21;
const root = fileURLToPath(new URL('../', import.meta.url));

/** In the page: our webview gets the document and rows as the host would post them. */
async function measureOurs(page, document, row) {
  await page.evaluate(
    (m) => {
      window.__doc = m.document;
      window.__row = m.row;
    },
    { document, row },
  );
  return page.evaluate(async (repeat) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
    let t = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data: window.__doc }));
    const shownMs = performance.now() - t;
    await frame();
    const view = document.getElementById('tokens');
    view.scrollTop = view.scrollHeight; // the last token's lines, where the row's query is
    await frame();
    await frame();
    const rowMs = [];
    const clickMs = [];
    for (let i = 0; i < repeat; i++) {
      t = performance.now();
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'attention', attention: window.__row } }));
      rowMs.push(performance.now() - t);
      await frame();
      const spans = view.querySelectorAll('span.tok[data-pos]');
      const target = spans[Math.floor((spans.length * (i + 1)) / (repeat + 2))];
      t = performance.now();
      target.click();
      clickMs.push(performance.now() - t);
      await frame();
    }
    return { shownMs, spans: view.querySelectorAll('span.tok').length, rowMs, clickMs };
  }, REPEAT);
}

/** In a blank page: every token a span (the non-virtualised design), a row recolours every span, as a click would. */
async function measureBaseline(page, document, row) {
  return page.evaluate(
    async ({ tokens, softmax, repeat }) => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      const root = document.createElement('pre');
      document.body.append(root);
      let t = performance.now();
      const spans = tokens.map((tok) => {
        const s = document.createElement('span');
        s.textContent = tok.text;
        return s;
      });
      root.append(...spans);
      root.getBoundingClientRect(); // layout, as showing it would
      const shownMs = performance.now() - t;
      await frame();
      const rowMs = [];
      for (let i = 0; i < repeat; i++) {
        t = performance.now();
        const max = Math.max(...softmax.slice(0, 100000));
        for (let j = 0; j < spans.length; j++) spans[j].style.backgroundColor = `rgba(209, 134, 22, ${Math.sqrt((softmax[j] ?? 0) / max).toFixed(3)})`;
        root.getBoundingClientRect();
        rowMs.push(performance.now() - t);
        await frame();
      }
      return { shownMs, spans: spans.length, rowMs, clickMs: rowMs };
    },
    { tokens: document.doc.tokens, softmax: row.softmax, repeat: REPEAT },
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

const { origin, server, buildDir } = await serveWebview();
const browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
const fixture = loadFixture();
const chromiumVersion = browser.version();
const cpu = os.cpus()[0]?.model.trim() ?? '?';
const date = new Date().toISOString().slice(0, 10);
const lines = [];
const w = (s = '') => {
  lines.push(s);
  console.log(s);
};
w(`# Webview benchmark: ${date}`);
w();
w(
  `Machine: ${os.type()} ${os.arch()}, ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Chromium ${chromiumVersion} (headless), viewport 1200×800. Document: the Chromium test fixture (the real model's output for 1,500 tokens of media/sample/long_sample.py) tiled to n tokens, with its real last-token attention row tiled the same way. ${REPEAT} repeats; median / p95.`,
);
w();
w(
  '| n | ours: document shown | ours: token spans in the DOM | ours: attention row applied | ours: click (selection repaint) | baseline (every token a span): document shown | baseline: spans | baseline: row / selection repaint | repaint ratio |',
);
w('|---|---|---|---|---|---|---|---|---|');
const results = [];
for (const n of SIZES) {
  const { document, row } = tiledDocument(fixture, n);
  const fmt = (xs) => `${median(xs).toFixed(1)} / ${p95(xs).toFixed(1)} ms`;
  let context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  let page = await context.newPage();
  await page.addInitScript(() => {
    window.acquireVsCodeApi = () => ({ postMessage: () => undefined, getState: () => undefined, setState: (s) => s });
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => !!document.getElementById('tokens'));
  const ours = await measureOurs(page, document, row);
  await context.close();
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  await page.setContent('<!doctype html><body style="font: 14px monospace"></body>');
  const base = await measureBaseline(page, document, row);
  await context.close();
  results.push({ n: document.doc.tokens.length, ours, baseline: base });
  w(
    `| ${document.doc.tokens.length} | ${ours.shownMs.toFixed(0)} ms | ${ours.spans} | ${fmt(ours.rowMs)} | ${fmt(ours.clickMs)} | ${base.shownMs.toFixed(0)} ms | ${base.spans} | ${fmt(base.rowMs)} | ${(median(base.rowMs) / median(ours.clickMs)).toFixed(1)}× |`,
  );
}
w();
w(
  '"click": a click on a token in view, which makes it the query and recolours the rendered lines synchronously (the host\'s row for it follows as "attention row applied"). "repaint ratio" = baseline repaint ÷ our click, medians. One frame at 60 Hz is 16.7 ms.',
);
await browser.close();
server.close();
rmSync(buildDir, { recursive: true, force: true });
const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${date}-${os.hostname().slice(0, 12)}-webview.md`);
writeFileSync(file, lines.join('\n') + '\n');
writeFileSync(file.replace(/\.md$/, '.json'), JSON.stringify({ date, chromium: chromiumVersion, results }, null, 1));
console.log(`\nwritten to ${file}`);
