import type { Job } from 'bullmq';
import { clockResetRecorded, resetShadowClock } from '../shared/db/phases.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import type { ShadowClockJob } from '../shared/jobs/queues.js';

/**
 * A read-permission change (of the reader) or a recorded code/ACL change resets the shadow clock, at
 * the worker's clock (a worker that catches up late restarts the clock late: the safe side).
 */
export function shadowClockProcessor(p: Runtime) {
  return async (job: Job<ShadowClockJob>): Promise<string> => {
    const { eventId, kind, projectId, payload } = job.data;
    const reason = kind === 'permission_change'
      ? `read permission ${payload.op === 'delete' ? 'revoked' : 'granted'}: ${projectId} -> ${payload.target} (event ${eventId})`
      : `${payload.kind} change ${payload.ref} (event ${eventId})`;
    if (await clockResetRecorded(p.pool, projectId, reason)) return 'already reset';
    return (await resetShadowClock(p.pool, projectId, p.clock.now(), 'shadowgate', reason)) ? 'reset' : 'not in shadow';
  };
}
