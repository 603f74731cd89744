import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Tests run on the TypeScript sources; package imports must resolve there too, or a module would exist twice
  // (src and dist): `instanceof ClusterError` would fail across the boundary, and module state such as which
  // NATS connections carry the transport patches would be split in two. Every workspace package is listed.
  // Pool threads and spawned processes run the compiled dist: tests/global-setup.ts refuses a stale build.
  // tests/integration/public-api.test.ts imports the built package itself (see its note).
  resolve: {
    alias: [
      { find: /^@gradmesh\/shared\/internal\/pool$/, replacement: src('./shared/src/internal-pool.ts') },
      { find: /^@gradmesh\/shared\/internal$/, replacement: src('./shared/src/internal.ts') },
      { find: /^@gradmesh\/shared$/, replacement: src('./shared/src/index.ts') },
      { find: /^@gradmesh\/transport$/, replacement: src('./transport/src/index.ts') },
      { find: /^@gradmesh\/worker$/, replacement: src('./worker/src/index.ts') },
      { find: /^@gradmesh\/coordinator$/, replacement: src('./coordinator/src/index.ts') },
      { find: /^@gradmesh\/dashboard$/, replacement: src('./dashboard/src/index.ts') },
      { find: /^@gradmesh\/bench$/, replacement: src('./bench/src/index.ts') },
      { find: /^@gradmesh\/experiment\/plots$/, replacement: src('./experiment/src/plots/index.ts') },
      { find: /^@gradmesh\/experiment$/, replacement: src('./experiment/src/index.ts') },
      { find: /^@gradmesh\/cli$/, replacement: src('./cli/src/main.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON file lets .ci/run print the plain `N passed, N failed` line CI tooling reads.
    reporters: ['default', ['json', { outputFile: 'reports/test-results.json' }]],
  },
});
