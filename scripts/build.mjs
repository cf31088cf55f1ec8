// One esbuild command for everything: extension host (node/cjs), the model process, the CLI,
// the webview (browser), and the tests. `vscode` and onnxruntime-node stay external.
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const list = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f))
    : [];

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node', 'mocha'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts', engine: 'src/core/engineProcess.ts', cli: 'src/cli.ts', bench: 'src/bench.ts' }, outdir: 'out' },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'out',
  },
];
if (!production) {
  const unit = list('test/unit');
  if (unit.length) builds.push({ ...node, entryPoints: unit, outdir: 'out/test/unit' });
  const tools = list('test/tools');
  if (tools.length) builds.push({ ...node, entryPoints: tools, outdir: 'out/test/tools' });
  const suite = list('test/suite');
  if (suite.length) builds.push({ ...node, entryPoints: suite, outdir: 'out/test/suite' });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
