// The webview in real Chromium, under its real CSP: the HTML comes from src/webviewHtml.ts, served with the
// bundled webview/main.ts and media/webview.css over http://127.0.0.1:<random port>, and a stand-in host
// (standInHost.mjs) answers the webview's messages from the fixture (fixture.mjs). Both sources are bundled
// here with esbuild's API so this test depends only on the webview's own files.
// Run: npm run test:webview (or: node test/webview/run.mjs). Screenshots: test-results/webview/*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/tooling.mjs';
import { documentMessage, documentText, loadFixture, tiledDocument } from './fixture.mjs';
import { serveWebview } from './serve.mjs';
import { StandInHost } from './standInHost.mjs';
import { THEMES, applyThemeInPage } from './themes.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results', 'webview');
mkdirSync(shots, { recursive: true });

// ---- build and serve --------------------------------------------------------------------------------------

const { origin, server, buildDir } = await serveWebview();

// ---- page helpers -----------------------------------------------------------------------------------------

const fixture = loadFixture();
const doc = fixture.document.doc;

/** Alpha of the first colour in a computed CSS colour or box-shadow ('none' and 'transparent' are 0). */
function alphaOf(css) {
  if (!css || css === 'none' || css === 'transparent') return 0;
  const m = /(rgba?|color)\(([^)]*)\)/.exec(css);
  if (!m) return 0;
  const body = m[2];
  if (m[1] === 'color') {
    const slash = body.split('/');
    return slash.length > 1 ? Number(slash[1].trim()) : 1;
  }
  const parts = body.split(',').map((s) => s.trim());
  return parts.length === 4 ? Number(parts[3]) : 1;
}

/**
 * Computed styles of tokens from..to (inclusive), indexed by position; null for a token whose line is not rendered
 * (the view is virtualised: only the lines in view and a margin exist).
 */
async function tokenStyles(page, from, to) {
  return page.evaluate(
    ([a, b]) => {
      const out = [];
      for (let i = a; i <= b; i++) {
        const span = document.querySelector(`#tokens span.tok[data-pos="${i}"]`);
        if (!span) {
          out.push(null);
          continue;
        }
        const s = getComputedStyle(span);
        out.push({ bg: s.backgroundColor, shadow: s.boxShadow, cls: span.className, wOwn: span.style.getPropertyValue('--w-own') });
      }
      return out;
    },
    [from, to],
  );
}

/** The document's lines as the token view shows them (newlines are row breaks, a CR before one is not shown). */
function documentLines(docMessage) {
  return documentText(docMessage)
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
}

/** Scrolls the (virtualised) token view so the line of token `position` is in the middle, and waits for its span. */
async function scrollToToken(page, position, docMessage = fixture.document) {
  const line = docMessage.doc.tokens[position].line;
  await page.evaluate((l) => {
    const view = document.getElementById('tokens');
    const lineHeight = view.querySelector('.tok-line')?.getBoundingClientRect().height || 21;
    view.scrollTop = Math.max(0, l * lineHeight - view.clientHeight / 2);
  }, line);
  await page.waitForFunction((p) => !!document.querySelector(`#tokens span.tok[data-pos="${p}"]`), position);
}

let browser;

