import { buildNetwork, summarize, type RunConfig } from '@gradmesh/shared/internal';

/** The Keras-style summary of a config's model, built without weights (the coordinator holds none). */
export function modelSummaryOf(config: RunConfig): string {
  try {
    return summarize(buildNetwork(config.raw['model'], config.raw['loss'], { path: '', file: config.file }));
  } catch {
    return `${config.name}: the model summary is unavailable`;
  }
}
