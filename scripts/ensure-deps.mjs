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
  execSync('npm ci --no-audit --no-fund', { cwd: ROOT, stdio: 'inherit', env: onnxruntimeInstallEnv(process.env) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();

/**
 * The environment for `npm ci`: onnxruntime-node's postinstall downloads CUDA libraries from NuGet (it fails offline),
 * so it is skipped unless the user chose otherwise. ONNXRUNTIME_NODE_INSTALL, when set, wins over
 * ONNXRUNTIME_NODE_INSTALL_CUDA in its install script, so setting it whenever it is unset would override a user's
 * ONNXRUNTIME_NODE_INSTALL_CUDA=v12: either variable set means the user decided.
 */
export function onnxruntimeInstallEnv(env) {
  if (env.ONNXRUNTIME_NODE_INSTALL !== undefined || env.ONNXRUNTIME_NODE_INSTALL_CUDA !== undefined) return { ...env };
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}
