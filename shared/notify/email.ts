import nodemailer, { type Transporter } from 'nodemailer';
import { PermanentDeliveryError, smtpCodeIsPermanent } from './delivery.js';

/**
 * Sends mail (text, and HTML when given) through SMTP (SMTP_URL, e.g. smtp://user:pass@host:587). Throws
 * PermanentDeliveryError on a 5xx reply (see delivery.ts), any other error for an outage.
 */
export class EmailNotifier {
  private readonly transport: Transporter;
  constructor(url: string, private readonly from: string, timeoutMs: number) {
    this.transport = nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } as never);
  }
  async send(to: string, subject: string, text: string, html?: string): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to, subject, text, ...(html ? { html } : {}) });
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      if (code !== undefined && smtpCodeIsPermanent(code)) throw new PermanentDeliveryError(`the mail server refused: ${(err as Error).message}`);
      throw err;
    }
  }
  close(): void {
    this.transport.close();
  }
}
