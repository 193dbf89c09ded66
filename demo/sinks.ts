import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * Local stand-ins for Slack and SMTP: the demo starts them when no SLACK_WEBHOOK_URL / SMTP_URL is
 * configured, and the tests talk to them as real servers.
 */
export interface SlackSink {
  url: string;
  messages: Array<{ text: string; blocks?: unknown[] }>;
  /** every request, failed ones included */
  requests: number;
  close(): Promise<void>;
}

/**
 * An HTTP server taking Slack webhook posts; answers 500 to the first `failFirst` requests and
 * takes `delayMs` to answer each.
 */
export async function slackSink(failFirst = 0, delayMs = 0): Promise<SlackSink> {
  let fails = failFirst;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      sink.requests += 1;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (fails > 0) {
        fails -= 1;
        res.writeHead(500).end('boom');
        return;
      }
      sink.messages.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const sink: SlackSink = {
    url: `http://127.0.0.1:${port}/slack`,
    messages: [],
    requests: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return sink;
}

export interface Mail {
  to: string[];
  subject: string;
  data: string;
}

/** An SMTP server collecting every mail. */
export async function smtpSink(): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (d) => (data += d));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), subject: /^Subject: (.*)$/m.exec(data)?.[1] ?? '', data });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
