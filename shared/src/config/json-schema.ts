import { z } from 'zod';
import { initializerSpec } from '../initializers/from-spec.js';
import { layerSpec } from '../layers/registry.js';
import { stackSpec } from '../model/layer-stack.js';
import { regularizerSpec } from '../regularizers/from-spec.js';
import { runConfigSpec } from './run-config-schema.js';

/** Where the published schema lives, relative to the repository root; examples point at it. */
export const RUN_CONFIG_SCHEMA_PATH = 'schema/run-config.schema.json';

/**
 * The JSON Schema of a run config file, for editors (completion, checks as one types). It describes
 * what a user writes (zod's input side): defaults are shown, and rules that need code (exactly one of
 * two keys, a VAE decoder ending in logits) are left to gradmesh's own one-line errors.
 */
export function runConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(runConfigSpec, { io: 'input', target: 'draft-2020-12', metadata: sharedDefinitions() }),
    title: 'gradmesh run config',
  };
}

/** The schema file's text: stable key order from the declaration, two-space indent, final newline. */
export function runConfigJsonSchemaText(): string {
  return `${JSON.stringify(runConfigJsonSchema(), null, 2)}\n`;
}

/**
 * Schemas used in several places of a config, written once under `$defs` with these names (a private
 * registry: zod's global one would be shared with every other copy of zod in the process).
 */
function sharedDefinitions() {
  const names = z.registry<{ id: string; description?: string }>();
  names.add(layerSpec, { id: 'layer', description: 'One layer: its "type" and that type\'s options.' });
  names.add(stackSpec, { id: 'layers', description: 'A non-empty array of layers, applied in order.' });
  names.add(initializerSpec, { id: 'initializer', description: 'A parameter initializer: a name or { "type": "constant", "value": v }.' });
  names.add(regularizerSpec, { id: 'regularizer', description: 'Weight penalty l1·Σ|θ| + l2·Σθ².' });
  return names;
}
