import { IncomingWebhook } from '@slack/webhook';

/** Posts a Block Kit message to the Slack incoming webhook. Throws when Slack does not take it. */
export class SlackNotifier {
  private readonly hook: IncomingWebhook;
  constructor(url: string, private readonly channel: string) {
    this.hook = new IncomingWebhook(url, { timeout: 5000 });
  }
  async send(text: string, blocks: unknown[] | undefined): Promise<void> {
    await this.hook.send({ channel: this.channel, text, ...(blocks ? { blocks: blocks as never } : {}) });
  }
}
