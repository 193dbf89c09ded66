// The dashboard test's decision when this machine has no Chromium: skip with one visible line naming
// the command that installs it, or fail under CI / SHADOWGATE_REQUIRE_BROWSER=1. Exercised here with
// paths that do not exist, whatever this machine has (CI, which has Chromium, runs the real browser test).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ENABLE_BROWSER, chromiumOrSkip } from './support/browser.js';

const nowhere = join(tmpdir(), `sg-no-chromium-${randomBytes(4).toString('hex')}`);

function decide(env: NodeJS.ProcessEnv, places: string[] = []) {
  const said: string[] = [];
  try {
    return { path: chromiumOrSkip(env, places, (l) => said.push(l)), said };
  } catch (err) {
    return { error: (err as Error).message, said };
  }
}

describe('no Chromium on this machine', () => {
  it('skips with one line naming the one command that enables the browser tests', () => {
    const r = decide({ CHROMIUM_PATH: nowhere }, [`${nowhere}-too`]);
    expect(r).toEqual({ path: undefined, said: [`dashboard browser tests SKIPPED: no Chromium on this machine; enable them with: ${ENABLE_BROWSER}`] });
    expect(ENABLE_BROWSER).toBe('apt-get install -y chromium');
  });

  it('fails instead of skipping with SHADOWGATE_REQUIRE_BROWSER=1, and under CI', () => {
    for (const env of [{ SHADOWGATE_REQUIRE_BROWSER: '1' }, { CI: 'true' }]) {
      const r = decide({ CHROMIUM_PATH: nowhere, ...env });
      expect(r.said).toEqual([]);
      expect(r.error).toBe(`no Chromium found (tried ${nowhere}): ${ENABLE_BROWSER}`);
    }
  });

  it('SHADOWGATE_REQUIRE_BROWSER other than 1 still skips', () => {
    expect(decide({ CHROMIUM_PATH: nowhere, SHADOWGATE_REQUIRE_BROWSER: '0' }).path).toBeUndefined();
  });
});

describe('a Chromium that exists', () => {
  // any existing executable stands for the browser: the decision only asks whether the file is there
  const present = process.execPath;

  it('CHROMIUM_PATH is taken first, and nothing is said', () => {
    expect(decide({ CHROMIUM_PATH: present, SHADOWGATE_REQUIRE_BROWSER: '1' }, [nowhere])).toEqual({ path: present, said: [] });
  });

  it('without CHROMIUM_PATH, the first usual place that exists', () => {
    expect(decide({}, [nowhere, present])).toEqual({ path: present, said: [] });
  });
});
