// A stand-in for the extension host (src/vscode/panel.ts) on the other side of the webview protocol.
// In the page, an init script provides `acquireVsCodeApi` (callable once, like VS Code's), keeps the
// webview state in sessionStorage so it survives a reload, and forwards posted messages here through a
// Playwright binding. Replies go back as window 'message' events, which is how VS Code delivers them.
import { defaultHead, generatedAttention } from './fixture.mjs';

/** Runs in the page before any of its scripts. */
function installVsCodeApi() {
  const w = window;
  w.__violations = [];
  w.__dialogs = 0;
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = { directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample };
    w.__violations.push(v);
    w.__reportViolation(v);
  });
  let acquired = 0;
  w.__acquireCount = () => acquired;
  w.acquireVsCodeApi = () => {
    acquired++;
    if (acquired > 1) throw new Error('An instance of the VS Code API has already been acquired');
    return Object.freeze({
      postMessage: (message) => w.__toHost(structuredClone(message)),
      getState: () => {
        const s = sessionStorage.getItem('vscode-webview-state');
        return s === null ? undefined : JSON.parse(s);
      },
      setState: (state) => {
        sessionStorage.setItem('vscode-webview-state', JSON.stringify(state));
        return state;
      },
    });
  };
}

export class StandInHost {
  /** Every message the webview posted, in order. */
  received = [];
  violations = [];
  selection = undefined;
  overlay = true;
  comparison = false;
  /** When false, the host records messages but does not answer (for tests that drive it by hand). */
  answering = true;

  constructor(page, fixture) {
    this.page = page;
    this.fixture = fixture;
    this.documentMessage = fixture.document;
    this.head = defaultHead(fixture.document);
  }

  async install() {
    await this.page.exposeFunction('__toHost', (m) => this.onMessage(m));
    await this.page.exposeFunction('__reportViolation', (v) => this.violations.push(v));
    await this.page.addInitScript(installVsCodeApi);
  }

  async post(message) {
    await this.page.evaluate((m) => window.postMessage(m, '*'), message);
  }

  attentionFor(position, head = this.head) {
    const fromFile = this.fixture.attention[String(position)];
    const doc = this.documentMessage;
    if (doc === this.fixture.document && fromFile && sameHead(fromFile.head, head)) return fromFile;
    return generatedAttention(doc, position, head);
  }

  /** The real model's cells for every layer × head at `position` (fixture document only). */
  headsFor(position) {
    return this.documentMessage === this.fixture.document ? this.fixture.heads[String(position)] : undefined;
  }

  /** The real focus curve of a head choice (fixture document only). */
  focusFor(head = this.head) {
    return this.documentMessage === this.fixture.document ? this.fixture.focus[`${head.layer}:${head.head}`] : undefined;
  }

  /** The other shipped model's payload for the selection (fixture document and default head only). */
  comparisonFor(position = this.selection) {
    const c = this.fixture.comparison;
    if (!c || this.documentMessage !== this.fixture.document) return undefined;
    const { doc } = this.documentMessage;
    const attention = position === undefined ? undefined : c.attention[String(position)];
    const usable = attention && sameHead(attention.head, this.head) ? attention : undefined;
    return { model: c.model, analysedTokens: doc.tokens.length, totalTokens: doc.totalTokens, attention: usable };
  }

  settings() {
    return { type: 'settings', overlay: this.overlay, head: this.head, comparison: this.comparison };
  }

  async postViews() {
    const focus = this.focusFor();
    if (focus) await this.post({ type: 'focusCurve', curve: focus });
    if (this.selection === undefined) return;
    const heads = this.headsFor(this.selection);
    if (heads) await this.post({ type: 'heads', heads });
    if (this.comparison) await this.post({ type: 'comparison', comparison: this.comparisonFor() ?? null });
  }

  /** Positions the fixture has rows for under the default head (all of them for a generated fixture). */
  positions() {
    const keys = Object.keys(this.fixture.attention);
    if (keys.length) return keys.map(Number).sort((a, b) => a - b);
    return this.fixture.document.doc.tokens.map((_, i) => i);
  }

  async onMessage(m) {
    this.received.push(m);
    if (!this.answering) return;
    switch (m.type) {
      case 'ready':
        // A fresh webview: the stand-in forgets the selection, so restoring it is the webview's job.
        this.selection = undefined;
        await this.post(this.documentMessage);
        await this.post(this.settings());
        await this.post({ type: 'progress', progress: this.progress(true) });
        // the loss strip, as the host sends it once the analysis is done (both models: the fixture's has two)
        if (this.fixture.loss)
          await this.post({ type: 'loss', loss: { ...this.fixture.loss, uri: this.documentMessage.doc.uri, version: this.documentMessage.doc.version } });
        await this.postViews();
        break;
      case 'selectToken':
        this.selection = m.position;
        await this.post({ type: 'attention', attention: this.attentionFor(m.position) });
        await this.postViews();
        break;
      case 'selectHead':
        this.head = m.head;
        await this.post(this.settings());
        if (this.selection !== undefined) await this.post({ type: 'attention', attention: this.attentionFor(this.selection) });
        await this.postViews();
        break;
      case 'setOverlay':
        this.overlay = m.on;
        await this.post(this.settings());
        break;
      case 'setComparison':
        this.comparison = m.on;
        await this.post(this.settings());
        await this.post({ type: 'comparison', comparison: m.on ? (this.comparisonFor() ?? null) : null });
        break;
      case 'runProbe':
        // Only the real model's probe results are ever shown: without them in the fixture, nothing comes back.
        if (this.fixture.probe) await this.post({ type: 'probe', probe: this.fixture.probe });
        break;
      case 'runNeedleMap':
        if (this.fixture.needleMap) await this.post({ type: 'needleMap', map: this.fixture.needleMap });
        break;
      default:
        break; // revealToken moves the editor cursor in the real host, export opens a save dialog: nothing to send back
    }
  }

  progress(done, running = !done) {
    const { doc } = this.documentMessage;
    return {
      uri: doc.uri,
      version: doc.version,
      analysedTokens: done ? doc.tokens.length : Math.floor(doc.tokens.length / 3),
      totalTokens: doc.tokens.length,
      done,
      running,
      elapsedMs: 1234,
    };
  }

  /** Waits for the next message (after index `from`) that satisfies `pred`. */
  async waitFor(pred, from = 0, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message from the webview; got ${JSON.stringify(this.received.slice(from).map((x) => x.type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function sameHead(a, b) {
  return !!a && !!b && a.layer === b.layer && a.head === b.head;
}
