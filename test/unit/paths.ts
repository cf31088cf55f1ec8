import * as path from 'node:path';

/** Repository root (tests are bundled to out/test/unit/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const fixture = (...p: string[]) => path.join(ROOT, 'test', 'fixtures', ...p);
export const modelsDir = path.join(ROOT, 'models');
