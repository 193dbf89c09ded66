/**
 * The CLI's exit codes: 0 fine, 1 a finding (or a request a rule refuses), 2 bad input or an
 * unreachable service, 70 a programming error (EX_SOFTWARE; the stack is printed under DEBUG).
 */
export const EXIT = { ok: 0, finding: 1, badInput: 2, software: 70 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Bad input from an operator: one line, exit code 2, nothing changed. */
export class InputError extends Error {
  readonly exitCode: ExitCode = EXIT.badInput;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A required service (PostgreSQL, Redis, a webhook) cannot be reached. Exit code 2. */
export class UnavailableError extends Error {
  readonly exitCode: ExitCode = EXIT.badInput;
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** A well-formed request that a rule refuses (illegal transition, not eligible, rollout order). Exit code 1. */
export class RefusedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}

/** The SQLSTATEs the code reacts to by name. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  noDataFound: 'P0002',
  invalidCatalogName: '3D000',
  duplicateDatabase: '42P04',
  duplicateObject: '42710',
  undefinedObject: '42704',
  insufficientPrivilege: '42501',
} as const;

/** The SQLSTATE of a PostgreSQL error (node-postgres puts it in `code`), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

// Node's socket errors: the service is not there (or went away).
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs that mean the server cannot serve us: connection exceptions (08), invalid authorization
 * (28), the database does not exist (3D000), too many connections (53300), shutting down or
 * starting up (57P01-57P03).
 */
const unreachable = (s: string) => s.startsWith('08') || s.startsWith('28') || ['3D000', '53300', '57P01', '57P02', '57P03'].includes(s);

/**
 * SQLSTATEs caused by what an operator named or gave: data exceptions (22: a malformed value),
 * integrity violations (23), and objects that are not there or not theirs (undefined table, column,
 * object, schema; an invalid name; insufficient privilege). Anything else from PostgreSQL (a syntax error,
 * an undefined function) is our bug.
 */
const badInput = (s: string) => s.startsWith('22') || s.startsWith('23') || ['42P01', '42703', '42704', '42602', '42501', '3F000', 'P0002'].includes(s);

/** A network error or a server that cannot serve us: the service is unreachable. */
export function isUnreachable(err: unknown): boolean {
  const state = sqlState(err);
  if (state) return unreachable(state);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK.has(code);
}

/** The one line and the exit code an error becomes at the CLI's edge. */
export function classifyError(err: unknown): { exitCode: ExitCode; message: string } {
  const e = err as (Error & { code?: unknown; exitCode?: unknown }) | null;
  const firstLine = ((e?.message || String(err)).split('\n')[0] ?? '').trim();
  if (e?.exitCode === EXIT.finding || e?.exitCode === EXIT.badInput) return { exitCode: e.exitCode, message: firstLine };
  if (isUnreachable(err)) return { exitCode: EXIT.badInput, message: `cannot reach a service: ${firstLine}` };
  const state = sqlState(err);
  if (state && badInput(state)) return { exitCode: EXIT.badInput, message: firstLine };
  return { exitCode: EXIT.software, message: `internal error: ${firstLine} (run with DEBUG=1 for the stack)` };
}
