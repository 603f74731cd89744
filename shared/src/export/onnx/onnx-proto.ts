import { ProtoWriter } from './protobuf.js';

/**
 * The few ONNX messages an exported model uses, with the field numbers of onnx/onnx.proto (IR
 * version 8): ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto, TypeProto.Tensor, TensorShapeProto.
 */

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_FLOAT = 1, ATTRIBUTE_INT = 2, ATTRIBUTE_STRING = 3, ATTRIBUTE_FLOATS = 6, ATTRIBUTE_INTS = 7, ATTRIBUTE_STRINGS = 8;

export type AttributeValue = number | string | { readonly float: number } | readonly number[] | { readonly floats: readonly number[] } | readonly string[];
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, strings 9, type 20. A plain number is an int. */
function attribute(name: string, value: AttributeValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof value === 'number') return a.int(3, value).int(20, ATTRIBUTE_INT);
  if (typeof value === 'string') return a.string(4, value).int(20, ATTRIBUTE_STRING);
  if ('float' in value) return a.float(2, value.float).int(20, ATTRIBUTE_FLOAT);
  if ('floats' in value) {
    for (const f of value.floats) a.float(7, f);
    return a.int(20, ATTRIBUTE_FLOATS);
  }
  if (value.every((v): v is string => typeof v === 'string')) return a.strings(9, value as readonly string[]).int(20, ATTRIBUTE_STRINGS);
  return a.ints(8, value as readonly number[]).int(20, ATTRIBUTE_INTS);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
export function node(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attributes: Attributes = {}): ProtoWriter {
  return new ProtoWriter()
    .strings(1, inputs)
    .strings(2, outputs)
    .string(3, name)
    .string(4, opType)
    .messages(5, Object.entries(attributes).map(([k, v]) => attribute(k, v)));
}

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian values). */
export function tensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): ProtoWriter {
  const raw = Buffer.alloc(data.length * (data instanceof Float32Array ? 4 : 8));
  data.forEach((v: number | bigint, i: number) => (typeof v === 'bigint' ? raw.writeBigInt64LE(v, i * 8) : raw.writeFloatLE(v, i * 4)));
  return new ProtoWriter().ints(1, dims).int(2, data instanceof Float32Array ? FLOAT : INT64).string(8, name).raw(9, raw);
}

/**
 * ValueInfoProto (name 1, type 2) of a float tensor: TypeProto.tensor_type 1 → elem_type 1, shape 2 →
 * dim 1 → dim_value 1 | dim_param 2 (a string names a symbolic dimension, e.g. the batch).
 */
export function valueInfo(name: string, dims: readonly (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter().messages(1, dims.map((d) => (typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d))));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
export function graph(name: string, nodes: readonly ProtoWriter[], initializers: readonly ProtoWriter[], inputs: readonly ProtoWriter[], outputs: readonly ProtoWriter[]): ProtoWriter {
  return new ProtoWriter().messages(1, nodes).string(2, name).messages(5, initializers).messages(11, inputs).messages(12, outputs);
}

/** ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8 (OperatorSetIdProto: domain 1, version 2). */
export function model(graphProto: ProtoWriter, options: { irVersion: number; opset: number; producer: string; producerVersion: string }): Uint8Array {
  return new ProtoWriter()
    .int(1, options.irVersion)
    .string(2, options.producer)
    .string(3, options.producerVersion)
    .message(7, graphProto)
    .message(8, new ProtoWriter().string(1, '').int(2, options.opset))
    .bytes();
}
