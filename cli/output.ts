import type { Phase } from '../shared/domain/phase.js';

/** Colors on a TTY (or under FORCE_COLOR) and never under NO_COLOR. */
export const useColor = (): boolean =>
  !('NO_COLOR' in process.env) && (!!process.stdout.isTTY || (!!process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0'));

const wrap = (code: string) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = wrap('32');
export const red = wrap('31');
export const yellow = wrap('33');
export const gray = wrap('90');
export const bold = wrap('1');
export const orange = wrap('38;5;208');

export function phaseColor(p: Phase): (s: string) => string {
  return { pending: gray, shadow: yellow, enforcing: orange, complete: green }[p];
}

export const ok = (s: string) => green(`✓ ${s}`);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const day = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 10) : '-');
export const stamp = (d: Date | null | undefined) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');
