import nodemailer, { type Transporter } from 'nodemailer';

/** Sends plain-text mail through SMTP (SMTP_URL, e.g. smtp://user:pass@host:587). */
export class EmailNotifier {
  private readonly transport: Transporter;
  constructor(url: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(url);
  }
  async send(to: string, subject: string, text: string): Promise<void> {
    await this.transport.sendMail({ from: this.from, to, subject, text });
  }
  close(): void {
    this.transport.close();
  }
}
