// Writes schema/run-config.schema.json from the run config's zod schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_CONFIG_SCHEMA_PATH, runConfigJsonSchemaText } from '../dist/config/json-schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const target = resolve(root, RUN_CONFIG_SCHEMA_PATH);
writeFileSync(target, runConfigJsonSchemaText());
console.log(`schema: wrote ${RUN_CONFIG_SCHEMA_PATH}`);
