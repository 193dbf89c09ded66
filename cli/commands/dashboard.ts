import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { runDaemon } from '../daemon.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('a live web dashboard and Prometheus /metrics (127.0.0.1 unless --host; elsewhere a token is required)')
    .option('--port <n>', 'port', '8080')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--token <secret>', 'required on every request (default: $SHADOWGATE_DASHBOARD_TOKEN)')
    .action(async (o) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be a port number, got "${o.port}"`);
      const token: string | undefined = o.token ?? process.env.SHADOWGATE_DASHBOARD_TOKEN ?? undefined;
      if (!LOOPBACK.has(o.host) && !token) throw new InputError(`binding to ${o.host} needs --token (or SHADOWGATE_DASHBOARD_TOKEN)`);
      const { loadConfig } = await import('../../shared/config.js');
      const cfg = loadConfig();
      const { closeRuntime, openRuntime } = await import('../../shared/jobs/runtime.js');
      const { startDashboard } = await import('../dashboard/server.js');
      await runDaemon('dashboard', async () => {
        // queue depths are shown when Redis is there; the dashboard works without it
        const rt = await openRuntime(cfg, {
          poolMax: 5,
          redis: 'optional',
          onRedisMissing: (e: Error) => console.error(`shadowgate dashboard: no queue metrics (${e.message})`),
        });
        const dash = await startDashboard({ pool: rt.pool, cfg, clock: rt.clock, host: o.host, port, token, queues: rt.queues });
        console.log(`shadowgate dashboard: ${dash.url}${token ? '?token=…' : ''} (metrics at /metrics)`);
        return {
          async stop() {
            await dash.close();
            await closeRuntime(rt);
          },
        };
      });
    });
}
