import { spawn, execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * PostgreSQL and Redis servers of a fault test's own (never the shared 5432/6379): started on free
 * ports in a temporary directory, killed and restarted at will, removed at the end.
 */

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// initdb and postgres refuse to run as root: as root, run them as the postgres user
const asServerUser = (cmd: string, args: string[]): [string, string[]] =>
  userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

async function exec(cmd: string, args: string[]): Promise<string> {
  const [c, a] = asServerUser(cmd, args);
  const { stdout } = await run(c, a, { maxBuffer: 16 << 20 });
  return stdout;
}

export interface PgCluster {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(db?: string): string;
  start(): Promise<void>;
  /** `fast`: a clean restart's shutdown; `immediate`: a crash (unlogged tables are emptied on start) */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  destroy(): Promise<void>;
}

/** A temporary directory the server user owns. */
async function serverDir(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (userInfo().uid === 0) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
  return dir;
}

/** Settings written after whatever postgresql.auto.conf holds (a later line wins): this cluster's port and socket. */
async function appendConf(dir: string, data: string, port: number, more: readonly string[]): Promise<void> {
  appendFileSync(join(data, 'postgresql.auto.conf'), `${[
    `port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, ...more,
  ].join('\n')}\n`);
  if (userInfo().uid === 0) await run('chown', ['postgres', join(data, 'postgresql.auto.conf')]);
}

/** Controls of the cluster in `dir`/data (listening on `port`), started. */
async function startedCluster(dir: string, data: string, port: number): Promise<PgCluster> {
  const pgctl = join(PG_BIN, 'pg_ctl');
  const cluster: PgCluster = {
    port,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    async start() {
      await exec(pgctl, ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    },
    async stop(mode = 'fast') {
      await exec(pgctl, ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    },
    async restart(mode = 'fast') {
      await cluster.stop(mode);
      await cluster.start();
    },
    async destroy() {
      await cluster.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

/** A new cluster (initdb: superuser postgres, trust auth, replication connections from 127.0.0.1 allowed), `conf`: more settings. */
export async function startPgCluster(conf: readonly string[] = []): Promise<PgCluster> {
  const dir = await serverDir('sg-pg-');
  const data = join(dir, 'data');
  const port = await freePort();
  await exec(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  await appendConf(dir, data, port, [
    'fsync = off', 'full_page_writes = off', 'max_connections = 100', 'shared_buffers = 64MB',
    "log_min_messages = fatal", 'logging_collector = off', ...conf,
  ]);
  return startedCluster(dir, data, port);
}

/**
 * A streaming hot standby of `primary` (pg_basebackup -R: a copy of its data directory, settings
 * included, replaying its WAL), on a port of its own. Read-only: every transaction there is.
 */
export async function startHotStandby(primary: PgCluster): Promise<PgCluster> {
  const dir = await serverDir('sg-pg-standby-');
  const data = join(dir, 'data');
  const port = await freePort();
  await exec(join(PG_BIN, 'pg_basebackup'), ['-D', data, '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres',
    '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
  await appendConf(dir, data, port, ['hot_standby = on']);
  return startedCluster(dir, data, port);
}

export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: everything in memory is gone (it keeps nothing on disk) */
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-redis-'));
  const port = await freePort();
  let proc: ReturnType<typeof spawn> | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        proc!.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('Ready to accept connections')) resolve();
        });
        proc!.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
      });
      proc.stdout!.resume();
    },
    async kill() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      });
    },
    async destroy() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export interface FlakySlack {
  url: string;
  /** every message taken, in order of arrival, with the moment it arrived (ms since the epoch) */
  messages: Array<{ text: string; blocks?: unknown[]; at: number }>;
  /** every request, refused ones included */
  requests: number;
  /** answers 503 to every request while true (an outage), `status` when set (e.g. 404: a revoked webhook) */
  refuse: boolean;
  status?: number;
  /** ms before each answer (a slow endpoint) */
  delayMs: number;
  /** requests being answered now, and the most there ever were at once */
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

/** A local Slack webhook whose outages the test switches on and off. */
export async function flakySlack(): Promise<FlakySlack> {
  const { createServer: createHttp } = await import('node:http');
  const server = createHttp((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      sink.requests += 1;
      sink.inFlight += 1;
      sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight);
      if (sink.delayMs) await new Promise((r) => setTimeout(r, sink.delayMs));
      sink.inFlight -= 1;
      if (sink.status) return void res.writeHead(sink.status).end('no_service');
      if (sink.refuse) return void res.writeHead(503).end('unavailable');
      sink.messages.push({ ...JSON.parse(body), at: Date.now() });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const sink: FlakySlack = {
    url: `http://127.0.0.1:${port}/slack`, messages: [], requests: 0, refuse: false, delayMs: 0, inFlight: 0, maxInFlight: 0,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  return sink;
}
