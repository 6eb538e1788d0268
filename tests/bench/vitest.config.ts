import { defineConfig } from 'vitest/config';

/** `npm run bench`: every benchmark, one at a time, printing figures beside its baseline. */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/bench/**/*.bench.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