async function openPanel({ theme = 'dark', width = 1200, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const host = new StandInHost(page, fixture);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await host.install();
  await page.goto(`${origin}/`);
  await page.evaluate(applyThemeInPage, THEMES[theme]);
  await page.waitForFunction(() => document.querySelectorAll('#tokens span.tok').length > 0);
  return { context, page, host, errors };
}

async function clickToken(page, host, position) {
  await scrollToToken(page, position, host.documentMessage);
  const from = host.received.length;
  await page.locator(`#tokens span.tok[data-pos="${position}"]`).click();
  const msg = await host.waitFor((m) => m.type === 'selectToken', from);
  await page.waitForFunction(
    (p) =>
      document.querySelector(`#tokens span.tok[data-pos="${p}"]`)?.classList.contains('selected') &&
      document.querySelector('[data-stat="n"]')?.textContent === String(p + 1),
    position,
  );
  return msg;
}

/** A query position with enough keys for the ordering checks, from the positions the fixture covers. */
function pickQuery(host, minKeys = 40) {
  const positions = host.positions().filter((p) => p >= minKeys && doc.tokens[p].text.trim());
  return positions[Math.floor(positions.length / 3)] ?? host.positions().at(-1);
}

/** Opens a tab of the views area by clicking it. */
async function openTab(page, view) {
  await page.locator(`#tab-${view}`).click();
  await page.waitForFunction(
    (v) => document.getElementById(`tab-${v}`).getAttribute('aria-selected') === 'true' && !document.getElementById(`panel-${v}`).hidden,
    view,
  );
}

function sameHeadChoice(a, b) {
  return a.layer === b.layer && a.head === b.head;
}

/** RFC 4180 CSV (quoted fields, CRLF) into rows of strings. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

// ---- tests ------------------------------------------------------------------------------------------------

describe(`webview in Chromium (fixture: ${fixture.source}, ${doc.tokens.length} tokens)`, () => {
  let panel;

  before(async () => {
    browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
    panel = await openPanel();
  });

  after(async () => {
    await browser?.close();
    server.close();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('acquires the VS Code API once and posts ready', async () => {
    const { page, host } = panel;
    await host.waitFor((m) => m.type === 'ready');
    assert.equal(host.received.filter((m) => m.type === 'ready').length, 1);
    assert.equal(await page.evaluate(() => window.__acquireCount()), 1);
  });

  it('renders the document as lines of tokens, in order, as text, only the lines in view', async () => {
    const { page } = panel;
    const rendered = await page.evaluate(() => {
      const lines = [...document.querySelectorAll('#tokens .tok-line')].map((l) => ({
        line: Number(l.dataset.line),
        text: l.textContent,
        top: l.getBoundingClientRect().top,
        positions: [...l.querySelectorAll('span.tok')].map((s) => Number(s.dataset.pos)),
        foreign: l.querySelectorAll(':scope > :not(span.tok, span.tok-cont)').length,
      }));
      return { lines, spans: document.querySelectorAll('#tokens span.tok').length, whiteSpace: getComputedStyle(document.getElementById('tokens')).whiteSpace };
    });
    const expected = documentLines(fixture.document);
    assert.ok(rendered.lines.length > 10, 'some lines are rendered');
    assert.ok(rendered.lines.length < expected.length, `only the lines in view and a margin (${rendered.lines.length} of ${expected.length})`);
    const all = rendered.lines.sort((a, b) => a.line - b.line);
    for (const l of all) {
      assert.equal(l.text, expected[l.line], `line ${l.line + 1} shows the document's text`);
      assert.equal(l.foreign, 0, 'nothing but token spans in a line');
    }
    // Tokens appear once each, in document order, and lines stack downwards.
    const positions = all.flatMap((l) => l.positions);
    for (let k = 1; k < positions.length; k++) assert.equal(positions[k], positions[k - 1] + 1, 'consecutive tokens');
    assert.equal(positions[0], 0);
    for (let k = 1; k < all.length; k++) assert.ok(all[k].top > all[k - 1].top, `line ${all[k].line + 1} renders below line ${all[k - 1].line + 1}`);
    for (const p of positions.slice(0, 200)) {
      assert.equal(doc.tokens[p].line, all.find((l) => l.positions.includes(p)).line, `token ${p} on its line`);
    }
    assert.equal(rendered.whiteSpace, 'pre');
  });

  it('selects a clicked token and colours earlier tokens by their softmax weights (the background channel)', async () => {
    const { page, host } = panel;
    const q = pickQuery(host);
    const msg = await clickToken(page, host, q);
    assert.deepEqual(msg, { type: 'selectToken', position: q });
    const a = host.attentionFor(q);
    const own = a.softmax;
    const styles = await tokenStyles(page, 0, Math.min(q + 5, doc.tokens.length - 1));
    assert.ok(styles[q].cls.split(' ').includes('selected'));
    for (let i = q + 1; i < styles.length; i++) if (styles[i]) assert.ok(styles[i].cls.split(' ').includes('future'), `token ${i} after the query is dimmed`);
    // Virtualised: only rendered keys can be checked; the query's neighbourhood (and so most keys here) is rendered.
    const renderedKeys = own.map((_, i) => i).filter((i) => styles[i]);
    assert.ok(renderedKeys.length > q / 2, `most keys are rendered (${renderedKeys.length} of ${q + 1})`);
    const alphas = styles.slice(0, q + 1).map((s) => (s ? alphaOf(s.bg) : undefined));
    const max = Math.max(...own);
    for (const i of renderedKeys) if (own[i] > max * 1e-6) assert.ok(alphas[i] > 0, `token ${i} (weight ${own[i]}) is coloured`);
    // Intensity is monotonic in weight (allowing for colour rounding), and the top-1 key is the most intense.
    const order = renderedKeys.map((i) => [own[i], i]).sort((x, y) => x[0] - y[0]);
    for (let k = 1; k < order.length; k++) assert.ok(alphas[order[k][1]] >= alphas[order[k - 1][1]] - 0.01, `alpha ordered by weight at ${order[k][1]}`);
    const top1 = order.at(-1)[1];
    assert.equal(a.top[0].position, top1);
    assert.equal(Math.max(...renderedKeys.map((i) => alphas[i])), alphas[top1]);
    assert.ok(alphas[top1] > 0.5);
  });

  it("shows the payload's numbers in #stats", async () => {
    const { page, host } = panel;
    const a = host.attentionFor(host.selection);
    const stats = await page.evaluate(() =>
      Object.fromEntries([...document.querySelectorAll('#stats [data-stat]')].map((e) => [e.dataset.stat, { text: e.textContent, value: e.dataset.value }])),
    );
    assert.equal(stats.n.text, String(a.n));
    for (const norm of ['softmax', 'ssmax']) {
      const s = a.stats[norm];
      assert.equal(Number(stats[`${norm}-max`].value), s.maxWeight);
      assert.ok(Math.abs(Number(stats[`${norm}-max`].text) - s.maxWeight) <= s.maxWeight * 0.005, `${norm} max shown`);
      assert.equal(Number(stats[`${norm}-entropy`].value), s.entropy);
      assert.ok(Math.abs(Number(stats[`${norm}-entropy`].text) - s.entropy) < 0.0006, `${norm} entropy shown`);
      assert.ok(Math.abs(Number(stats[`${norm}-entropy-norm`].text) - s.normalisedEntropy) < 0.0006, `${norm} normalised entropy shown`);
    }
  });

  it('toggles the overlay: setOverlay, body.overlay-on and the second channel', async () => {
    const { page, host } = panel;
    const a = host.attentionFor(host.selection);
    const other = fixture.document.model.normaliser === 'ssmax' ? a.softmax : a.ssmax;
    const topOther = other.indexOf(Math.max(...other));
    const shadowAlpha = async () => alphaOf((await tokenStyles(page, topOther, topOther))[0].shadow);
    assert.ok(await page.evaluate(() => document.body.classList.contains('overlay-on')), 'starts on (host settings)');
    assert.ok((await shadowAlpha()) > 0.5, 'second channel drawn on the counterfactual top key');
    const label = (await page.locator('#overlay-toggle').textContent()).trim();
    assert.equal(label, 'SSMax overlay');

    let from = host.received.length;
    await page.locator('#overlay-toggle').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'setOverlay', from), { type: 'setOverlay', on: false });
    await page.waitForFunction(() => !document.body.classList.contains('overlay-on'));
    assert.equal(await shadowAlpha(), 0, 'second channel gone');
    await page.screenshot({ path: join(shots, 'overlay-off.png') });

    from = host.received.length;
    await page.locator('#overlay-toggle').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'setOverlay', from), { type: 'setOverlay', on: true });
    await page.waitForFunction(() => document.body.classList.contains('overlay-on'));
    assert.ok((await shadowAlpha()) > 0.5, 'second channel back');
  });

  it('moves the selection with Left/Right when the token view has focus', async () => {
    const { page, host } = panel;
    const q = host.selection;
    await page.locator('#tokens').focus();
    let from = host.received.length;
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectToken', from), { type: 'selectToken', position: q + 1 });
    await page.waitForFunction((p) => document.querySelector(`span.tok[data-pos="${p}"]`).classList.contains('selected'), q + 1);
    from = host.received.length;
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectToken', from), { type: 'selectToken', position: q });
    await page.waitForFunction(
      (p) => document.querySelector(`span.tok[data-pos="${p}"]`).classList.contains('selected') && document.querySelectorAll('span.tok.selected').length === 1,
      q,
    );
  });

  it('clears the colours of keys a shorter row no longer covers', async () => {
    const { page, host } = panel;
    const q = host.selection;
    const earlier = Math.max(1, Math.floor(q / 4));
    await clickToken(page, host, earlier);
    const styles = (await tokenStyles(page, earlier + 1, q)).filter(Boolean);
    assert.ok(styles.length > 0);
    for (const s of styles) {
      assert.equal(s.wOwn, '', 'no stale weight');
      assert.equal(alphaOf(s.bg), 0);
    }
    await clickToken(page, host, q);
  });

  it('lists the top-k keys; clicking a row posts revealToken and marks the token', async () => {
    const { page, host } = panel;
    const a = host.attentionFor(host.selection);
    const rows = await page.evaluate(() =>
      [...document.querySelectorAll('#topk li[data-pos]')].map((li) => ({
        pos: Number(li.dataset.pos),
        line: li.querySelector('.topk-line').textContent,
        softmax: Number(li.querySelector('.topk-softmax').dataset.value),
        ssmax: Number(li.querySelector('.topk-ssmax').dataset.value),
      })),
    );
    assert.deepEqual(
      rows.map((r) => r.pos),
      a.top.map((t) => t.position),
    );
    assert.deepEqual(
      rows.map((r) => r.line),
      a.top.map((t) => `L${t.line + 1}`),
    );
    assert.deepEqual(
      rows.map((r) => [r.softmax, r.ssmax]),
      a.top.map((t) => [t.softmax, t.ssmax]),
    );
    const target = a.top[2] ?? a.top[0];
    const from = host.received.length;
    await page.locator(`#topk li[data-pos="${target.position}"]`).click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'revealToken', from), { type: 'revealToken', position: target.position });
    assert.ok(await page.locator(`#topk li[data-pos="${target.position}"]`).evaluate((li) => li.classList.contains('active')));
    assert.ok(await page.locator(`#tokens span.tok[data-pos="${target.position}"]`).evaluate((s) => s.classList.contains('revealed')));
  });

  it('posts selectHead from the layer/head dropdown and follows the host settings', async () => {
    const { page, host, errors } = panel;
    const { layers, heads } = fixture.document.model;
    assert.equal(await page.locator('#head-select vscode-option').count(), layers * (heads + 1));
    // vscode-single-select draws its list in its shadow root (li[role=option]); Playwright's CSS and role
    // locators pierce open shadow roots, so the list is clicked as a user would.
    const combobox = page.getByRole('combobox', { name: 'Layer and head' });
    assert.equal(await combobox.count(), 1, 'the dropdown is a combobox named by its label');
    const from = host.received.length;
    await page.locator('#head-select').click();
    const listbox = page.locator('#head-select [role="listbox"]');
    await listbox.waitFor({ state: 'visible' });
    assert.equal(await listbox.locator('[role="option"]').count(), layers * (heads + 1), 'every option in the list');
    // The list opens scrolled to the selected head (the last layer's mean): the wheel brings the top into view, as
    // a user would (a click's own scroll-into-view is native scrolling, which the element does not track, so the
    // list would reopen at the top rather than at the selection).
    await listbox.hover();
    await page.mouse.wheel(0, -1000);
    await listbox.getByRole('option', { name: 'Layer 0 · H1', exact: true }).click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectHead', from), { type: 'selectHead', head: { layer: 0, head: 1 } });
    const expected = host.attentionFor(host.selection, { layer: 0, head: 1 });
    await page.waitForFunction((v) => document.querySelector('[data-stat="softmax-max"]').dataset.value === String(v), expected.stats.softmax.maxWeight);
    // The host changes the head itself (e.g. the Select Layer/Head command): the dropdown follows, silently.
    const before = host.received.length;
    await host.post({ type: 'settings', overlay: true, head: { layer: layers - 1, head: 'mean' }, comparison: false });
    await page.waitForFunction((v) => document.querySelector('#head-select').value === v, `${layers - 1}:mean`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(host.received.slice(before).filter((m) => m.type === 'selectHead').length, 0, 'no echo');
    host.head = { layer: layers - 1, head: 'mean' };
    // As the real host does after a head change: the row for the new head (the real fixture row again).
    await host.post({ type: 'attention', attention: host.attentionFor(host.selection) });
    await page.waitForFunction(
      (v) => document.querySelector('[data-stat="softmax-max"]').dataset.value === String(v),
      host.attentionFor(host.selection).stats.softmax.maxWeight,
    );
    assert.deepEqual(errors, []);
  });

  it('shows host messages in #message (status, alert for errors) and progress while analysing', async () => {
    const { page, host } = panel;
    await host.post({ type: 'message', level: 'info', text: 'Model loaded on CPU' });
    await page.waitForFunction(() => !document.getElementById('message').hidden);
    assert.equal(await page.locator('#message').getAttribute('role'), 'status');
    assert.equal(await page.locator('#message .message-text').textContent(), 'Model loaded on CPU');
    await host.post({ type: 'message', level: 'error', text: 'CUDA unavailable: <b>falling back</b>' });
    await page.waitForFunction(() => document.getElementById('message').getAttribute('role') === 'alert');
    assert.equal(await page.locator('#message b').count(), 0, 'message text is text');
    assert.equal(await page.locator('#message .message-text').textContent(), 'CUDA unavailable: <b>falling back</b>');

    await host.post({ type: 'progress', progress: host.progress(false) });
    await page.waitForFunction(() => !document.getElementById('progress').hidden);
    const p = host.progress(false);
    assert.equal(await page.locator('#progress .progress-text').textContent(), `${p.analysedTokens} / ${p.totalTokens} tokens`);
    await page.screenshot({ path: join(shots, 'message-progress.png') });
    await host.post({ type: 'progress', progress: host.progress(true) });
    await page.waitForFunction(() => document.getElementById('progress').hidden);
    // stopped short (Cancel): not done, not running, so no spinner
    await host.post({ type: 'progress', progress: host.progress(false) });
    await page.waitForFunction(() => !document.getElementById('progress').hidden);
    await host.post({ type: 'progress', progress: host.progress(false, false) });
    await page.waitForFunction(() => document.getElementById('progress').hidden);
    await page.locator('#message .message-dismiss').click();
    await page.waitForFunction(() => document.getElementById('message').hidden);
  });

  for (const theme of Object.keys(THEMES)) {
    it(`renders readably in the ${theme} theme (screenshot)`, async () => {
      const { page } = panel;
      await page.evaluate(applyThemeInPage, THEMES[theme]);
      await page.evaluate(() => document.querySelector('#tokens span.tok.selected')?.scrollIntoView({ block: 'center' }));
      await page.waitForTimeout(50);
      const look = await page.evaluate(() => {
        const body = getComputedStyle(document.body);
        const tokens = getComputedStyle(document.getElementById('tokens'));
        return { bodyBg: body.backgroundColor, bodyFg: body.color, tokBg: tokens.backgroundColor, tokFg: tokens.color, cls: document.body.className };
      });
      assert.ok(look.cls.includes(THEMES[theme].bodyClass));
      assert.notEqual(look.bodyFg, look.bodyBg);
      assert.notEqual(look.tokFg, look.tokBg);
      await page.screenshot({ path: join(shots, `theme-${theme}.png`) });
      // The components in this theme: the message's icon button, the progress ring, the checkbox and the
      // layer/head dropdown open on its options.
      const { host } = panel;
      await host.post({ type: 'message', level: 'info', text: 'Model loaded on CPU' });
      await host.post({ type: 'progress', progress: host.progress(false) });
      await page.waitForFunction(() => !document.getElementById('progress').hidden && !document.getElementById('message').hidden);
      await page.locator('#head-select').click();
      await page.waitForTimeout(200);
      await page.screenshot({ path: join(shots, `controls-${theme}.png`), clip: { x: 0, y: 0, width: 1200, height: 520 } });
      await page.keyboard.press('Escape');
      await host.post({ type: 'progress', progress: host.progress(true) });
      await page.locator('#message .message-dismiss').click();
      await page.waitForFunction(() => document.getElementById('progress').hidden && document.getElementById('message').hidden);
    });
  }

  it('renders a hostile document as text: no script runs, no element is created', async () => {
    const { context, page, host, errors } = await openPanel();
    const text = 'const a = "<script>alert(1)</script>";\n</textarea><img src=x onerror=alert(2)>\n<!-- --> &amp; <b>bold</b>\n';
    const hostile = documentMessage('file:///work/hostile.html', text);
    host.documentMessage = hostile;
    const scriptsBefore = await page.locator('script').count();
    await host.post(hostile);
    await page.waitForFunction((n) => document.querySelectorAll('#tokens span.tok').length === n, hostile.doc.tokens.length);
    const lines = await page.locator('#tokens .tok-line').evaluateAll((ls) => ls.map((l) => l.textContent));
    assert.deepEqual(lines, text.split('\n'));
    assert.equal(await page.locator('#tokens *:not(span.tok, span.tok-cont, div.tok-line, div.tokens-sizer)').count(), 0);
    assert.equal(await page.locator('script').count(), scriptsBefore);
    assert.equal(await page.locator('img').count(), 0);
    await clickToken(page, host, hostile.doc.tokens.length - 2);
    await page.waitForTimeout(200);
    assert.deepEqual(errors, [], 'no dialog, no page error');
    await page.screenshot({ path: join(shots, 'hostile.png') });
    await context.close();
  });

  it('notes a capped document', async () => {
    const { context, page, host } = await openPanel({ theme: 'light' });
    const capped = documentMessage('file:///work/capped.py', fixture.text || documentText(fixture.document), { cap: 500 });
    host.documentMessage = capped;
    await host.post(capped);
    await page.waitForFunction(() => document.querySelectorAll('#tokens span.tok').length === 500);
    assert.equal(await page.locator('#cap-note').textContent(), `Analysed the first 500 of ${capped.doc.totalTokens} tokens (attentionInspector.maxTokens)`);
    assert.ok(await page.locator('#cap-note').isVisible());
    await context.close();
  });

  it("names a softmax-trained model's what-if by its law: the legend gives the formula, the table, list and overlay the label", async () => {
    const { context, page, host } = await openPanel();
    const msg = documentMessage('file:///work/whatif.py', fixture.text || documentText(fixture.document));
    const whatIf = {
      label: 'Llama 4 temp.',
      formula: 'softmax((1 + 0.1·ln(1 + ⌊n/512⌋))·z)',
      source: "Llama 4's attention temperature tuning (also Ministral 3)",
    };
    msg.model = { ...msg.model, id: 'fixture-softmax', normaliser: 'softmax', whatIf };
    host.documentMessage = msg;
    await host.post(msg);
    await page.waitForFunction(() => document.getElementById('legend')?.textContent?.includes('Llama 4 temp.'));
    const legend = await page.locator('#legend').textContent();
    assert.match(legend, /Underline: Llama 4 temp\. \(what if: softmax\(\(1 \+ 0\.1·ln\(1 \+ ⌊n\/512⌋\)\)·z\), Llama 4's attention temperature tuning/);
    assert.match(legend, /Background: Softmax \(the model's own\)/);
    assert.match(await page.locator('.stats-table th[data-normaliser="ssmax"]').textContent(), /^Llama 4 temp\.counterfactual$/);
    assert.equal((await page.locator('#overlay-toggle').textContent()).trim(), 'Llama 4 temp. overlay');
    await page.screenshot({ path: join(shots, 'what-if-legend.png'), clip: { x: 0, y: 0, width: 1200, height: 260 } });
    // an SSMax-trained model's own view is SSMax, whatever law softmax-trained models follow
    const own = documentMessage('file:///work/whatif-ssmax.py', fixture.text || documentText(fixture.document));
    own.model = { ...own.model, whatIf };
    host.documentMessage = own;
    await host.post(own);
    await page.waitForFunction(() => !document.getElementById('legend')?.textContent?.includes('Llama 4'));
    assert.match(await page.locator('#legend').textContent(), /Underline: SSMax \(the model's own\)/);
    await context.close();
  });

  it('restores the selection after a reload (getState/setState)', async () => {
    const { context, page, host } = await openPanel();
    const q = pickQuery(host, 10);
    await clickToken(page, host, q);
    const state = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-webview-state')));
    assert.deepEqual(state, { uri: doc.uri, position: q, head: host.head, overlay: true, view: 'heads', layout: { legendFolded: true } });
    await openTab(page, 'distance');
    assert.equal((await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-webview-state')))).view, 'distance');
    // the splitter: the keyboard moves it (Up gives the views more room), and its height is remembered
    const viewsHeight = () => page.locator('#views').evaluate((e) => e.getBoundingClientRect().height);
    const before = await viewsHeight();
    await page.locator('#splitter').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const lower = await viewsHeight();
    assert.ok(Math.abs(before - 48 - lower) < 2, `two steps down take 48 px from the views (${before} -> ${lower})`);
    const remembered = (await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-webview-state')))).layout;
    assert.equal(remembered.viewsHeight, Math.round(lower));
    await page.locator('#legend-fold').click();
    assert.equal(await page.locator('#legend-fold').getAttribute('aria-expanded'), 'true');
    const from = host.received.length;
    await page.reload();
    await page.evaluate(applyThemeInPage, THEMES.dark);
    await host.waitFor((m) => m.type === 'ready', from);
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectToken', from), { type: 'selectToken', position: q });
    await page.waitForFunction((p) => document.querySelector(`span.tok[data-pos="${p}"]`)?.classList.contains('selected'), q);
    assert.equal(await page.locator('#tab-distance').getAttribute('aria-selected'), 'true', 'the open tab is restored');
    assert.ok(Math.abs((await viewsHeight()) - lower) < 2, 'the views keep the height the splitter gave them');
    assert.equal(await page.locator('#legend').evaluate((e) => e.classList.contains('legend-folded')), false, 'the unfolded legend stays unfolded');
    await context.close();
  });

  it('gives the token view room: dragging the splitter up enlarges the views, down enlarges the tokens; the legend folds to one line', async () => {
    const { context, page } = await openPanel({ width: 1600, height: 1000 });
    const box = async (id) => page.locator(`#${id}`).evaluate((e) => e.getBoundingClientRect().height);
    const legendFolded = await box('legend');
    await page.locator('#legend-fold').click();
    const legendOpen = await box('legend');
    assert.ok(legendFolded <= 30 && legendOpen >= legendFolded, `one line folded (${legendFolded} px), all of it open (${legendOpen} px)`);
    await page.locator('#legend-fold').click();
    await page.screenshot({ path: join(shots, 'layout-before.png') });
    const tokensBefore = await box('tokens');
    const s = await page.locator('#splitter').boundingBox();
    await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2);
    await page.mouse.down();
    await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2 + 200, { steps: 5 });
    await page.mouse.up();
    const tokensAfter = await box('tokens');
    assert.ok(tokensAfter > tokensBefore + 150, `dragging down 200 px gives the token view the room (${tokensBefore} -> ${tokensAfter} px)`);
    assert.equal(await page.locator('#splitter').getAttribute('role'), 'separator');
    await page.screenshot({ path: join(shots, 'layout-after.png') });
    await context.close();
  });

  // Speed at 32k (document shown, row applied, click repaint) is measured by `npm run bench:webview`, not asserted here.
  it('virtualises a 32k-token document: far fewer spans than tokens, scrolling renders new lines, a selection recolours the view', async () => {
    const { context, page, host } = await openPanel();
    // the real fixture tiled to 32k tokens, with its real last row tiled the same way (see tiledDocument)
    const { document: big, row } = tiledDocument(fixture, 32768);
    const tokens = big.doc.tokens;
    host.documentMessage = big;
    host.answering = false;
    const n = tokens.length;
    // Handed over in the page: passing 33k token objects through Playwright per call takes seconds by itself.
    await page.evaluate((m) => {
      window.__big = m;
    }, big);
    await page.evaluate(() => window.dispatchEvent(new MessageEvent('message', { data: window.__big })));
    assert.equal(await page.locator('#file-name').textContent(), 'big.py');
    const spans = await page.locator('#tokens span.tok').count();
    console.log(`# ${n} tokens: ${spans} spans in the DOM`);
    assert.ok(spans > 50 && spans < n / 20, `the DOM holds far fewer spans than tokens (${spans} of ${n})`);
    // Scroll to the middle: the lines there are rendered, the first ones are gone.
    const middle = Math.floor(n / 2);
    await scrollToToken(page, middle, big);
    assert.equal(await page.locator('#tokens span.tok[data-pos="0"]').count(), 0, 'lines scrolled far away are removed');
    assert.ok((await page.locator('#tokens span.tok').count()) < n / 20);
    const lineText = await page.locator(`#tokens .tok-line[data-line="${tokens[middle].line}"]`).textContent();
    assert.equal(lineText, documentLines(big)[tokens[middle].line]);
    // Selection: the attention row for the last token, delivered as the host would, then a click on another token.
    await scrollToToken(page, n - 1, big);
    await page.evaluate((r) => {
      window.__row = r;
    }, row);
    await page.evaluate(async () => {
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'attention', attention: window.__row } }));
      await new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
      document.querySelector(`#tokens span.tok[data-pos="${window.__row.position - 5}"]`).click();
    });
    await host.waitFor((m) => m.type === 'selectToken' && m.position === n - 6);
    const top1 = row.top[0].position;
    const styles = await tokenStyles(page, top1, top1);
    if (styles[0]) assert.ok(alphaOf(styles[0].bg) > 0.5, 'the tiled row colours its top key');
    await context.close();
  });

  it('a query the host moves scrolls the token view sideways only when it does not fit; otherwise line starts stay in view', async () => {
    const { page, host } = panel;
    await page.setViewportSize({ width: 320, height: 800 });
    try {
      const lines = documentLines(fixture.document);
      const tokens = doc.tokens;
      // the last visible token of the longest line (past a 320 px view), and a word near the end of a short line
      const longLine = lines.reduce((best, l, i) => (l.length > lines[best].length ? i : best), 0);
      const onLine = (line) => tokens.map((t, i) => ({ t, i })).filter(({ t }) => t.line === line && t.text.trim() && !t.text.includes('\n'));
      const far = onLine(longLine).at(-1).i;
      const shortLine = lines.findIndex((l, i) => i > longLine && l.trim().length >= 6 && l.length <= 20 && onLine(i).length >= 2);
      const near = onLine(shortLine).at(-1).i;
      assert.ok(lines[longLine].length > 60 && shortLine > 0, `a long line (${lines[longLine].length} chars) and a short one`);
      const scrollLeft = () => page.evaluate(() => document.getElementById('tokens').scrollLeft);
      const moveQuery = async (position) => {
        await host.post({ type: 'attention', attention: host.attentionFor(position) });
        await page.waitForFunction((p) => document.querySelector(`#tokens span.tok[data-pos="${p}"]`)?.classList.contains('selected'), position);
      };
      await moveQuery(far);
      assert.ok((await scrollLeft()) > 0, 'a token past the right edge is scrolled into view');
      await moveQuery(near);
      assert.equal(await scrollLeft(), 0, 'a token that fits without scrolling sideways brings the line starts back');
    } finally {
      await page.setViewportSize({ width: 1200, height: 800 });
    }
  });

  it('moves the selection with Up/Down to the same column on the line above/below', async () => {
    const { page, host } = panel;
    const q = pickQuery(host);
    await clickToken(page, host, q);
    await page.locator('#tokens').focus();
    const line = doc.tokens[q].line;
    let from = host.received.length;
    await page.keyboard.press('ArrowDown');
    const down = await host.waitFor((m) => m.type === 'selectToken', from);
    assert.ok(doc.tokens[down.position].line > line, `Down goes to a later line (token ${down.position}, line ${doc.tokens[down.position].line + 1})`);
    await page.waitForFunction((p) => document.querySelector(`#tokens span.tok[data-pos="${p}"]`)?.classList.contains('selected'), down.position);
    from = host.received.length;
    await page.keyboard.press('ArrowUp');
    const up = await host.waitFor((m) => m.type === 'selectToken', from);
    assert.ok(doc.tokens[up.position].line < doc.tokens[down.position].line, 'Up goes back up');
    // Same column: the token under the original column (or the line's last when shorter).
    const colOf = (p) => doc.tokens[p].start - (documentText(fixture.document).lastIndexOf('\n', doc.tokens[p].start - 1) + 1);
    assert.ok(Math.abs(colOf(up.position) - colOf(q)) <= Math.max(8, doc.tokens[q].text.length + doc.tokens[up.position].text.length), 'about the same column');
    await clickToken(page, host, q);
  });

  it('steps the head with [ and ] and the layer with { and } (posting selectHead)', async () => {
    const { page, host } = panel;
    const { layers, heads } = fixture.document.model;
    await page.locator('#tokens').focus();
    const start = { ...host.head };
    let from = host.received.length;
    await page.keyboard.press(']');
    const next = await host.waitFor((m) => m.type === 'selectHead', from);
    assert.deepEqual(next.head, { layer: start.layer, head: start.head === 'mean' ? 0 : (start.head + 1) % heads });
    await page.waitForFunction((v) => document.querySelector('#head-select').value === v, `${next.head.layer}:${next.head.head}`);
    from = host.received.length;
    await page.keyboard.press('{');
    const up = await host.waitFor((m) => m.type === 'selectHead', from);
    assert.deepEqual(up.head, { layer: (next.head.layer + layers - 1) % layers, head: next.head.head });
    from = host.received.length;
    await page.keyboard.press('}');
    // one key at a time: the host's settings echo of each choice must land before the next key reads the head
    const back = await host.waitFor((m) => m.type === 'selectHead', from);
    await page.waitForFunction((v) => document.querySelector('#head-select').value === v, `${back.head.layer}:${back.head.head}`);
    from = host.received.length;
    await page.keyboard.press('[');
    await host.waitFor((m) => m.type === 'selectHead' && sameHeadChoice(m.head, start), from);
    await page.waitForFunction((v) => document.querySelector('#head-select').value === v, `${start.layer}:${start.head}`);
    assert.ok((await page.locator('#shortcuts').textContent()).includes('[ / ] head'), 'the shortcuts are documented in the UI');
    // In the head dropdown the keys are the dropdown's (its focus is in its shadow root; the event comes from it).
    await page.getByRole('combobox', { name: 'Layer and head' }).focus();
    from = host.received.length;
    await page.keyboard.press(']');
    await page.waitForTimeout(100);
    assert.equal(host.received.slice(from).filter((m) => m.type === 'selectHead').length, 0, 'no shortcut inside the dropdown');
    await page.locator('#tokens').focus();
  });

  it('has tabs with role=tablist/tab/tabpanel, arrow-key navigation and every control labelled', async () => {
    const { page } = panel;
    assert.equal(await page.locator('#view-tabs[role="tablist"]').count(), 1);
    const tabs = await page
      .locator('#view-tabs [role="tab"]')
      .evaluateAll((ts) =>
        ts.map((t) => ({ id: t.dataset.view, selected: t.getAttribute('aria-selected'), controls: t.getAttribute('aria-controls'), tabIndex: t.tabIndex })),
      );
    assert.deepEqual(
      tabs.map((t) => t.id),
      ['heads', 'focus', 'distance', 'loss', 'probe', 'needle', 'compare'],
    );
    for (const t of tabs) assert.equal(await page.locator(`#${t.controls}[role="tabpanel"]`).count(), 1);
    assert.equal(tabs.filter((t) => t.selected === 'true').length, 1);
    await page.locator('#tab-heads').click();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(
      () => document.getElementById('tab-focus').getAttribute('aria-selected') === 'true' && document.activeElement?.id === 'tab-focus',
    );
    assert.ok(await page.locator('#panel-focus').isVisible());
    assert.ok(!(await page.locator('#panel-heads').isVisible()));
    await page.keyboard.press('End');
    await page.waitForFunction(() => document.getElementById('tab-compare').getAttribute('aria-selected') === 'true');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.getElementById('tab-heads').getAttribute('aria-selected') === 'true', null, { timeout: 2000 });
    // Every control has an accessible name (text or aria-label).
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('button, vscode-button, vscode-checkbox, vscode-single-select, [role="tab"], [role="button"], g.head-cell')]
        .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('label') || el.textContent.trim() || el.getAttribute('title')))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, []);
  });

  it('Heads: every layer × head of the real model for the selected token, both views', async () => {
    const { page, host } = panel;
    const q = pickQuery(host);
    await clickToken(page, host, q);
    await openTab(page, 'heads');
    const expected = fixture.heads[String(q)];
    assert.ok(expected, 'the fixture has the heads of this token');
    const { layers, heads } = fixture.document.model;
    await page.waitForFunction((n) => document.querySelectorAll('#panel-heads g.head-cell').length === n, layers * heads);
    const cells = await page.locator('#panel-heads g.head-cell').evaluateAll((gs) =>
      gs.map((g) => ({
        layer: Number(g.dataset.layer),
        head: Number(g.dataset.head),
        values: Object.fromEntries(
          [...g.querySelectorAll('text[data-stat] tspan[data-series]')].map((t) => [
            `${t.closest('text').dataset.stat}-${t.dataset.series}`,
            Number(t.dataset.value),
          ]),
        ),
        strips: {
          softmax: g.querySelectorAll('rect.head-strip[data-series="softmax"]').length,
          ssmax: g.querySelectorAll('rect.head-strip[data-series="ssmax"]').length,
        },
      })),
    );
    for (const c of expected.cells) {
      const shown = cells.find((x) => x.layer === c.layer && x.head === c.head);
      assert.ok(shown, `cell L${c.layer} H${c.head}`);
      assert.equal(shown.values['max-softmax'], c.stats.softmax.maxWeight);
      assert.equal(shown.values['max-ssmax'], c.stats.ssmax.maxWeight);
      assert.equal(shown.values['entropy-softmax'], c.stats.softmax.normalisedEntropy);
      assert.equal(shown.values['entropy-ssmax'], c.stats.ssmax.normalisedEntropy);
      assert.equal(shown.values['sink-softmax'], c.sink.softmax, 'the attention-sink share, softmax');
      assert.equal(shown.values['sink-ssmax'], c.sink.ssmax, 'the attention-sink share, SSMax');
      for (const norm of ['softmax', 'ssmax'])
        assert.equal(shown.strips[norm], c.strip[norm].filter((m) => m > 0).length, `L${c.layer} H${c.head} ${norm} strip`);
    }
  });

  it('Heads: clicking a cell (or Enter on it) posts selectHead and the main view follows', async () => {
    const { page, host } = panel;
    await openTab(page, 'heads');
    const defaultHead = { ...host.head };
    let from = host.received.length;
    await page.locator('#panel-heads g.head-cell[data-layer="1"][data-head="2"]').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectHead', from), { type: 'selectHead', head: { layer: 1, head: 2 } });
    await page.waitForFunction(() => document.querySelector('#head-select').value === '1:2');
    // The main view shows the row the host sent for that head (the stand-in host has real rows for the default
    // head only, so this row is fixture.mjs's generated one; the check is that the view follows the head).
    const row = host.attentionFor(host.selection, { layer: 1, head: 2 });
    await page.waitForFunction((v) => document.querySelector('[data-stat="softmax-max"]').dataset.value === String(v), row.stats.softmax.maxWeight);
    assert.deepEqual(
      await page
        .locator('#panel-heads g.head-cell-selected')
        .evaluateAll((gs) => gs.map((g) => [g.dataset.layer, g.dataset.head, g.getAttribute('aria-pressed')])),
      [['1', '2', 'true']],
    );
    await page.locator('#views').screenshot({ path: join(shots, 'view-heads-selected.png') });
    // The focus curve follows the head too (real curve for L1 H2).
    await openTab(page, 'focus');
    await page.waitForFunction(() => document.querySelector('#panel-focus svg.chart')?.getAttribute('aria-label').includes('L1 H2'));
    await openTab(page, 'heads');
    from = host.received.length;
    await page.locator('#panel-heads g.head-cell[data-layer="0"][data-head="0"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    assert.deepEqual(await host.waitFor((m) => m.type === 'selectHead', from), { type: 'selectHead', head: { layer: 0, head: 1 } });
    // Back to the default head for the tests that follow, as when the host changes it (Select Layer/Head).
    host.head = defaultHead;
    await host.post(host.settings());
    await host.post({ type: 'attention', attention: host.attentionFor(host.selection) });
    await host.postViews();
    await page.waitForFunction((v) => document.querySelector('#head-select').value === v, `${defaultHead.layer}:${defaultHead.head}`);
  });

  it('Focus vs length: both views as lines with every point, the training length and the selected n marked', async () => {
    const { page, host } = panel;
    await openTab(page, 'focus');
    const curve = fixture.focus[`${host.head.layer}:${host.head.head}`];
    const a = host.attentionFor(host.selection);
    await page.waitForFunction((n) => document.querySelector('#panel-focus [data-marker="selected"] text')?.textContent === `n = ${n}`, a.n);
    const chart = await page.locator('#panel-focus svg.chart').evaluate((svg) => ({
      lines: [...svg.querySelectorAll('polyline[data-series]')].map((l) => ({
        panel: l.closest('[data-panel]').dataset.panel,
        series: l.dataset.series,
        points: l.getAttribute('points').trim().split(/\s+/).length,
        dashed: getComputedStyle(l).strokeDasharray !== 'none',
        stroke: getComputedStyle(l).stroke,
      })),
      training: svg.querySelector('[data-panel="maxWeight"] [data-marker="training"] text').textContent,
      legend: [...svg.querySelectorAll('.chart-legend')].map((t) => t.textContent),
      xTitle: svg.querySelector('[data-panel="maxWeight"] .chart-axis-title').textContent,
      bands: [...svg.querySelectorAll('polygon[data-band]')].map((b) => ({
        series: b.dataset.band,
        vertices: b.getAttribute('points').trim().split(/\s+/).length,
        fill: getComputedStyle(b).fill,
        opacity: Number(getComputedStyle(b).opacity),
      })),
    }));
    assert.equal(chart.lines.length, 6, 'three panels (max weight, entropy, sink) × softmax and SSMax');
    assert.deepEqual([...new Set(chart.lines.map((l) => l.panel))], ['maxWeight', 'normalisedEntropy', 'sink']);
    // the sink panel plots the payload's sink shares: 1 where n ≤ k (every key is a first key), less beyond
    const sinkY = await page.locator('#panel-focus [data-panel="sink"] polyline[data-series="softmax"]').evaluate((l) =>
      l
        .getAttribute('points')
        .trim()
        .split(/\s+/)
        .map((p) => Number(p.split(',')[1])),
    );
    assert.ok(curve.sink && curve.sink.tokens === 4, 'the fixture curve has a sink of the first 4 tokens');
    assert.equal(curve.sink.softmax[0], 1);
    const last = curve.sink.softmax.length - 1;
    assert.ok(curve.sink.softmax[last] < 1 && sinkY[last] > sinkY[0], 'a smaller share is drawn lower (SVG y grows downwards)');
    const caption = await page.locator('#panel-focus .view-caption').innerText();
    assert.match(caption, /first 4 tokens|does not reach past twice/, 'the caption speaks of the sink when the file is long enough');
    // each line sits in its interquartile band: the upper quartile out, the lower one back, a vertex per bin each way
    assert.equal(chart.bands.length, 4, 'a band per panel and view');
    for (const b of chart.bands) {
      assert.equal(b.vertices, 2 * curve.n.length, `${b.series} band: both quartiles at every bin`);
      assert.ok(b.opacity > 0 && b.opacity < 0.5, 'the band is faint under the line');
    }
    assert.notEqual(chart.bands.find((b) => b.series === 'softmax').fill, chart.bands.find((b) => b.series === 'ssmax').fill);
    for (const l of chart.lines) assert.equal(l.points, curve.n.length, `${l.panel} ${l.series}: one point per bin`);
    assert.equal(chart.training, `training length ${curve.trainingContext}`);
    assert.match(chart.xTitle, /log/);
    const own = fixture.document.model.normaliser;
    assert.deepEqual(
      chart.legend,
      ['softmax', 'ssmax'].map((s) => `${s === 'softmax' ? 'Softmax' : 'SSMax'} (${s === own ? "model's own" : 'counterfactual'})`),
    );
    for (const l of chart.lines) assert.equal(l.dashed, l.series !== own, 'the counterfactual is dashed');
    assert.notEqual(chart.lines.find((l) => l.series === 'softmax').stroke, chart.lines.find((l) => l.series === 'ssmax').stroke);
  });

  it('Distance: bars of both views sum to 1 and show the payload', async () => {
    const { page, host } = panel;
    await openTab(page, 'distance');
    const d = host.attentionFor(host.selection).distance;
    await page.waitForFunction((k) => document.querySelectorAll('#panel-distance rect.chart-bar[data-series]').length === k, 2 * d.softmax.length);
    const bars = await page
      .locator('#panel-distance rect.chart-bar[data-series]')
      .evaluateAll((rs) =>
        rs.map((r) => ({ series: r.dataset.series, group: Number(r.dataset.group), value: Number(r.dataset.value), height: Number(r.getAttribute('height')) })),
      );
    for (const norm of ['softmax', 'ssmax']) {
      const mine = bars.filter((b) => b.series === norm).sort((x, y) => x.group - y.group);
      assert.deepEqual(
        mine.map((b) => b.value),
        d[norm],
      );
      const sum = mine.reduce((acc, b) => acc + b.value, 0);
      assert.ok(Math.abs(sum - 1) < 1e-3, `${norm} masses sum to ~1 (${sum})`);
      const biggest = mine.reduce((x, y) => (y.value > x.value ? y : x));
      assert.equal(Math.max(...mine.map((b) => b.height)), biggest.height, 'the largest mass is the tallest bar');
    }
  });

  it("Compare: the switch posts setComparison and shows the other model's numbers beside this one", async () => {
    const { page, host } = panel;
    await openTab(page, 'compare');
    const other = fixture.comparison.attention[String(host.selection)];
    assert.ok(other, "the fixture has the other model's row for this token");
    let from = host.received.length;
    await page.locator('#comparison-toggle').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'setComparison', from), { type: 'setComparison', on: true });
    await page.waitForFunction(() => document.querySelectorAll('#panel-compare .compare-side').length === 2);
    const sides = await page.locator('#panel-compare .compare-side').evaluateAll((ss) =>
      ss.map((s) => ({
        side: s.dataset.side,
        model: s.dataset.model,
        stats: Object.fromEntries([...s.querySelectorAll('.compare-stats td[data-stat]')].map((td) => [td.dataset.stat, Number(td.dataset.value)])),
        top: [...s.querySelectorAll('.compare-top tr[data-pos]')].map((tr) => Number(tr.dataset.pos)),
      })),
    );
    const mine = host.attentionFor(host.selection);
    const current = sides.find((s) => s.side === 'current');
    const theirs = sides.find((s) => s.side === 'other');
    assert.equal(current.model, fixture.document.model.id);
    assert.equal(theirs.model, fixture.comparison.model.id);
    for (const norm of ['softmax', 'ssmax']) {
      for (const key of ['maxWeight', 'entropy', 'normalisedEntropy']) {
        assert.equal(current.stats[`${norm}-${key}`], mine.stats[norm][key]);
        assert.equal(theirs.stats[`${norm}-${key}`], other.stats[norm][key]);
      }
    }
    assert.deepEqual(
      theirs.top,
      other.top.slice(0, 10).map((t) => t.position),
    );
    assert.deepEqual(
      current.top,
      mine.top.slice(0, 10).map((t) => t.position),
    );
    assert.equal(await page.locator('#panel-compare rect.chart-bar[data-series]').count(), 8, 'the chart has both models × 2 stats × 2 views');
    await page.screenshot({ path: join(shots, 'view-compare-dark.png') });
    from = host.received.length;
    await page.locator('#comparison-toggle').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'setComparison', from), { type: 'setComparison', on: false });
    await page.waitForFunction(() => document.querySelectorAll('#panel-compare .compare-side').length === 0);
    // Left on for the export and screenshot tests.
    await page.locator('#comparison-toggle').click();
    await page.waitForFunction(() => document.querySelectorAll('#panel-compare .compare-side').length === 2);
  });

  it('Probe: "Run probe" posts runProbe', async () => {
    const { page, host } = panel;
    await openTab(page, 'probe');
    const from = host.received.length;
    await page.locator('#run-probe').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'runProbe', from), { type: 'runProbe' });
  });

  it(
    'Probe: renders the real ProbePayload (depth × model: weights on the needle, answers)',
    { skip: fixture.probe ? false : 'the synthetic fixture has no probe (run node out/test/tools/makeWebviewFixture.js)' },
    async () => {
      const { page } = panel;
      await openTab(page, 'probe');
      const probe = fixture.probe;
      await page.waitForFunction(() => document.querySelectorAll('#panel-probe .probe-table tbody tr').length > 0);
      const rows = await page.locator('#panel-probe .probe-table tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({
          depth: Number(tr.dataset.depth),
          model: tr.dataset.model,
          correct: tr.querySelector('[data-correct]').dataset.correct === 'true',
          values: [...tr.querySelectorAll('td[data-value]')].map((td) => Number(td.dataset.value)),
        })),
      );
      const expected = probe.depths.flatMap((d) =>
        d.models.map((m) => ({ depth: d.depth, model: m.modelId, correct: m.correct, values: [m.best.softmax, m.best.ssmax, m.mean.softmax, m.mean.ssmax] })),
      );
      assert.deepEqual(
        rows.sort((a, b) => a.depth - b.depth || a.model.localeCompare(b.model)),
        expected.sort((a, b) => a.depth - b.depth || a.model.localeCompare(b.model)),
      );
      await page.screenshot({ path: join(shots, 'view-probe-dark.png') });
    },
  );

  it('Loss: the strip of each model along the document and the mean per position bucket, with the difference', async () => {
    const { page } = panel;
    await openTab(page, 'loss');
    const l = fixture.loss;
    assert.ok(l && l.models.length === 2, 'the fixture has both models’ losses');
    await page.waitForFunction(() => document.querySelectorAll('#panel-loss polyline[data-model]').length === 2);
    const lines = await page
      .locator('#panel-loss polyline[data-model]')
      .evaluateAll((ls) =>
        ls.map((x) => ({ model: x.dataset.model, points: Number(x.dataset.points), dashed: getComputedStyle(x).strokeDasharray !== 'none' })),
      );
    assert.deepEqual(
      lines.map((x) => [x.model, x.points, x.dashed]),
      [
        ['main', l.models[0].mean.filter(Number.isFinite).length, false],
        ['comparison', l.models[1].mean.filter(Number.isFinite).length, true],
      ],
    );
    const rows = await page
      .locator('#panel-loss .loss-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td[data-value]')].map((td) => Number(td.dataset.value))));
    assert.equal(rows.length, l.models[0].buckets.length);
    rows.forEach((r, i) => {
      const [x, y] = [l.models[0].buckets[i].mean, l.models[1].buckets[i].mean];
      assert.deepEqual(r.slice(0, 2), [x, y]);
      assert.ok(Math.abs(r[2] - (x - y)) < 1e-12, 'the difference column');
    });
    assert.equal(await page.locator('#panel-loss [data-marker="training"] text').textContent(), `N = ${l.trainingContext}`);
    await page.screenshot({ path: join(shots, 'view-loss-dark.png') });
  });

  it('Needle map: "Run needle map" posts runNeedleMap, and the real NeedleMapPayload fills a grid per model', async () => {
    const { page, host } = panel;
    await openTab(page, 'needle');
    const from = host.received.length;
    await page.locator('#run-needle-map').click();
    assert.deepEqual(await host.waitFor((m) => m.type === 'runNeedleMap', from), { type: 'runNeedleMap' });
    const map = fixture.needleMap;
    assert.ok(map, 'the fixture has a needle map');
    await page.waitForFunction(() => document.querySelectorAll('#panel-needle rect.needle-cell[data-correct]').length > 0);
    const cells = await page.locator('#panel-needle .needle-grid').evaluateAll((gs) =>
      gs.flatMap((g) =>
        [...g.querySelectorAll('rect.needle-cell')].map((r) => ({
          model: g.dataset.model,
          length: Number(r.dataset.length),
          depth: Number(r.dataset.depth),
          correct: Number(r.dataset.correct),
          opacity: Number(r.getAttribute('fill-opacity')),
          title: r.querySelector('title')?.textContent ?? '',
        })),
      ),
    );
    const expected = map.cells.flatMap((c) => c.models.map((m) => ({ model: m.modelId, length: c.length, depth: c.depth, correct: m.correct, m })));
    assert.equal(cells.length, expected.length, 'a cell per length × depth × model');
    for (const e of expected) {
      const c = cells.find((x) => x.model === e.model && x.length === e.length && x.depth === e.depth);
      assert.ok(c, `the cell ${e.model} ${e.length}@${e.depth}`);
      assert.equal(c.correct, e.correct);
      assert.ok(Math.abs(c.opacity - (0.08 + 0.72 * (e.correct / e.m.haystacks))) < 1e-3, 'the fill says the share answered');
      assert.ok(c.title.includes(e.m.best.softmax.toFixed(3)) && c.title.includes(e.m.best.ssmax.toFixed(3)), 'both views in the cell title');
    }
    assert.match(await page.locator('#needle-status').innerText(), /Done: \d+ cells/);
    await page.screenshot({ path: join(shots, 'view-needle-dark.png') });
  });

  for (const view of ['heads', 'focus', 'distance', 'compare', 'needle', 'loss']) {
    it(`exports ${view} as PNG, SVG, CSV and JSON`, async () => {
      const { page, host } = panel;
      await openTab(page, view);
      const files = {};
      for (const format of ['png', 'svg', 'csv', 'json']) {
        const from = host.received.length;
        await page.locator(`#export-bar vscode-button[data-format="${format}"]`).click();
        const msg = await host.waitFor((m) => m.type === 'export', from);
        assert.equal(msg.view, view);
        assert.equal(msg.format, format);
        assert.ok(msg.data.length > 0);
        files[format] = msg.data;
      }
      // PNG: base64 without a data: prefix, the PNG signature, and Chromium decodes it.
      assert.match(files.png, /^[A-Za-z0-9+/]+={0,2}$/);
      const png = Buffer.from(files.png, 'base64');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const decoded = await page.evaluate(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        // The chart is drawn, not a blank canvas: count distinct colours in a sample.
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d');
        ctx.drawImage(bitmap, 0, 0);
        const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4 * 97) colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
        return { width: bitmap.width, height: bitmap.height, colours: colours.size };
      }, files.png);
      assert.ok(decoded.width > 400 && decoded.height > 100, `PNG ${decoded.width}×${decoded.height}`);
      assert.ok(decoded.colours > 3, 'the PNG has the chart drawn on it');
      writeFileSync(join(shots, `export-${view}.png`), png);
      // SVG: well-formed, standalone (no classes or CSS variables left), with the chart's elements.
      const svg = await page.evaluate((text) => {
        const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
        return {
          errors: parsed.getElementsByTagName('parsererror').length,
          root: parsed.documentElement.localName,
          ns: parsed.documentElement.namespaceURI,
          shapes: parsed.querySelectorAll('polyline, rect').length,
        };
      }, files.svg);
      assert.deepEqual({ errors: svg.errors, root: svg.root, ns: svg.ns }, { errors: 0, root: 'svg', ns: 'http://www.w3.org/2000/svg' });
      assert.ok(svg.shapes > 4);
      assert.ok(!/var\(--|class="/.test(files.svg), 'colours resolved, no stylesheet needed');
      writeFileSync(join(shots, `export-${view}.svg`), files.svg);
      // CSV and JSON: the same rows, and the numbers the view shows.
      const csv = parseCsv(files.csv);
      const json = JSON.parse(files.json);
      assert.deepEqual(csv[0], json.columns);
      assert.equal(csv.length - 1, json.rows.length);
      for (let r = 0; r < json.rows.length; r++) {
        for (const [k, column] of json.columns.entries()) {
          const v = json.rows[r][column];
          assert.equal(csv[r + 1][k], typeof v === 'number' ? String(v) : String(v ?? ''), `row ${r} ${column}`);
        }
      }
      const a = host.attentionFor(host.selection);
      if (view === 'distance') {
        assert.deepEqual(
          json.rows.map((r) => r.softmax),
          a.distance.softmax,
        );
        assert.deepEqual(
          json.rows.map((r) => r.ssmax),
          a.distance.ssmax,
        );
        assert.deepEqual(
          csv.slice(1).map((r) => Number(r[2])),
          a.distance.softmax,
        );
      } else if (view === 'focus') {
        const curve = fixture.focus[`${host.head.layer}:${host.head.head}`];
        assert.deepEqual(
          json.rows.map((r) => r.n),
          curve.n,
        );
        assert.deepEqual(
          json.rows.map((r) => r.maxWeight_ssmax),
          curve.maxWeight.ssmax,
        );
        assert.deepEqual(
          csv.slice(1).map((r) => Number(r[4])),
          curve.normalisedEntropy.ssmax,
        );
      } else if (view === 'heads') {
        const cells = fixture.heads[String(host.selection)].cells;
        assert.deepEqual(
          json.rows.map((r) => [r.layer, r.head, r.maxWeight_softmax, r.normalisedEntropy_ssmax]),
          cells.map((c) => [c.layer, c.head, c.stats.softmax.maxWeight, c.stats.ssmax.normalisedEntropy]),
        );
        const shown = await page.locator('#panel-heads tspan[data-series="softmax"]').first().getAttribute('data-value');
        assert.equal(Number(csv[1][2]), Number(shown));
      } else if (view === 'loss') {
        const l = fixture.loss;
        assert.deepEqual(
          json.rows.map((r) => [r.from, r.loss_main, r.loss_comparison]),
          l.edges.slice(0, -1).map((from, b) => [from, l.models[0].mean[b], l.models[1].mean[b]]),
        );
      } else if (view === 'needle') {
        const map = fixture.needleMap;
        assert.deepEqual(
          json.rows.map((r) => [r.length, r.depth, r.model, r.correct, r.best_ssmax]),
          map.cells.flatMap((c) => c.models.map((m) => [c.length, c.depth, m.modelId, m.correct, m.best.ssmax])),
        );
      } else {
        const other = fixture.comparison.attention[String(host.selection)];
        const row = (side, view) => json.rows.find((r) => r.side === side && r.view === view);
        assert.equal(row('current', 'ssmax').maxWeight, a.stats.ssmax.maxWeight);
        assert.equal(row('other', 'softmax').normalisedEntropy, other.stats.softmax.normalisedEntropy);
        assert.equal(row('other', 'softmax').ownView, true);
      }
      assert.equal(json.model.id, fixture.document.model.id);
    });
  }

  for (const theme of Object.keys(THEMES)) {
    it(`draws every view readably in the ${theme} theme (screenshots)`, async () => {
      const { page } = panel;
      await page.evaluate(applyThemeInPage, THEMES[theme]);
      for (const view of ['heads', 'focus', 'distance', 'compare', 'probe', 'needle', 'loss']) {
        await openTab(page, view);
        await page.waitForTimeout(30);
        const look = await page.evaluate((v) => {
          const panelEl = document.getElementById(`panel-${v}`);
          const text = panelEl.querySelector('.chart-text, .view-placeholder');
          const s = getComputedStyle(text);
          return { ink: text instanceof SVGElement ? s.fill : s.color, bg: getComputedStyle(document.body).backgroundColor };
        }, view);
        assert.notEqual(look.ink, look.bg, `${view}: text differs from the background`);
        await page.locator('#views').screenshot({ path: join(shots, `view-${view}-${theme}.png`) });
      }
    });
  }

  it('never violates the CSP, and the CSP is enforced', async () => {
    const { page, host, errors } = panel;
    assert.deepEqual(host.violations, []);
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.deepEqual(
      errors.filter((e) => /Content Security Policy/i.test(e)),
      [],
    );
    // Sanity: the policy is live, so an inline script would have been reported (this is why zero counts).
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.append(s);
    });
    await page.waitForFunction(() => window.__violations.length > 0);
    assert.equal(await page.evaluate(() => window.__inline), undefined);
  });
});
