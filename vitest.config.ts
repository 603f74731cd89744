import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Tests run on the TypeScript sources; package imports must resolve there too, or a class such as
  // ClusterError would exist twice (src and dist) and `instanceof` would fail across the boundary.
  // Pool threads and spawned processes still run the compiled dist (npm test builds first).
  resolve: {
    alias: [
      { find: /^@gradmesh\/shared\/internal$/, replacement: src('./shared/src/internal.ts') },
      { find: /^@gradmesh\/shared$/, replacement: src('./shared/src/index.ts') },
      { find: /^@gradmesh\/worker$/, replacement: src('./worker/src/index.ts') },
      { find: /^@gradmesh\/coordinator$/, replacement: src('./coordinator/src/index.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON file lets .ci/run print the plain `N passed, N failed` line CI tooling reads.
    reporters: ['default', ['json', { outputFile: 'reports/test-results.json' }]],
  },
});
