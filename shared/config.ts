import { isProjectId } from './domain/project-id.js';
import { InputError } from './errors.js';
import { isValidTimeZone, type Calendar } from './domain/business-days.js';

/** Thresholds of the exit criteria and of the escalation rules (all configurable). */
export interface Thresholds {
  minShadowDays: number;
  /** a legacy owner's minimum (the story's extended monitoring for io) */
  legacyMinShadowDays: number;
  minTransactions: number;
  maxShadowDays: number;
  investigationHours: number;
  reminderHours: number;
  enforceWithinBusinessDays: number;
}

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  slackWebhookUrl?: string;
  slackChannel: string;
  smtpUrl?: string;
  mailFrom: string;
  devopsEmail?: string;
  dashboardUrl?: string;
  thresholds: Thresholds;
  /** Rollout batches in order, e.g. [['sm'], ['motoko'], ['ab','aa','bap'], ...] */
  rolloutOrder: string[][];
  /** business days: timezone and holidays (the enforcing deadline of the 14-day rule) */
  calendar: Calendar;
  /** At most one real-time message per fingerprint per this many seconds. */
  violationWindowSeconds: number;
  /** Roles `doctor` does not report as routes around the policies (maintenance roles). */
  doctorAllowRoles: string[];
  /** How often the producer compares the catalog with its saved copy (role changes fire no event). */
  driftCheckSeconds: number;
  pipeline: PipelineTiming;
}

/**
 * The pipeline's own clockwork (production defaults; the chaos suite compresses time through these,
 * never through sleeps).
 */
export interface PipelineTiming {
  /** how often workers look for due timers and deliveries (SHADOWGATE_SWEEP_MS) */
  sweepMs: number;
  /** how often workers rebuild from PostgreSQL what Redis should hold (SHADOWGATE_RECONCILE_SECONDS) */
  reconcileSeconds: number;
  /** first retry of a failed delivery, doubling up to the cap (SHADOWGATE_RETRY_BASE_MS, _RETRY_MAX_MS) */
  retryBaseMs: number;
  retryMaxMs: number;
  /** client timeout of a delivery's first attempt, doubling after each failed one (SHADOWGATE_SEND_TIMEOUT_MS) */
  sendTimeoutMs: number;
}

export const DEFAULT_ROLLOUT_ORDER = 'sm | motoko | ab,aa,bap | echo,ea | io';

export const DEFAULT_THRESHOLDS: Thresholds = {
  minShadowDays: 7,
  legacyMinShadowDays: 14,
  minTransactions: 1000,
  maxShadowDays: 14,
  investigationHours: 48,
  reminderHours: 24,
  enforceWithinBusinessDays: 3,
};

/** Parses "ab,aa,bap" into project ids; rejects empty entries, duplicates and bad characters. */
export function parseBatch(text: string): string[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => id === '')) {
    throw new InputError(`malformed batch list "${text}": expected comma-separated project ids, e.g. "ab,aa,bap"`);
  }
  for (const id of ids) {
    if (!isProjectId(id)) throw new InputError(`malformed batch list "${text}": bad project id "${id}"`);
  }
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new InputError(`malformed batch list "${text}": "${dup}" appears twice`);
  return ids;
}

/** Parses "sm | motoko | ab,aa,bap" into batches. */
export function parseRolloutOrder(text: string): string[][] {
  const batches = text.split('|').map((b) => parseBatch(b));
  const all = batches.flat();
  const dup = all.find((id, i) => all.indexOf(id) !== i);
  if (dup) throw new InputError(`rollout order names "${dup}" twice`);
  return batches;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InputError(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/** A period: zero would spin. */
function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = num(env, name, fallback);
  if (n === 0) throw new InputError(`${name} must be greater than 0`);
  return n;
}

function holidays(raw: string | undefined): string[] {
  if (!raw) return [];
  const days = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const d of days) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(d))) {
      throw new InputError(`SHADOWGATE_HOLIDAYS: "${d}" is not a date (YYYY-MM-DD)`);
    }
  }
  return days;
}

function timeZone(raw: string | undefined): string {
  if (!raw) return 'UTC';
  if (!isValidTimeZone(raw)) throw new InputError(`SHADOWGATE_TIMEZONE: "${raw}" is not a timezone (an IANA name, e.g. Europe/Berlin)`);
  return raw;
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InputError(`${name} is not a URL: "${raw}"`);
  }
  if (!protocols.includes(u.protocol)) throw new InputError(`${name} must be a ${protocols.join(' or ')} URL, got "${u.protocol}"`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']) ?? 'postgres://postgres@127.0.0.1:5432/shadowgate',
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.SHADOWGATE_REDIS_PREFIX || 'shadowgate',
    slackWebhookUrl: url(env, 'SLACK_WEBHOOK_URL', ['https:', 'http:']),
    slackChannel: env.SLACK_CHANNEL || '#devops',
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: env.MAIL_FROM || 'shadowgate@localhost',
    devopsEmail: env.DEVOPS_EMAIL || undefined,
    dashboardUrl: env.DASHBOARD_URL || undefined,
    thresholds: {
      minShadowDays: num(env, 'SHADOWGATE_MIN_SHADOW_DAYS', DEFAULT_THRESHOLDS.minShadowDays),
      legacyMinShadowDays: num(env, 'SHADOWGATE_LEGACY_MIN_SHADOW_DAYS', DEFAULT_THRESHOLDS.legacyMinShadowDays),
      minTransactions: num(env, 'SHADOWGATE_MIN_TRANSACTIONS', DEFAULT_THRESHOLDS.minTransactions),
      maxShadowDays: num(env, 'SHADOWGATE_MAX_SHADOW_DAYS', DEFAULT_THRESHOLDS.maxShadowDays),
      investigationHours: num(env, 'SHADOWGATE_INVESTIGATION_HOURS', DEFAULT_THRESHOLDS.investigationHours),
      reminderHours: num(env, 'SHADOWGATE_REMINDER_HOURS', DEFAULT_THRESHOLDS.reminderHours),
      enforceWithinBusinessDays: num(env, 'SHADOWGATE_ENFORCE_WITHIN_BUSINESS_DAYS', DEFAULT_THRESHOLDS.enforceWithinBusinessDays),
    },
    rolloutOrder: parseRolloutOrder(env.SHADOWGATE_ROLLOUT_ORDER || DEFAULT_ROLLOUT_ORDER),
    calendar: { timeZone: timeZone(env.SHADOWGATE_TIMEZONE), holidays: holidays(env.SHADOWGATE_HOLIDAYS) },
    violationWindowSeconds: num(env, 'SHADOWGATE_VIOLATION_WINDOW_SECONDS', 300),
    doctorAllowRoles: (env.SHADOWGATE_DOCTOR_ALLOW_ROLES ?? '').split(',').map((r) => r.trim()).filter(Boolean),
    driftCheckSeconds: num(env, 'SHADOWGATE_DRIFT_CHECK_SECONDS', 60),
    pipeline: {
      sweepMs: positive(env, 'SHADOWGATE_SWEEP_MS', 1000),
      reconcileSeconds: positive(env, 'SHADOWGATE_RECONCILE_SECONDS', 60),
      retryBaseMs: positive(env, 'SHADOWGATE_RETRY_BASE_MS', 2000),
      retryMaxMs: positive(env, 'SHADOWGATE_RETRY_MAX_MS', 300_000),
      sendTimeoutMs: positive(env, 'SHADOWGATE_SEND_TIMEOUT_MS', 30_000),
    },
  };
}
