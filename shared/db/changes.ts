import { InputError } from '../errors.js';
import type { Queryable } from './pool.js';
import { requireProjects } from './projects.js';
import { queryOne } from './sql.js';

/** Records a code or permission change; the shadow-clock worker resets the project's clock. */
export async function recordChange(
  db: Queryable,
  c: { projectId: string; kind: string; ref: string; actor: string; at: Date },
): Promise<number> {
  if (c.kind !== 'code' && c.kind !== 'acl') throw new InputError(`unknown change kind "${c.kind}" (code or acl)`);
  if (!c.ref) throw new InputError('--ref is required (the PR or migration)');
  await requireProjects(db, [c.projectId]);
  return (await queryOne<{ id: number }>(db, 'change-record', [c.projectId, c.kind, c.ref, c.actor, c.at])).id;
}
