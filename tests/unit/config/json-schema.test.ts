import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_CONFIG_SCHEMA_PATH, runConfigJsonSchemaText } from '../../../shared/src/config/json-schema.js';
import { loadRunConfig } from '../../../shared/src/config/run-config.js';

const root = path.resolve(import.meta.dirname, '../../..');
const examples = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json'));

describe('the published JSON Schema', () => {
  it('is what the run config schema generates now (run `npm run schema` after changing a schema)', () => {
    expect(readFileSync(path.join(root, RUN_CONFIG_SCHEMA_PATH), 'utf8')).toBe(runConfigJsonSchemaText());
  });

  it('every example points at it and is a valid run config', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const file of examples) {
      const full = path.join(root, 'examples', file);
      const json = JSON.parse(readFileSync(full, 'utf8')) as { $schema?: string };
      expect(json.$schema, file).toBe(`../${RUN_CONFIG_SCHEMA_PATH}`);
      expect(path.resolve(path.dirname(full), json.$schema!)).toBe(path.join(root, RUN_CONFIG_SCHEMA_PATH));
      expect(() => loadRunConfig(full), file).not.toThrow();
    }
  });
});
