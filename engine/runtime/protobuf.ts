// A minimal proto3 wire-format codec: just what the containerd messages we use need (strings,
// bytes, bools, unsigned varints, nested and repeated messages, string maps). Field numbers live
// next to each message in containerd-api.ts; there is no schema compiler and no npm dependency.
// Reference: https://protobuf.dev/programming-guides/encoding/

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Builds one message. Proto3 omits default values, and so do we (empty string, 0, false). */
export class ProtoWriter {
  private readonly chunks: Buffer[] = [];

  string(field: number, value: string | undefined): this {
    if (value) this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  strings(field: number, values: readonly string[] | undefined): this {
    // Repeated strings are never packed; an empty string still has to be sent as an element.
    for (const value of values ?? []) this.lengthDelimited(field, Buffer.from(value, 'utf8'));
    return this;
  }

  bytes(field: number, value: Uint8Array | undefined): this {
    if (value && value.length > 0) this.lengthDelimited(field, value);
    return this;
  }

  uint(field: number, value: number | undefined): this {
    if (value) {
      this.tag(field, VARINT);
      this.chunks.push(encodeVarint(value));
    }
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    return this.uint(field, value ? 1 : 0);
  }

  /** A nested message; sent even when empty, because presence can matter (e.g. an empty Any). */
  message(field: number, value: ProtoWriter | undefined): this {
    if (value) this.lengthDelimited(field, value.finish());
    return this;
  }

  messages(field: number, values: readonly ProtoWriter[] | undefined): this {
    for (const value of values ?? []) this.message(field, value);
    return this;
  }

  /** map<string, string>: each entry is a message with key = 1 and value = 2. */
  map(field: number, entries: Readonly<Record<string, string>> | undefined): this {
    for (const [key, value] of Object.entries(entries ?? {})) {
      this.message(field, new ProtoWriter().string(1, key).string(2, value));
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private tag(field: number, wireType: number): void {
    this.chunks.push(encodeVarint(field * 8 + wireType));
  }

  private lengthDelimited(field: number, value: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.chunks.push(encodeVarint(value.length), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
}

export function encodeVarint(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as an unsigned varint`);
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

type FieldValue = number | Buffer;

/** A decoded message: every occurrence of every field, by field number, in wire order. */
export class ProtoReader {
  private readonly fields = new Map<number, FieldValue[]>();

  constructor(buffer: Buffer) {
    let offset = 0;
    while (offset < buffer.length) {
      const [key, afterKey] = decodeVarint(buffer, offset);
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      let value: FieldValue;
      switch (wireType) {
        case VARINT:
          [value, offset] = decodeVarint(buffer, afterKey);
          break;
        case FIXED64:
          value = buffer.subarray(afterKey, afterKey + 8);
          offset = afterKey + 8;
          break;
        case LENGTH_DELIMITED: {
          const [length, start] = decodeVarint(buffer, afterKey);
          if (start + length > buffer.length) throw new Error('truncated protobuf message');
          value = buffer.subarray(start, start + length);
          offset = start + length;
          break;
        }
        case FIXED32:
          value = buffer.subarray(afterKey, afterKey + 4);
          offset = afterKey + 4;
          break;
        default:
          throw new Error(`unsupported protobuf wire type ${wireType} (field ${field})`);
      }
      const list = this.fields.get(field);
      if (list) list.push(value);
      else this.fields.set(field, [value]);
    }
  }

  string(field: number): string {
    return this.strings(field).at(-1) ?? '';
  }

  strings(field: number): string[] {
    return this.buffers(field).map((value) => value.toString('utf8'));
  }

  bytes(field: number): Buffer {
    return this.buffers(field).at(-1) ?? Buffer.alloc(0);
  }

  uint(field: number): number {
    const value = this.fields.get(field)?.at(-1);
    return typeof value === 'number' ? value : 0;
  }

  bool(field: number): boolean {
    return this.uint(field) !== 0;
  }

  message(field: number): ProtoReader | undefined {
    const value = this.buffers(field).at(-1);
    return value === undefined ? undefined : new ProtoReader(value);
  }

  messages(field: number): ProtoReader[] {
    return this.buffers(field).map((value) => new ProtoReader(value));
  }

  map(field: number): Record<string, string> {
    return Object.fromEntries(this.messages(field).map((entry) => [entry.string(1), entry.string(2)]));
  }

  private buffers(field: number): Buffer[] {
    return (this.fields.get(field) ?? []).filter((value): value is Buffer => Buffer.isBuffer(value));
  }
}

/** Decodes a varint at `offset`; returns it with the offset just past it. Exact up to 2^53. */
export function decodeVarint(buffer: Buffer, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let position = offset; position < buffer.length; position++) {
    const byte = buffer[position]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, position + 1];
    scale *= 0x80;
    if (position - offset >= 9) break;
  }
  throw new Error('malformed protobuf varint');
}
