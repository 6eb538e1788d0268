import { defineConfig } from 'vitest/config';

// Benchmarks (tests/bench/**/*.bench.ts) run only when named on the command line or through
// their own config; `vitest run` alone runs the tests.
const benchNamed = process.argv.some((a) => a.includes('.bench.ts') || a.includes('tests/bench'));

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', ...(benchNamed ? ['tests/bench/**/*.bench.ts'] : [])],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // QEMU guests under TCG share two cores: one test file at a time keeps them from starving.
    fileParallelism: false,
    // The JSON report lets .ci/run print one plain "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'tests/artifacts/vitest-results.json' }]],
  },
});
