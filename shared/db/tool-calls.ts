import { createHash } from 'node:crypto';
import { parseTimestamp } from '../clock.js';
import { InputError, RefusedError } from '../errors.js';
import { withTransaction, type Pool } from './pool.js';
import { requireProjects } from './projects.js';
import { queryRows } from './sql.js';

/** At most this many calls per log line (the same bound is a CHECK on shadowgate.tool_call_lines). */
export const MAX_CALLS_PER_LINE = 10_000;
/** A call may be dated this far past the ingesting clock (clock skew between hosts). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface CallLine {
  /** 1-based line number in the log */
  line: number;
  projectId: string;
  at: Date;
  calls: number;
  /** the line's identity: hash of its text and its ordinal among identical lines of the log */
  key: string;
}

/**
 * Parses application-log JSON lines ({"project": "sm", "timestamp": "<complete ISO 8601>",
 * "count"?: 1..10000}). Blank lines are skipped; anything else malformed names its line.
 */
export function parseCallLog(text: string): CallLine[] {
  const out: CallLine[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new InputError(`line ${i + 1}: not JSON`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new InputError(`line ${i + 1}: not a JSON object`);
    const project = rec.project ?? rec.project_id;
    const ts = rec.timestamp ?? rec.ts ?? rec.time;
    const count = rec.count ?? 1;
    if (typeof project !== 'string' || !project) throw new InputError(`line ${i + 1}: no "project"`);
    if (typeof ts !== 'string') throw new InputError(`line ${i + 1}: no "timestamp" (a complete ISO 8601 string)`);
    const at = parseTimestamp(ts, `line ${i + 1}: "timestamp"`);
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_CALLS_PER_LINE) {
      throw new InputError(`line ${i + 1}: "count" must be a whole number from 0 to ${MAX_CALLS_PER_LINE}`);
    }
    const hash = createHash('sha256').update(line).digest('hex');
    const ordinal = seen.get(hash) ?? 0;
    seen.set(hash, ordinal + 1);
    out.push({ line: i + 1, projectId: project, at, calls: count, key: `${hash}.${ordinal}` });
  });
  return out;
}

export interface IngestResult {
  projectId: string;
  /** new lines and the calls they added; lines ingested before add nothing */
  lines: number;
  calls: number;
  duplicates: number;
}

/**
 * Adds the calls, all or nothing: every project must exist and count its transactions from tool
 * calls (refused otherwise: its transactions are counted in the database, and counting both would
 * count the same activity twice), and every call must lie between the project's registration and
 * `now` (plus the clock skew). A line ingested before adds nothing.
 */
export async function ingestCalls(pool: Pool, lines: readonly CallLine[], now: Date): Promise<IngestResult[]> {
  const projects = [...new Set(lines.map((l) => l.projectId))];
  return withTransaction(pool, async (db) => {
    await requireProjects(db, projects);
    const rows = await queryRows<{ project_id: string; created_at: Date; transactions_from: string }>(db, 'projects-counting', [projects]);
    const byId = new Map(rows.map((r) => [r.project_id, r]));
    const counted = rows.filter((r) => r.transactions_from !== 'tool-calls').map((r) => r.project_id);
    if (counted.length) {
      throw new RefusedError(`${counted.join(', ')} count${counted.length === 1 ? 's' : ''} transactions in the database (set_project_context); tool calls are counted only for a project registered with --transactions-from tool-calls (nothing ingested)`);
    }
    const latest = new Date(now.getTime() + CLOCK_SKEW_MS);
    for (const l of lines) {
      if (l.at > latest) throw new InputError(`line ${l.line}: ${l.at.toISOString()} is in the future (nothing ingested)`);
      const created = byId.get(l.projectId)!.created_at;
      if (l.at < created) throw new InputError(`line ${l.line}: ${l.at.toISOString()} is before ${l.projectId} was registered (${created.toISOString()}; nothing ingested)`);
    }
    const added = await queryRows<{ project_id: string; lines: number; calls: number }>(db, 'tool-calls-ingest',
      [lines.map((l) => l.projectId), lines.map((l) => l.key), lines.map((l) => l.at), lines.map((l) => l.calls), now]);
    const byProject = new Map(added.map((r) => [r.project_id, r]));
    return projects.map((p) => {
      const total = lines.filter((l) => l.projectId === p).length;
      const a = byProject.get(p);
      return { projectId: p, lines: a?.lines ?? 0, calls: a?.calls ?? 0, duplicates: total - (a?.lines ?? 0) };
    });
  });
}
