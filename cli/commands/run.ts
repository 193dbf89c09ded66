import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import type { Runtime } from '../../shared/jobs/runtime.js';
import { runDaemon } from '../daemon.js';

export async function startPipeline(p: Runtime, what: 'all' | 'producers' | 'workers') {
  // BullMQ, ioredis, pg-listen, Slack and SMTP clients load only for the commands that run them
  const { startWorkers } = await import('../../workers/start.js');
  const { EventProducer } = await import('../../producers/event-producer.js');
  const { DriftWatch } = await import('../../producers/drift-watch.js');
  const workers = what !== 'producers' ? await startWorkers(p) : undefined;
  const producer = what !== 'workers' ? new EventProducer(p) : undefined;
  const drift = what !== 'workers' ? new DriftWatch(p) : undefined;
  await producer?.start();
  drift?.start();
  return {
    producer,
    workers,
    async stop() {
      await drift?.stop();
      await producer?.stop();
      await workers?.close();
    },
  };
}

export function registerRun(program: Command): void {
  program
    .command('run [what]')
    .description('start producers and workers (what: producers | workers; default both); SIGTERM/SIGINT stop cleanly')
    .action(async (what = 'all') => {
      if (!['all', 'producers', 'workers'].includes(what)) throw new InputError(`unknown part "${what}" (producers or workers)`);
      const { loadConfig } = await import('../../shared/config.js');
      const cfg = loadConfig();
      const { closeRuntime, openRuntime } = await import('../../shared/jobs/runtime.js');
      await runDaemon(what === 'all' ? 'run' : `run ${what}`, async () => {
        const rt = await openRuntime(cfg);
        if (what !== 'producers') {
          if (!cfg.slackWebhookUrl) console.error('shadowgate: SLACK_WEBHOOK_URL is not set: Slack messages are recorded as failed, not sent');
          if (!cfg.smtpUrl) console.error('shadowgate: SMTP_URL is not set: emails are recorded as failed, not sent');
        }
        const running = await startPipeline(rt, what);
        console.log(`shadowgate: ${what === 'all' ? 'producers and workers' : what} running (Ctrl-C to stop)`);
        return {
          async stop() {
            await running.stop();
            await closeRuntime(rt);
          },
        };
      });
    });
}
