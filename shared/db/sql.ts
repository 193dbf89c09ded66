import { readFileSync } from 'node:fs';
import { sqlDir } from '../paths.js';

const cache = new Map<string, string>();

/** The text of sql/queries/<name>.sql: every query the code runs stands there. */
export function sql(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(sqlDir('queries', `${name}.sql`), 'utf8');
    cache.set(name, text);
  }
  return text;
}
