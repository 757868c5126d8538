import { defineConfig } from 'vitest/config';

// Files run one at a time: integration tests start real nats-server and
// member processes, and two cores cannot host several clusters at once.
export default defineConfig({
  test: {
    include: ['libs/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
