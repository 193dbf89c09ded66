import { existsSync } from 'node:fs';

/** The one command that gives this machine the browser the dashboard test drives. */
export const ENABLE_BROWSER = 'apt-get install -y chromium';

/** Where Chromium usually is, after $CHROMIUM_PATH. */
export const USUAL_PLACES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The Chromium the dashboard test drives: $CHROMIUM_PATH, else the first of `places` that exists.
 * When there is none it says so in one visible line naming the command that installs one, and the
 * browser tests are skipped (undefined); under CI (or SHADOWGATE_REQUIRE_BROWSER=1) that is an error,
 * never a skip.
 */
export function chromiumOrSkip(
  env: NodeJS.ProcessEnv = process.env,
  places: readonly string[] = USUAL_PLACES,
  say: (line: string) => void = console.warn,
): string | undefined {
  const candidates = [env.CHROMIUM_PATH, ...places].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  if (env.CI || env.SHADOWGATE_REQUIRE_BROWSER === '1') {
    throw new Error(`no Chromium found (tried ${candidates.join(', ')}): ${ENABLE_BROWSER}`);
  }
  say(`dashboard browser tests SKIPPED: no Chromium on this machine; enable them with: ${ENABLE_BROWSER}`);
  return undefined;
}
