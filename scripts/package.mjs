// `npm run package [-- TARGET ...]`: one VSIX per platform that onnxruntime-node ships binaries for, each holding
// only its own platform's binaries (vsce package --target T with a per-target ignore file), in dist/.
// Targets without binaries in onnxruntime-node 1.30 (darwin-x64, alpine-*, web) are refused with the reason.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
/** vsce target → onnxruntime-node's binary folder. */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
  'darwin-arm64': 'darwin/arm64',
};

/**
 * The binary files a target ships: everything in its folder except GPU provider libraries a build machine may have
 * downloaded (CUDA, TensorRT: the user's own install brings them) and the second copy of the macOS library (the
 * binding loads @rpath/libonnxruntime.1.dylib; the npm package also has it under its full version).
 */
export function binariesOf(target) {
  const dir = join(ROOT, BIN, TARGETS[target]);
  return readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isFile())
    .filter((f) => !/providers_(cuda|tensorrt|shared)/.test(f))
    .filter((f) => !(target === 'darwin-arm64' && /^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(f)))
    .map((f) => `${BIN}/${TARGETS[target]}/${f}`);
}

function main() {
  const asked = process.argv.slice(2);
  const targets = asked.length ? asked : Object.keys(TARGETS);
  const refused = targets.filter((t) => !(t in TARGETS));
  if (refused.length) {
    console.error(
      `npm run package: no VSIX for ${refused.join(', ')}: onnxruntime-node 1.30 ships native binaries only for ${Object.keys(TARGETS).join(', ')} ` +
        '(no Intel macOS build, glibc only: no Alpine), and the extension cannot run its model without them.',
    );
    process.exit(2);
  }
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--production'], { cwd: ROOT, stdio: 'inherit' });
  // the shared list without any binaries; each target adds its own files by name (a `!dir/**` would win over exclusions)
  const base = readFileSync(join(ROOT, '.vscodeignore'), 'utf8')
    .split('\n')
    .filter((l) => !l.includes('onnxruntime-node/bin/'));
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (const t of targets) {
    const ignore = join(ROOT, 'dist', `.vscodeignore-${t}`);
    writeFileSync(ignore, [...base, `# ${t}: its onnxruntime binaries only`, ...binariesOf(t).map((f) => `!${f}`)].join('\n') + '\n');
    const out = join(ROOT, 'dist', `attention-inspector-${t}.vsix`);
    execFileSync(
      join(ROOT, 'node_modules', '.bin', 'vsce'),
      ['package', '--target', t, '--ignoreFile', ignore, '--allow-missing-repository', '--no-rewrite-relative-links', '--skip-license', '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    console.log(`${t}: ${(statSync(out).size / 2 ** 20).toFixed(1)} MB → ${out}`);
  }
}

if (process.argv[1] === import.meta.filename) main();
