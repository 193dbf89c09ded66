/**
 * How a delivery attempt ended and when to try again. Pure.
 *
 * A message is retried until it goes out: only a permanent rejection fails it for good. Slack: a
 * 4xx other than 429 (a revoked or wrong webhook: 403, 404, 410; a message Slack will never take:
 * 400). SMTP: a 5xx reply (mailbox unknown, relaying denied). Everything else (no answer, a timeout,
 * 5xx from Slack, 429, 4xx from SMTP) is an outage: retried with capped backoff, for as long as it
 * lasts.
 */

/** A rejection that no retry can change: the notification is recorded as `failed`. */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

/** Whether a Slack webhook's HTTP status is a permanent rejection. */
export const slackStatusIsPermanent = (status: number) => status >= 400 && status < 500 && status !== 429 && status !== 408;

/** Whether an SMTP reply code is a permanent rejection. */
export const smtpCodeIsPermanent = (code: number) => code >= 500 && code < 600;

/**
 * Wait before attempt `attempts + 1` after `attempts` failed ones: base * 2^(attempts-1), at most
 * `maxMs`, with up to 20% jitter so that many held messages do not retry in lockstep.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(raw * (0.8 + 0.2 * random()));
}

/**
 * The client timeout of an attempt: generous, and doubled after each failed attempt (at most 8x).
 * An endpoint that answers after the timeout may still have taken the message; the next attempt
 * waits twice as long, so a slow endpoint costs at most about one duplicate, not one per attempt.
 */
export const attemptTimeoutMs = (attempts: number, baseMs: number) => baseMs * 2 ** Math.min(attempts, 3);

/** At most this much text goes out in one message of held-back notifications (Slack takes 40,000). */
export const HELD_TEXT_BUDGET = 35_000;

/**
 * Notifications held back by an outage, delivered together: one message with each one's text,
 * oldest first (callers keep the total within HELD_TEXT_BUDGET).
 */
export function heldBackMessage(held: ReadonlyArray<{ subject: string; body: { text: string }; created_at: Date }>): { subject: string; text: string } {
  const since = held.reduce((a, n) => (n.created_at < a ? n.created_at : a), held[0]!.created_at).toISOString();
  const subject = `[shadowgate] ${held.length} messages held back since ${since}`;
  const text = `${held.length} messages held back since ${since} (delivery was failing), oldest first:\n\n${held.map((n) => n.body.text).join('\n\n———\n\n')}`;
  return { subject, text };
}
