import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Clock } from '../../shared/clock.js';
import type { Config } from '../../shared/config.js';
import { absorbAndReadDashboardState, type DashboardState } from './state.js';
import { Listener } from '../../shared/db/listener.js';
import type { Pool } from '../../shared/db/pool.js';
import { execute } from '../../shared/db/sql.js';
import { createMetrics } from './metrics.js';
import { renderAll } from './render.js';
import { projectRoot } from '../../shared/paths.js';
import { join } from 'node:path';

export interface DashboardOptions {
  pool: Pool;
  cfg: Config;
  clock: Clock;
  host: string;
  port: number;
  token?: string;
  queues?: Record<string, Queue>;
  /** seconds between refreshes when nothing is heard (time left moves on) */
  refreshSeconds?: number;
}

const tokenOk = (given: string | null, token: string) =>
  given !== null && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

/**
 * The dashboard: GET / (the page, rendered with the data), /api/state (JSON), /events (server-sent events, pushed when the
 * database says something changed), /metrics (Prometheus). A token, when set, is required on every
 * request (?token= or Authorization: Bearer) but /healthz, /runbook and /render.js, which show no data.
 */
export async function startDashboard(o: DashboardOptions): Promise<{ url: string; close(): Promise<void> }> {
  const page = readFileSync(join(projectRoot(), 'cli', 'dashboard', 'page.html'), 'utf8');
  const runbook = readFileSync(join(projectRoot(), 'docs', 'runbooks', 'shadow-monitoring.md'), 'utf8');
  // the page's renderer, compiled: the browser runs the same code as the first paint
  const renderer = readFileSync(join(projectRoot(), 'dist', 'cli', 'dashboard', 'render.js'), 'utf8');
  const metrics = createMetrics(o.pool, o.queues);
  const clients = new Set<ServerResponse>();
  // every read absorbs the audit inbox first (a write), so what is shown includes every committed denial
  const absorbAndRead = () => absorbAndReadDashboardState(o.pool, o.cfg, o.clock.now());
  let last = '';
  let pending: Promise<void> | undefined;
  const push = () => {
    pending ??= (async () => {
      try {
        const s = await absorbAndRead();
        const text = JSON.stringify(s);
        if (text !== last) {
          last = text;
          for (const c of clients) c.write(`data: ${text}\n\n`);
        }
      } catch (err) {
        console.error(`shadowgate dashboard: ${(err as Error).message}`);
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // the container's health check: no token, nothing shown but whether the database answers
    if (url.pathname === '/healthz') {
      const up = await execute(o.pool, 'database-ping').then(() => true, () => false);
      res.writeHead(up ? 200 : 503, { 'content-type': 'text/plain' }).end(up ? 'ok\n' : 'database unreachable\n');
      return;
    }
    // the runbook that emails link to: documentation, no data, so no token
    if (url.pathname === '/runbook') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(runbook);
      return;
    }
    if (url.pathname === '/render.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(renderer);
      return;
    }
    if (o.token) {
      const auth = req.headers.authorization?.replace(/^Bearer /, '') ?? url.searchParams.get('token');
      if (!tokenOk(auth ?? null, o.token)) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('token required\n');
        return;
      }
    }
    switch (url.pathname) {
      case '/': {
        // the first paint carries the data (no script needed to read it); live updates redraw it
        const parts = renderAll(await absorbAndRead());
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page.replace(/<!--([a-z-]+)-->/g, (_, id: string) => parts[id] ?? ''));
        return;
      }
      case '/api/state':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await absorbAndRead()));
        return;
      case '/metrics': {
        const s: DashboardState = await absorbAndRead();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.render(s));
        return;
      }
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        clients.add(res);
        req.on('close', () => clients.delete(res));
        res.write(`data: ${last || JSON.stringify(await absorbAndRead())}\n\n`);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  let hint: ReturnType<typeof setTimeout> | undefined;
  const sub = new Listener(o.cfg.databaseUrl, {
    onHint: () => {
      hint ??= setTimeout(() => {
        hint = undefined;
        void push();
      }, 100); // a burst of commits: one refresh
    },
    onState: (up, detail) => console.error(`shadowgate dashboard: ${up ? 'listening again' : `lost the database (${detail}), reconnecting`}`),
  });
  await sub.ready;
  const tick = setInterval(() => void push(), (o.refreshSeconds ?? 5) * 1000);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`,
    async close() {
      clearInterval(tick);
      if (hint) clearTimeout(hint);
      for (const c of clients) c.end();
      await sub.close();
      await pending;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
