import { InputError } from '../errors.js';
import { withTransaction, type Pool } from './pool.js';
import { requireProjects } from './projects.js';
import { execute } from './sql.js';

export interface CallCount {
  projectId: string;
  bucket: Date;
  calls: number;
}

/**
 * Parses application-log JSON lines ({"project": "sm", "timestamp": "...", "count"?: n}) into
 * per-minute counts. Blank lines are skipped; anything else malformed names its line.
 */
export function parseCallLog(text: string): CallCount[] {
  const buckets = new Map<string, CallCount>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new InputError(`line ${i + 1}: not JSON`);
    }
    const project = rec.project ?? rec.project_id;
    const ts = rec.timestamp ?? rec.ts ?? rec.time;
    const count = rec.count ?? 1;
    if (typeof project !== 'string' || !project) throw new InputError(`line ${i + 1}: no "project"`);
    const t = typeof ts === 'string' || typeof ts === 'number' ? new Date(ts) : new Date(NaN);
    if (Number.isNaN(t.getTime())) throw new InputError(`line ${i + 1}: no parsable "timestamp"`);
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw new InputError(`line ${i + 1}: "count" must be a non-negative integer`);
    const bucket = new Date(Math.floor(t.getTime() / 60_000) * 60_000);
    const key = `${project}\u0000${bucket.toISOString()}`;
    const b = buckets.get(key) ?? { projectId: project, bucket, calls: 0 };
    b.calls += count;
    buckets.set(key, b);
  });
  return [...buckets.values()];
}

/** Adds the counts, all or nothing (an unknown project changes nothing). */
export async function ingestCalls(pool: Pool, counts: CallCount[]): Promise<Map<string, number>> {
  const perProject = new Map<string, number>();
  for (const c of counts) perProject.set(c.projectId, (perProject.get(c.projectId) ?? 0) + c.calls);
  await withTransaction(pool, async (db) => {
    await requireProjects(db, [...perProject.keys()]);
    await execute(db, 'tool-calls-add', [counts.map((c) => c.projectId), counts.map((c) => c.bucket), counts.map((c) => c.calls)]);
    await execute(db, 'tool-calls-event', [[...perProject.keys()], [...perProject.values()]]);
  });
  return perProject;
}
