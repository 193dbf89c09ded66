import type { Job } from 'bullmq';
import type { Pipeline } from '../shared/jobs/runtime.js';
import type { ShadowClockJob } from '../shared/jobs/queues.js';

/**
 * A read-permission change (of the reader) or a recorded code/ACL change resets the shadow clock, at
 * the worker's clock (a worker that catches up late restarts the clock late: the safe side).
 */
export function shadowClockProcessor(p: Pipeline) {
  return async (job: Job<ShadowClockJob>): Promise<string> => {
    const { eventId, kind, projectId, payload } = job.data;
    const reason = kind === 'permission_change'
      ? `read permission ${payload.op === 'delete' ? 'revoked' : 'granted'}: ${projectId} -> ${payload.target} (event ${eventId})`
      : `${payload.kind} change ${payload.ref} (event ${eventId})`;
    const done = await p.pool.query(`SELECT 1 FROM shadowgate.rls_phase_history WHERE project_id = $1 AND reason = $2`, [projectId, reason]);
    if (done.rowCount) return 'already reset';
    const { rows } = await p.pool.query<{ reset: boolean }>('SELECT shadowgate.reset_shadow_clock($1, $2, $3, $4) AS reset', [projectId, p.clock.now(), 'shadowgate', reason]);
    return rows[0].reset ? 'reset' : 'not in shadow';
  };
}
