/**
 * The protobuf wire format, just what writing an ONNX model needs: varints (wire type 0),
 * length-delimited bytes, strings and sub-messages (2) and float32 (5). A message is written
 * field by field; `bytes()` gives its encoding, which a parent embeds as a length-delimited field.
 * Repeated scalars are written unpacked (one tag per value), which every protobuf reader accepts.
 */
export class ProtoWriter {
  readonly #parts: Uint8Array[] = [];

  /** An int32/int64/enum field; negative values take the 10-byte two's-complement form, as protobuf's int64 does. */
  int(field: number, value: number | bigint): this {
    this.#tag(field, 0);
    this.#varint(BigInt.asUintN(64, BigInt(value)));
    return this;
  }

  ints(field: number, values: Iterable<number | bigint>): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.#tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value, 0);
    this.#parts.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, Buffer.from(value, 'utf8'));
  }

  strings(field: number, values: Iterable<string>): this {
    for (const v of values) this.string(field, v);
    return this;
  }

  /** A length-delimited field: bytes, or an embedded message's encoding. */
  raw(field: number, bytes: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(BigInt(bytes.length));
    this.#parts.push(bytes);
    return this;
  }

  message(field: number, message: ProtoWriter): this {
    return this.raw(field, message.bytes());
  }

  messages(field: number, messages: Iterable<ProtoWriter>): this {
    for (const m of messages) this.message(field, m);
    return this;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.#parts);
  }

  #tag(field: number, wireType: number): void {
    this.#varint(BigInt(field * 8 + wireType));
  }

  #varint(value: bigint): void {
    const out: number[] = [];
    let v = value;
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
    this.#parts.push(Uint8Array.from(out));
  }
}
