import { ClusterError } from '@gradmesh/shared/internal';

/**
 * A generation ended (a member was lost or left): the command in flight is abandoned and carried out again
 * by the next generation. Never reaches the user: the coordinator forms the next generation, or fails with
 * its own error when it cannot.
 */
export class GenerationEnded extends ClusterError {
  constructor(generation: number, reason: string) {
    super(`generation ${generation} ended: ${reason}`);
  }
}
