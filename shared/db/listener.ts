import pg from 'pg';
import { execute } from './sql.js';

/**
 * A recorder that wrote would-be denials notifies at most this often per application session
 * (shadowgate.take_findings() in sql/migrations/002_recording.sql): a listener that wants every
 * row drains once more this long after a hint.
 */
export const AUDIT_NOTIFY_GAP_MS = 50;

export interface ListenerOptions {
  /** called on every notification and after every (re)connect: whatever was missed must be caught up */
  onHint(): void;
  /** a lost or refused connection (once per outage, not once per attempt) and its recovery */
  onState?(up: boolean, detail: string): void;
  /** longest wait between reconnection attempts (ms) */
  maxBackoffMs?: number;
  /** a `SELECT 1` this often notices a half-open connection (ms) */
  checkEveryMs?: number;
}

/**
 * LISTEN shadowgate on a connection of its own, for as long as it is not closed: a lost connection
 * is replaced with backoff (0.1 s doubling up to `maxBackoffMs`), LISTEN is issued again and a hint
 * follows, so the caller catches up on what was committed meanwhile. NOTIFY is only a hint: the
 * events are in tables. Errors never escape; `close()` ends it at once, in every state. (pg-listen
 * did this before; its reconnection loop never stops while the database is unreachable, which kept
 * a stopped process alive.)
 */
export class Listener {
  private closed = false;
  private wakeSleep?: () => void;
  private interrupt?: (why: string) => void;
  private current?: pg.Client;
  private readonly done: Promise<void>;
  private firstConnect!: () => void;
  /** resolves once LISTEN has been issued the first time (or on close) */
  readonly ready: Promise<void>;

  constructor(private readonly url: string, private readonly o: ListenerOptions) {
    this.ready = new Promise((r) => (this.firstConnect = r));
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    let up: boolean | undefined;
    while (!this.closed) {
      const client = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5000, query_timeout: 5000 });
      this.current = client;
      const lost = new Promise<string>((resolve) => {
        client.on('error', (e) => resolve(e.message));
        client.on('end', () => resolve('connection ended'));
        this.interrupt = resolve;
      });
      try {
        await client.connect();
        client.on('notification', (n) => {
          if (n.channel === 'shadowgate') this.o.onHint();
        });
        await execute(client, 'listen');
        if (up === false) this.o.onState?.(true, 'listening again');
        up = true;
        backoff = 100;
        this.firstConnect();
        this.o.onHint();
        const checker = setInterval(() => {
          execute(client, 'database-ping').catch((e: Error) => this.interrupt?.(`check failed: ${e.message}`));
        }, this.o.checkEveryMs ?? 10_000);
        const why = await lost;
        clearInterval(checker);
        if (!this.closed) this.o.onState?.(false, why);
        up = false;
      } catch (err) {
        if (up !== false && !this.closed) this.o.onState?.(false, (err as Error).message);
        up = false;
      }
      client.removeAllListeners('notification');
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (this.closed) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.wakeSleep = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(backoff * 2, this.o.maxBackoffMs ?? 5000);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.firstConnect();
    this.wakeSleep?.();
    this.interrupt?.('closed');
    void this.current?.end().catch(() => undefined); // also abandons a connection attempt
    await this.done;
  }
}
