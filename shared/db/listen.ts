import pgListen, { type Subscriber } from 'pg-listen';

// pg-listen is CommonJS with `exports.default`
const create = ((pgListen as unknown as { default?: typeof pgListen }).default ?? pgListen) as unknown as typeof pgListen.default;

/**
 * A committing transaction that recorded would-be denials notifies at most this often per session
 * (shadowgate.flush_denials() in sql/migrations/002_recording.sql): a listener that wants every
 * row drains once more this long after a hint.
 */
export const AUDIT_NOTIFY_GAP_MS = 50;

/**
 * A LISTEN connection on the channel "shadowgate" (a hint that something changed: never the data).
 * Payloads are plain strings; it reconnects forever; errors are reported, never thrown.
 */
export async function listen(databaseUrl: string, onHint: () => void, onError: (e: Error) => void): Promise<Subscriber> {
  const sub = create({ connectionString: databaseUrl }, { parse: (s: string) => s, retryTimeout: Infinity, paranoidChecking: 10_000 });
  sub.events.on('error', onError);
  sub.events.on('reconnect', onHint);
  sub.notifications.on('shadowgate', onHint);
  await sub.connect();
  await sub.listenTo('shadowgate');
  return sub;
}
