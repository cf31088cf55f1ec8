// Test and start tooling that is fetched on demand (not with every `npm install`):
// Debian's Chromium for browser tests. Installs with apt when missing and we are root.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let aptUpdated = false;
export function aptInstall(packages) {
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing system packages: ${packages.join(' ')}. Install them with: sudo apt-get install -y ${packages.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}

export function ensureChromium() {
  if (!existsSync(CHROMIUM)) aptInstall(['chromium']);
  return CHROMIUM;
}

/** Flags that keep Chromium quiet on a machine with no network (see shared notes). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
