import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { classifyError, EXIT, InputError, UnavailableError } from '../../shared/errors.js';

/** An error as node-postgres raises it for a server ErrorResponse with this SQLSTATE. */
function pgError(code: string, message: string): Error {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.code = code;
  return e;
}

/** A socket error as Node raises it. */
const netError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('classifyError: one line and one exit code per failure', () => {
  it('keeps the exit code of our own errors', () => {
    expect(classifyError(new InputError('unknown phase "live"'))).toEqual({ exitCode: EXIT.badInput, message: 'unknown phase "live"' });
    expect(classifyError(new UnavailableError('cannot reach Redis at redis://x'))).toMatchObject({ exitCode: 2 });
    expect(classifyError(Object.assign(new Error('refused by a rule'), { exitCode: 1 }))).toMatchObject({ exitCode: 1 });
  });

  it('an unreachable service is exit 2', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET']) expect(classifyError(netError(code)).exitCode).toBe(2);
    for (const code of ['08006', '28P01', '3D000', '57P01', '53300']) {
      const c = classifyError(pgError(code, 'the server went away'));
      expect(c).toEqual({ exitCode: 2, message: 'cannot reach a service: the server went away' });
    }
  });

  it('what the operator named that is not there is exit 2, with the server\'s line', () => {
    expect(classifyError(pgError('42P01', 'relation "public.nope" does not exist'))).toEqual({ exitCode: 2, message: 'relation "public.nope" does not exist' });
    for (const code of ['42703', '42704', '42602', '42501', '22P02', '23505', 'P0002']) expect(classifyError(pgError(code, 'x')).exitCode).toBe(2);
  });

  it('our own bug is exit 70, one line that says how to see the stack', () => {
    expect(classifyError(pgError('42601', 'syntax error at or near "SELEC"\nLINE 1'))).toEqual({
      exitCode: EXIT.software, message: 'internal error: syntax error at or near "SELEC" (run with DEBUG=1 for the stack)' });
    let typeError: unknown;
    try {
      (null as unknown as { x: number }).x;
    } catch (e) {
      typeError = e;
    }
    expect(classifyError(typeError).exitCode).toBe(70);
  });
});
