/**
 * The panel's HTML: a static skeleton that webview/main.ts fills in, under a strict Content-Security-Policy.
 * Pure (no `vscode` import) so the browser test renders exactly what the extension serves.
 *
 * No 'unsafe-inline' for styles, and no style nonce: the @vscode-elements/elements components (lit) style
 * their shadow roots through constructable stylesheets (adoptedStyleSheets) and set computed positions
 * through CSSOM, and our own per-token colours are set through CSSOM too (element.style.setProperty), none
 * of which style-src restricts; the only stylesheet is media/webview.css from cspSource. (The archived
 * @vscode/webview-ui-toolkit needed this render's nonce in style-src for an empty <style> element it appended
 * at start-up; its successor appends none.) The browser test asserts that a `securitypolicyviolation` never fires.
 * img-src admits data: because PNG export draws the chart's SVG through an <img> of a data: URL onto a canvas.
 */

export interface WebviewHtmlOptions {
  /** The webview's resource origin (vscode.Webview.cspSource). */
  cspSource: string;
  /** A fresh random nonce per render (makeNonce). */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  title: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function renderWebviewHtml(o: WebviewHtmlOptions): string {
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource}`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<header id="header">
  <div id="model-info" class="model-info">
    <span id="model-name" class="model-name">No model yet</span>
    <span id="model-normaliser" class="model-normaliser"></span>
    <span id="execution-provider" class="execution-provider"></span>
    <span id="file-name" class="file-name"></span>
  </div>
  <div id="controls" class="controls"></div>
</header>
<div id="message" class="message" hidden></div>
<p id="cap-note" class="cap-note" hidden></p>
<div id="legend-row" class="legend-row"><div id="legend" class="legend"></div><button id="legend-fold" class="legend-fold" type="button"></button></div>
<p id="shortcuts" class="shortcuts"></p>
<main id="layout" class="layout">
  <section id="tokens" class="tokens" aria-busy="true"></section>
  <aside id="side" class="side">
    <section class="panel-section">
      <h2>Focus of the selected token</h2>
      <div id="stats" class="stats"></div>
    </section>
    <section class="panel-section">
      <h2>Most attended</h2>
      <div id="topk-header" class="topk-header"></div>
      <ol id="topk" class="topk"></ol>
    </section>
  </aside>
</main>
<div id="splitter" class="splitter"></div>
<section id="views" class="views" aria-label="Views of the selected token">
  <div class="views-header">
    <div id="view-tabs" class="view-tabs"></div>
    <div id="export-bar"></div>
  </div>
  <div id="view-panels" class="view-panels"></div>
</section>
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** 32 hex characters from the platform CSPRNG (Web Crypto, present in Node 20+ and browsers). */
export function makeNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
