import type { ProtoWriter } from './protobuf.js';
import { node, tensor, type Attributes } from './onnx-proto.js';

/**
 * Collects an ONNX graph's nodes and initializers in order. Every value gets a fresh name from its
 * layer's name, so the graph reads like the gradmesh model it came from.
 */
export class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  readonly #used = new Map<string, number>();

  #fresh(base: string): string {
    const n = this.#used.get(base) ?? 0;
    this.#used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  /** A float initializer (a weight). */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    const id = this.#fresh(name);
    this.initializers.push(tensor(id, dims, data));
    return id;
  }

  /** An int64 initializer (shapes, axes). */
  int64s(name: string, values: readonly number[]): string {
    const id = this.#fresh(name);
    this.initializers.push(tensor(id, [values.length], BigInt64Array.from(values.map(BigInt))));
    return id;
  }

  /** Adds a node; returns the names of its `outputs` outputs (default one). */
  op(opType: string, name: string, inputs: readonly string[], attributes: Attributes = {}, outputs = 1): string[] {
    const id = this.#fresh(name);
    const outs = Array.from({ length: outputs }, (_, i) => (i === 0 ? id : `${id}_out${i}`));
    this.nodes.push(node(opType, id, inputs, outs, attributes));
    return outs;
  }

  /** A one-output node's output. */
  op1(opType: string, name: string, inputs: readonly string[], attributes: Attributes = {}): string {
    return this.op(opType, name, inputs, attributes)[0]!;
  }
}
