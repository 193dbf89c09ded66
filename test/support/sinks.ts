import { createServer, type Server } from 'node:http';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** A real local HTTP server standing in for Slack's webhook; `failFirst` answers 500 that many times. */
export async function slackSink(failFirst = 0): Promise<{ url: string; messages: Array<{ text: string; blocks?: unknown[] }>; requests: number; close(): Promise<void> }> {
  const state = { messages: [] as Array<{ text: string; blocks?: unknown[] }>, requests: 0, fails: failFirst };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      state.requests += 1;
      if (state.fails > 0) {
        state.fails -= 1;
        res.writeHead(500).end('boom');
        return;
      }
      state.messages.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get messages() { return state.messages; },
    get requests() { return state.requests; },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A real local SMTP server collecting every mail. */
export async function smtpSink(): Promise<{ url: string; mails: Array<{ to: string[]; data: string }>; close(): Promise<void> }> {
  const mails: Array<{ to: string[]; data: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (d) => (data += d));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise((r) => server.close(() => r())) };
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
