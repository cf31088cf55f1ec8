// Builds the webview (webview/main.ts) and src/webviewHtml.ts with esbuild's API and serves them over
// http://127.0.0.1:<random port> under the real CSP, as VS Code would show them. Used by the Chromium tests
// (run.mjs) and the webview benchmark (bench/webview.mjs).
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** @returns {Promise<{ origin: string, server: import('node:http').Server, buildDir: string }>} */
export async function serveWebview() {
  const buildDir = mkdtempSync(join(tmpdir(), 'attn-webview-'));
  await esbuild.build({
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    sourcemap: 'inline',
    logLevel: 'warning',
    entryPoints: { webview: 'webview/main.ts' },
    outdir: buildDir,
  });
  await esbuild.build({
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    entryPoints: { webviewHtml: 'src/webviewHtml.ts' },
    outdir: buildDir,
    outExtension: { '.js': '.mjs' },
  });
  const { renderWebviewHtml, makeNonce } = await import(pathToFileURL(join(buildDir, 'webviewHtml.mjs')).href);
  const files = {
    '/out/webview.js': { path: join(buildDir, 'webview.js'), type: 'text/javascript' },
    '/media/webview.css': { path: join(root, 'media', 'webview.css'), type: 'text/css' },
  };
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      const html = renderWebviewHtml({
        cspSource: origin,
        nonce: makeNonce(),
        scriptUri: `${origin}/out/webview.js`,
        styleUri: `${origin}/media/webview.css`,
        title: 'Attention',
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // VS Code's webviews ask for none; keep the console clean
      return;
    }
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    res.end(readFileSync(file.path));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, server, buildDir };
}
