/** How long a stopping daemon may take before it is cut short (a supervisor's limit is ~10 s). */
export const STOP_BUDGET_MS = 8000;

export interface Running {
  stop(): Promise<void>;
}

/**
 * Runs a long-lived command (`run`, `dashboard`). The SIGTERM/SIGINT handlers are installed before
 * anything connects, so a signal is honoured in every state: while starting, while running, while
 * the database or Redis is gone. On the first signal it stops cleanly (jobs in hand finish); a stop
 * that takes longer than `budgetMs` (a job stuck on an unreachable server) is cut short with exit 0
 * after saying so: what was in hand is picked up again after a restart (leases, stalled jobs). A
 * second signal exits at once. Start-up errors (bad configuration, unreachable at start) propagate:
 * one line, exit 2.
 */
export async function runDaemon(name: string, start: () => Promise<Running>, budgetMs = STOP_BUDGET_MS): Promise<void> {
  let signalled: (sig: string) => void = () => undefined;
  const signal = new Promise<string>((r) => (signalled = r));
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      console.error(`shadowgate ${name}: ${sig} again, exiting now`);
      process.exit(0);
    }
    signalled(sig);
    setTimeout(() => {
      console.error(`shadowgate ${name}: not stopped within ${budgetMs} ms, exiting anyway`);
      process.exit(0);
    }, budgetMs).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const started = await Promise.race([start(), signal.then(() => undefined)]);
    if (!started) return; // signalled while starting: nothing to stop yet (the timer ends what is half open)
    await signal;
    await started.stop();
    console.log(`shadowgate ${name}: stopped`);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
