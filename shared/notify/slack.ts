import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import { PermanentDeliveryError, slackStatusIsPermanent } from './delivery.js';

/**
 * Posts a Block Kit message to the Slack incoming webhook. Throws when Slack does not take it:
 * PermanentDeliveryError when it never will (see delivery.ts), any other error for an outage.
 */
export class SlackNotifier {
  constructor(private readonly url: string, private readonly channel: string) {}
  async send(text: string, blocks: unknown[] | undefined, timeoutMs: number): Promise<void> {
    // no retries inside: the pipeline retries, with one attempt in flight per message
    const hook = new IncomingWebhook(this.url, { timeout: timeoutMs });
    try {
      await hook.send({ channel: this.channel, text, ...(blocks?.length ? { blocks: blocks as never } : {}) });
    } catch (err) {
      if (err instanceof IncomingWebhookHTTPError && slackStatusIsPermanent(err.statusCode)) {
        throw new PermanentDeliveryError(`Slack refused the message: HTTP ${err.statusCode} ${String(err.body).slice(0, 200)}`);
      }
      // undici says only "fetch failed": the reason is in the cause
      const cause = (err as { original?: { cause?: { code?: string; message?: string } } }).original?.cause;
      if (cause) throw new Error(`${(err as Error).message}: ${cause.code ?? ''} ${cause.message ?? ''}`.trim());
      throw err;
    }
  }
}
