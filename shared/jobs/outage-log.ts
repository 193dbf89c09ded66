/**
 * An error reporter for things that retry on their own (Redis connections, BullMQ queues and
 * workers): during an outage they fail every second or two; the log gets the first error, then at
 * most one line per `quietMs` with how many were left out.
 */
export function outageLog(what: string, quietMs = 30_000): (err: Error) => void {
  let last = 0;
  let left = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < quietMs) {
      left += 1;
      return;
    }
    console.error(`shadowgate ${what}: ${err.message}${left ? ` (and ${left} more errors since the last report)` : ''}`);
    last = now;
    left = 0;
  };
}
