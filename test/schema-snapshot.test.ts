import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';
import { dumpSchema, SNAPSHOT_FILE } from '../fixtures/schema-snapshot.js';
import { createTestDb, type TestDb } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
});
afterAll(async () => db?.drop());

describe('the schema snapshot', () => {
  it('is what a fresh migration makes', async () => {
    const fresh = await dumpSchema(db.url);
    const saved = readFileSync(join(projectRoot(), SNAPSHOT_FILE), 'utf8');
    expect(fresh, `${SNAPSHOT_FILE} is not the schema sql/migrations make: run \`npm run schema:snapshot\` and commit the file`).toBe(saved);
  });
});
