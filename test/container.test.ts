// The image of ./Dockerfile and the services of docker-compose.yml, exercised without Docker: the
// package as `npm pack` ships it (what the image holds), its ENTRYPOINT/CMD, HEALTHCHECK and every
// compose command run as the plain commands they are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { projectRoot } from '../shared/paths.js';
import { adminQuery, createTestDb, urlFor, type TestDb } from './support/db.js';
import { until } from './support/sinks.js';
import { dropRedisPrefix } from './support/redis.js';

const root = projectRoot();
const tmp = mkdtempSync(join(tmpdir(), 'sg-image-'));
const pkg = join(tmp, 'package');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let db: TestDb & { grantApp(): Promise<void> };
const prefix = `sgtest-image-${randomBytes(4).toString('hex')}`;
let bare: string;

/** The instructions of the Dockerfile's last stage (and of all stages under `all`). */
function dockerfile() {
  const lines = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const all = lines.map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op!.toUpperCase(), args: rest.join(' ') }; });
  const last = all.slice(all.map((i) => i.op).lastIndexOf('FROM'));
  const json = (op: string, from = last) => JSON.parse(from.find((i) => i.op === op)!.args.replace(/^.*?(\[)/, '[')) as string[];
  return { all, last, json };
}
const compose = () => YAML.parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; restart?: string; build?: string; profiles?: string[]; ports?: string[];
    environment?: Record<string, string>; healthcheck?: { test: string[] } }>;
};

/** Runs an image command (argv starting with `node`) in the unpacked package. */
function run(argv: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, argv.slice(1), { cwd: pkg, env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, exited, output: () => out };
}

const freePort = () => new Promise<number>((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => r(port)); });
});

beforeAll(async () => {
  // the image's build stage: npm pack keeps the shipped files (dist/ is built by `npm test`)
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(packed.stderr);
  mkdirSync(pkg);
  const tar = spawnSync('tar', ['-xzf', join(tmp, JSON.parse(packed.stdout)[0].filename), '-C', pkg, '--strip-components=1']);
  if (tar.status !== 0) throw new Error(String(tar.stderr));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  db = await createTestDb(import.meta.url);
  bare = `${db.name}_bare`;
  await adminQuery(`CREATE DATABASE "${bare}"`);
});
afterAll(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS "${bare}" WITH (FORCE)`);
  await db?.drop();
  await dropRedisPrefix(prefix);
  rmSync(tmp, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('builds on node:20-slim in stages and runs as a user that is not root', () => {
    const { all, last } = dockerfile();
    const froms = all.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(new Set(froms)).toEqual(new Set(['node:20-slim']));
    const user = last.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('the image holds what the package ships, and shipped code imports only itself, dependencies and Node', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (!e.isDirectory()) files.push(join(d, e.name));
        else if (e.name !== 'node_modules') walk(join(d, e.name));
      }
    };
    walk(pkg);
    const shipped = files.map((f) => relative(pkg, f));
    expect(shipped).toContain('dist/cli/main.js');
    expect(shipped).toContain('dist/client/index.js');
    expect(shipped).toContain('dist/client/index.d.ts');
    expect(shipped.filter((f) => f.startsWith('sql/migrations/')).length).toBeGreaterThan(0);
    expect(shipped.filter((f) => /^dist\/(demo|bench|test)\//.test(f))).toEqual([]);
    const deps = new Set(Object.keys(manifest.dependencies));
    const bad: string[] = [];
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) {
          if (!existsSync(resolve(dirname(f), spec))) bad.push(`${relative(pkg, f)}: ${spec} is not shipped`);
        } else {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!deps.has(name) && !spec.startsWith('node:') && !builtinModules.includes(name)) bad.push(`${relative(pkg, f)}: ${spec} is not a dependency`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('ENTRYPOINT + CMD starts the pipeline, the HEALTHCHECK then passes, and SIGTERM stops it with exit 0', async () => {
    const { json } = dockerfile();
    const argv = [...json('ENTRYPOINT'), ...json('CMD')];
    const check = json('HEALTHCHECK');
    expect(argv[0]).toBe('node');
    expect(check[0]).toBe('node');
    const p = run(argv, { DATABASE_URL: db.url, SHADOWGATE_REDIS_PREFIX: prefix });
    try {
      await until(() => p.output().includes('running'), 20_000).catch((e) => { throw new Error(`${e.message}: ${p.output()}`); });
      // healthy once the producer and the workers have recorded progress
      await until(async () => (await run(check, { DATABASE_URL: db.url }).exited) === 0, 20_000);
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited, p.output()).toBe(0);
  });

  it('HEALTHCHECK: exit 2 in one line when PostgreSQL cannot be reached', async () => {
    const down = run(dockerfile().json('HEALTHCHECK'), { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(await down.exited).toBe(2);
    expect(down.output().trim().split('\n')).toHaveLength(1);
    expect(down.output()).toContain('cannot reach PostgreSQL');
  });
});

describe('docker-compose.yml', () => {
  const { json } = dockerfile();
  const entry = json('ENTRYPOINT');
  const services = compose().services;

  it('has services for migrate, run and dashboard built from the Dockerfile, restarted when they fail', () => {
    for (const name of ['shadowgate-migrate', 'shadowgate-run', 'shadowgate-dashboard']) expect(services[name]?.build).toBe('.');
    expect(services['shadowgate-run']!.restart).toBe('unless-stopped');
    expect(services['shadowgate-dashboard']!.restart).toBe('unless-stopped');
    expect(services['shadowgate-run']!.command).toEqual(json('CMD'));
  });

  it('the migrate service creates the schema on an empty database', async () => {
    const p = run([...entry, ...services['shadowgate-migrate']!.command!], { DATABASE_URL: urlFor(bare) });
    expect(await p.exited, p.output()).toBe(0);
    const again = run([...entry, ...services['shadowgate-migrate']!.command!], { DATABASE_URL: urlFor(bare) });
    expect(await again.exited).toBe(0);
    expect(again.output()).toContain('up to date');
  });

  it('the dashboard service serves on its published port and passes its health check', async () => {
    const svc = services['shadowgate-dashboard']!;
    const cmd = svc.command!;
    const port = cmd[cmd.indexOf('--port') + 1]!;
    expect(svc.ports!.some((p) => p.endsWith(`:${port}`))).toBe(true);
    expect(dockerfile().last.find((i) => i.op === 'EXPOSE')?.args).toBe(port);
    // the same command on a free port (8080 may be taken on this machine)
    const free = String(await freePort());
    const p = run([...entry, ...cmd.map((a) => (a === port ? free : a))], { DATABASE_URL: db.url, SHADOWGATE_DASHBOARD_TOKEN: 'tok', SHADOWGATE_REDIS_PREFIX: prefix });
    try {
      const check = svc.healthcheck!.test.slice(1).map((a) => a.replaceAll(`:${port}/`, `:${free}/`));
      expect(check[0]).toBe('node');
      await until(async () => (await run(check, {}).exited) === 0, 20_000).catch((e) => { throw new Error(`${e.message}: ${p.output()}`); });
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
