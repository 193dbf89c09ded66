import { driftCheck } from '../shared/db/doctor.js';
import { execute } from '../shared/db/sql.js';
import { withTransaction } from '../shared/db/pool.js';
import type { Runtime } from '../shared/jobs/runtime.js';

/**
 * Role changes (membership, BYPASSRLS, SUPERUSER) are cluster-wide and fire no event trigger, so
 * the producer compares the catalog with its saved copy every `everyMs` (SHADOWGATE_DRIFT_CHECK_SECONDS);
 * a change resets the shadow clocks in the checking transaction (sql/migrations/005_reach.sql).
 */
export class DriftWatch {
  private timer?: NodeJS.Timeout;
  private running?: Promise<string[]>;

  constructor(private readonly p: Pick<Runtime, 'pool' | 'cfg' | 'clock'>, private readonly everyMs = p.cfg.driftCheckSeconds * 1000) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), Math.max(1000, this.everyMs));
  }

  /** One comparison (never two at once); what changed, [] when nothing or on failure (logged). */
  check(): Promise<string[]> {
    this.running ??= withTransaction(this.p.pool, async (c) => {
      // a migration holding the saved rows must not stall the producer: try again next time
      await execute(c, 'drift-lock-timeout');
      return driftCheck(c, 'periodic drift check (pipeline)', this.p.clock.now());
    })
      .catch((err: Error) => {
        console.error(`shadowgate drift check: ${err.message}`);
        return [];
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
