import type { Queryable } from '../db/pool.js';
import { queryOne } from '../db/sql.js';

export interface PipelineHealth {
  healthy: boolean;
  /** why not, one reason per line (empty when healthy) */
  problems: string[];
  /** seconds since a producer / a worker process last made progress (null: never) */
  producerAge: number | null;
  workersAge: number | null;
  pendingDeliveries: number;
  failedDeliveries: number;
  lastDeliveryError: string | null;
  stuckDeliveries: number;
  overdueTimers: number;
}

interface HealthRow {
  producer_age: number | null;
  workers_age: number | null;
  pending: number;
  deliveries_stuck: number;
  failed: number;
  last_error: string | null;
  timers_overdue: number;
}

/**
 * Whether the pipeline makes progress, from what its processes record in the database: a producer
 * and a worker process that reached PostgreSQL and Redis within `maxAgeSeconds`, and no work left
 * waiting longer than that (a delivery due that nobody attempts, a timer due that nobody fires).
 * An outage of Slack or SMTP is progress (retries go on) and shows as pending deliveries; a
 * permanent rejection shows as failed ones; neither makes the pipeline unhealthy.
 */
export async function pipelineHealth(db: Queryable, maxAgeSeconds: number): Promise<PipelineHealth> {
  const r = await queryOne<HealthRow>(db, 'pipeline-health', [maxAgeSeconds]);
  const problems: string[] = [];
  const age = (role: string, a: number | null) => {
    if (a === null) problems.push(`no ${role} process has ever made progress`);
    else if (a > maxAgeSeconds) problems.push(`no ${role} progress for ${Math.round(a)} s`);
  };
  age('producer', r.producer_age);
  age('worker', r.workers_age);
  if (r.deliveries_stuck) problems.push(`${r.deliveries_stuck} deliveries due for more than ${maxAgeSeconds} s and not attempted`);
  if (r.timers_overdue) problems.push(`${r.timers_overdue} timers due for more than ${maxAgeSeconds} s and not fired`);
  return {
    healthy: problems.length === 0,
    problems,
    producerAge: r.producer_age,
    workersAge: r.workers_age,
    pendingDeliveries: r.pending,
    failedDeliveries: r.failed,
    lastDeliveryError: r.last_error,
    stuckDeliveries: r.deliveries_stuck,
    overdueTimers: r.timers_overdue,
  };
}
