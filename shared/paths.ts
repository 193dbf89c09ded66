import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json is), from sources or from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('shadowgate: cannot find the package root');
    dir = up;
  }
  return dir;
}

export const sqlDir = (...parts: string[]) => join(projectRoot(), 'sql', ...parts);
