import { existsSync } from 'node:fs';

/** The one command that gives this machine the browser the dashboard test drives. */
export const ENABLE_BROWSER = 'apt-get install -y chromium';

/**
 * A Chromium to drive: $CHROMIUM_PATH, else Debian's or another usual place. Undefined when none
 * is installed; under CI (or SHADOWGATE_REQUIRE_BROWSER=1) that is an error, never a skip.
 */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found && (process.env.CI || process.env.SHADOWGATE_REQUIRE_BROWSER === '1')) {
    throw new Error(`no Chromium found (tried ${candidates.filter(Boolean).join(', ')}): ${ENABLE_BROWSER}`);
  }
  return found;
}
