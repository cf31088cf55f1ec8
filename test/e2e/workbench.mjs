// Driving the VS Code workbench (code-server in Chromium) as a person would: explorer, palette, go to line, hover,
// status bar, the Attention webview. Selectors measured on code-server 4.100.3 (VS Code 1.100.3); see
// shared/notes/vscode-e2e.md.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/tooling.mjs';

/** Chromium with a fresh profile in `profileDir`; HOME for the browser process is `home` (Chromium writes ~/.config). */
export async function launchBrowser({ profileDir, home }) {
  const executablePath = ensureChromium();
  return chromium.launchPersistentContext(profileDir, {
    executablePath,
    args: CHROMIUM_ARGS,
    viewport: { width: 1600, height: 1000 },
    env: { ...process.env, HOME: home },
    timeout: 60_000,
  });
}

export class Workbench {
  /** @param {import('playwright-core').Page} page */
  constructor(page, { shotsDir, log = () => {} } = {}) {
    this.page = page;
    this.shotsDir = shotsDir;
    this.log = log;
    this.n = 0;
    this.shots = [];
    if (shotsDir) mkdirSync(shotsDir, { recursive: true });
  }

  async shot(name) {
    if (!this.shotsDir) return undefined;
    this.n += 1;
    const file = join(this.shotsDir, `${String(this.n).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    this.shots.push(file);
    this.log(`screenshot ${file}`);
    return file;
  }

  /** Waits until the workbench shows the explorer with `fileName` in it. */
  async ready(fileName, timeout = 90_000) {
    await this.page.locator('.monaco-workbench').waitFor({ timeout });
    await this.page.getByRole('treeitem', { name: fileName }).first().waitFor({ timeout });
  }

  async openFromExplorer(fileName) {
    await this.page.getByRole('treeitem', { name: fileName }).first().click();
    await this.page
      .locator(`.tabs-container .tab[aria-label*="${fileName}"], .tabs-container .tab:has-text("${fileName}")`)
      .first()
      .waitFor({ timeout: 30_000 });
    await this.editor().locator('.view-line').first().waitFor({ timeout: 30_000 });
  }

  /** The text editor (the first editor group holding a Monaco editor). */
  editor() {
    return this.page.locator('.editor-instance .monaco-editor').first();
  }

  /** Focuses the text editor of `fileName` by clicking its tab (keeps the cursor and the scroll position). */
  async focusEditor(fileName) {
    await this.page.locator('.tabs-container .tab', { hasText: fileName }).first().click();
    await this.page.locator('.editor-instance .monaco-editor.focused').first().waitFor({ timeout: 10_000 });
  }

  /**
   * F1, the command's title into the palette's input, wait for its row, Enter. The title is filled into the input
   * itself rather than typed: keys typed while the focus is still in a webview can miss the palette. With
   * `waitHidden: false` it returns while a quick pick that the command opens is showing.
   */
  async command(title, { waitHidden = true } = {}) {
    const quick = this.page.locator('.quick-input-widget');
    await this.page.keyboard.press('F1');
    await quick.waitFor({ state: 'visible', timeout: 15_000 });
    await quick.locator('input').fill(`>${title}`);
    // the row whose label is exactly the title: a recently used command that also matches (Select Comparison Model for
    // "Select Model") can be the focused first row, so the focus is moved down to it before Enter
    const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = quick.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: exact }) }).first();
    await row.waitFor({ timeout: 15_000 });
    for (let i = 0; i < 10 && !/\bfocused\b/.test((await row.getAttribute('class')) ?? ''); i++) await this.page.keyboard.press('ArrowDown');
    await this.page.keyboard.press('Enter');
    if (waitHidden) await quick.waitFor({ state: 'hidden', timeout: 15_000 });
  }

  /**
   * In the quick pick a command opened: wait for its rows (`ready`: a row that shows they are there), type `filter`
   * into its input, wait until the focused row is `label`, and press Enter (unless `accept: false`, e.g. for a
   * screenshot first).
   */
  async pickQuickItem(label, { filter = label, ready = label, accept = true } = {}) {
    const quick = this.page.locator('.quick-input-widget');
    await quick.locator('.monaco-list-row', { hasText: ready }).first().waitFor({ timeout: 30_000 });
    await quick.locator('input').fill(filter);
    await quick.locator('.monaco-list-row.focused', { hasText: label }).first().waitFor({ timeout: 15_000 });
    if (accept) await this.page.keyboard.press('Enter');
  }

  /** Ctrl+G to a line (1-based) in the focused editor; Home puts the cursor on its first non-blank character. */
  async gotoLine(line) {
    await this.page.keyboard.press('Control+G');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 15_000 });
    await this.page.keyboard.type(String(line));
    await this.page.keyboard.press('Enter');
    await this.page.keyboard.press('Home');
    await this.waitCursor((c) => c.line === line, `cursor on line ${line}`);
  }

  /** The cursor from the status bar's "Ln X, Col Y" item. */
  async cursor() {
    const text = await this.page.locator('.statusbar [id="status.editor.selection"]').first().innerText({ timeout: 10_000 });
    const m = /Ln\s*(\d+),\s*Col\s*(\d+)/.exec(text);
    return m ? { line: Number(m[1]), col: Number(m[2]), text } : { text };
  }

  async waitCursor(pred, what, timeout = 15_000) {
    const t0 = Date.now();
    let c;
    while (Date.now() - t0 < timeout) {
      c = await this.cursor().catch(() => undefined);
      if (c && pred(c)) return c;
      await this.page.waitForTimeout(100);
    }
    throw new Error(`timed out waiting for ${what}; status bar says ${JSON.stringify(c)}`);
  }

  async statusBarItems() {
    return this.page.locator('.statusbar .statusbar-item').allInnerTexts();
  }

  /** The Attention webview's content frame (two nested iframes; never a bare `iframe`). */
  webview() {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  /** Is the tab of `fileName` dirty (unsaved changes)? */
  async isDirty(fileName) {
    return (await this.page.locator(`.tabs-container .tab.dirty:has-text("${fileName}")`).count()) > 0;
  }

  /**
   * Moves the mouse onto a word in the editor's visible lines (a `.view-line` spans the editor's width, so the word's
   * box comes from a DOM Range over its text). `pick` chooses among candidate words; returns { word, x, y }.
   */
  /**
   * Hovers words of the editor until the attention hover (the one naming SSMax) shows; returns it and the word.
   * A word can fall between tokens the hover answers for, so up to four words are tried.
   */
  async attentionHover(log = () => {}) {
    const hover = this.page.locator('.monaco-hover:visible', { hasText: 'SSMax' }).first();
    let target;
    for (let nth = 0; nth < 4; nth++) {
      target = await this.hoverWord({ nth: nth * 3 });
      try {
        await hover.waitFor({ timeout: 8_000 });
        break;
      } catch {
        log(`no attention hover over "${target.word}", trying another word`);
        await this.page.mouse.move(5, 500);
      }
    }
    await hover.waitFor({ timeout: 5_000 });
    return { hover, target };
  }

  /**
   * Scrolls the editor (the wheel moves the view, not the cursor, so the query stays) until some of the query's
   * highlights are in view: a trained model often attends many lines away. Returns the decoration counts.
   */
  async scrollToHighlights(what = 'softmax highlights in the editor') {
    const box = await this.editor().boundingBox();
    await this.page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.5);
    const counts = await this.waitFor(
      what,
      async () => {
        const d = await this.decorationCounts();
        if (d.softmax === 0) await this.page.mouse.wheel(0, -300);
        return { ok: d.softmax > 0, ...d };
      },
      40_000,
      300,
    );
    await this.page.mouse.move(5, 500);
    return counts;
  }

  async hoverWord({ minLength = 4, nth = 0, avoid = [] } = {}) {
    const target = await this.editor().evaluate(
      (ed, { minLength, nth, avoid }) => {
        const lines = [...ed.querySelectorAll('.view-lines .view-line')].sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        const box = ed.getBoundingClientRect();
        const found = [];
        for (const line of lines) {
          const r0 = line.getBoundingClientRect();
          if (r0.top < box.top + 40 || r0.bottom > box.bottom - 80) continue; // fully visible, room for the hover
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const re = new RegExp(`[A-Za-z_][A-Za-z0-9_]{${minLength - 1},}`, 'g');
            for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
              if (avoid.includes(m[0])) continue;
              const range = document.createRange();
              range.setStart(node, m.index);
              range.setEnd(node, m.index + m[0].length);
              const r = range.getBoundingClientRect();
              if (r.width > 0) found.push({ word: m[0], x: r.left + r.width / 2, y: r.top + r.height / 2 });
            }
          }
        }
        return found[Math.min(nth, found.length - 1)];
      },
      { minLength, nth, avoid },
    );
    if (!target) throw new Error('no word to hover in the visible editor lines');
    await this.page.mouse.move(target.x - 30, target.y + 30);
    await this.page.mouse.move(target.x, target.y, { steps: 4 });
    return target;
  }

  /**
   * Counts the editor's decoration elements by their look: softmax highlights (orange background), SSMax overlay
   * outlines (blue outline), the query token (dashed border). Only rendered (visible) lines count.
   */
  async decorationCounts() {
    return this.editor().evaluate((ed) => {
      const counts = { softmax: 0, ssmax: 0, query: 0 };
      for (const el of ed.querySelectorAll('.view-overlays div, .view-lines span')) {
        const cls = typeof el.className === 'string' ? el.className : '';
        if (!/\bced-/.test(cls)) continue;
        const s = getComputedStyle(el);
        if (/255,\s*140,\s*0/.test(s.backgroundColor)) counts.softmax += 1;
        if (s.outlineStyle === 'solid' && /0,\s*170,\s*255/.test(s.outlineColor)) counts.ssmax += 1;
        if (s.borderTopStyle === 'dashed') counts.query += 1;
      }
      return counts;
    });
  }

  async waitFor(what, probe, timeout = 30_000, every = 200) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < timeout) {
      last = await probe().catch((e) => ({ error: e.message }));
      if (last === true || (last && last.ok)) return last;
      await this.page.waitForTimeout(every);
    }
    throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}; last: ${JSON.stringify(last)}`);
  }
}
