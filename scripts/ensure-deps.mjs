// Installs the npm dependencies when they are missing or older than package-lock.json. Uses only Node built-ins,
// so `npm start` and `npm test` work on a fresh clone. onnxruntime-node's postinstall would download CUDA
// binaries (offline here): skip it; CUDA users see README "GPU".
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function ensureDeps() {
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  const lock = join(ROOT, 'package-lock.json');
  const fresh = existsSync(marker) && existsSync(join(ROOT, 'node_modules', 'esbuild')) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  console.log('Installing npm dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund', { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' } });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();
