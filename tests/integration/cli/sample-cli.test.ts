import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGradmesh } from '../../helpers/cli.js';
import type { CliRun } from '../../helpers/cli.js';

// Runs the built CLI (`npm test` builds first): train a tiny model, then draw its grid.
let dir: string;

function gradmesh(...args: string[]): CliRun {
  return runGradmesh(dir, args);
}

/** 6×6 "images": a bright bar in one of 3 rows, as CSV of 36 pixel columns plus a label. */
function writeImages(file: string, rows: number): void {
  const lines = [[...Array.from({ length: 36 }, (_, i) => `p${i}`), 'label'].join(',')];
  for (let r = 0; r < rows; r++) {
    const label = r % 3;
    const px = Array.from({ length: 36 }, (_, i) => (Math.floor(i / 12) === label ? 230 : 15 + ((i * 7 + r) % 20)));
    lines.push([...px, label].join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Width, height and pixels of an 8-bit grayscale PNG (no filters other than 0 expected from our encoder). */
function decodePng(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(body);
    offset += 12 + length;
  }
  expect(inflateSync(Buffer.concat(idat)).length).toBe(height * (width + 1));
  return { width, height };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gradmesh-sample-'));
  writeImages(path.join(dir, 'train.csv'), 60);
  writeImages(path.join(dir, 'test.csv'), 12);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataset = { format: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 'label', scale: 1 / 255 };

describe('gradmesh sample', () => {
  it('writes a PNG grid of VAE samples from a checkpoint', () => {
    writeFileSync(path.join(dir, 'vae.json'), JSON.stringify({
      seed: 1, dataset,
      model: { kind: 'vae', inputShape: [6, 6], encoder: [{ type: 'flatten' }, { type: 'dense', units: 8, activation: 'relu' }], latentDim: 2, decoder: [{ type: 'dense', units: 36 }, { type: 'reshape', targetShape: [6, 6] }] },
      optimizer: { type: 'adam', learningRate: 0.01 }, training: { epochs: 2, batchSize: 10 }, backend: 'reference',
    }));
    expect(gradmesh('train', '--config', 'vae.json', '--checkpoint-dir', 'ckpt-vae').code).toBe(0);
    const r = gradmesh('sample', '--checkpoint', 'ckpt-vae/ckpt-0000000012.safetensors', '--count', '9', '--out', 'vae.png');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote 9 images \(samples\)/);
    const { width, height } = decodePng(readFileSync(path.join(dir, 'vae.png')));
    expect(width).toBeGreaterThanOrEqual(3 * 6);
    expect(height).toBeGreaterThanOrEqual(3 * 6);
  });

  it('writes originals beside autoencoder reconstructions, and refuses samples from an autoencoder', () => {
    writeFileSync(path.join(dir, 'ae.json'), JSON.stringify({
      seed: 1, dataset,
      model: { kind: 'autoencoder', inputShape: [36], encoder: [{ type: 'dense', units: 4, activation: 'relu' }], decoder: [{ type: 'dense', units: 36, activation: 'sigmoid' }] },
      loss: 'binaryCrossEntropy', optimizer: { type: 'adam', learningRate: 0.01 }, training: { epochs: 1, batchSize: 10 }, backend: 'reference',
    }));
    expect(gradmesh('train', '--config', 'ae.json', '--checkpoint-dir', 'ckpt-ae').code).toBe(0);
    const r = gradmesh('sample', '--checkpoint', 'ckpt-ae/ckpt-0000000006.safetensors', '--count', '4', '--out', 'ae.png');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote 8 images \(reconstructions\)/);
    decodePng(readFileSync(path.join(dir, 'ae.png')));
    const bad = gradmesh('sample', '--checkpoint', 'ckpt-ae/ckpt-0000000006.safetensors', '--mode', 'samples', '--out', 'x.png');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/samples needs a VAE/);
  });
});
