import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';

/**
 * The cluster path of the CSV examples: `gradmesh launch` (its own nats-server, a coordinator and two worker
 * processes) reports what `gradmesh train` reports — the regression figures merged from the ranks' evaluation
 * sums, and the class names carried by the workers' ready replies.
 */
const root = path.resolve(__dirname, '../../..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-csv-launch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gradmesh = (...args: string[]) => runGradmesh(dir, args);
const report = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, number | null | string[] | string>;

describe('CSV examples on a two-worker cluster', () => {
  it('regression: test MAE, RMSE and R² from the merged shard sums equal the single process figures', () => {
    const config = path.join(root, 'examples/iris-petal-width.json');
    const single = gradmesh('train', '--config', config, '--epochs', '20', '--report', 'single.json', '--quiet');
    expect(single.code, single.stderr).toBe(0);
    const cluster = gradmesh('launch', '--config', config, '--epochs', '20', '--workers', '2', '--threads', '1', '--report', 'cluster.json', '--quiet');
    expect(cluster.code, cluster.stderr).toBe(0);
    // --quiet reaches the coordinator and the workers: no progress line from any of them, the result line still.
    expect(cluster.stdout + cluster.stderr).not.toMatch(/epoch \d+\/\d+|joining run/);
    expect(cluster.stdout + cluster.stderr).toMatch(/test MAE [\d.]+ {2}RMSE/);
    const a = report('single.json');
    const b = report('cluster.json');
    expect(b['task']).toBe('regression');
    expect(b['testAccuracy']).toBeNull();
    // The same trajectory; only the order of float sums differs between one process and two ranks.
    for (const k of ['testMae', 'testRmse', 'testR2']) expect(b[k] as number).toBeCloseTo(a[k] as number, 4);
    expect(b['replicaChecksumsAgree']).toBe(true);
  });

  it('classification with class names: the cluster report lists them and the confusion matrix is labelled with them', () => {
    const r = gradmesh('launch', '--config', path.join(root, 'examples/iris.json'), '--epochs', '10', '--workers', '2', '--threads', '1', '--report', 'iris.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[coordinator\] epoch 10\/10 {2}trainLoss/); // without --quiet, progress prints
    expect(report('iris.json')['classNames']).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(r.stderr).toMatch(/actual\\pred +setosa +versicolor +virginica/);
  });
});
