// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } },
// then the raw little-endian tensor bytes. Offsets are relative to the end of the header.
import type { DType, TypedArray } from '@resgrad/core';

/** A tensor as stored: dtype, shape and a host array. */
export interface StoredTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** Header larger than this is rejected before it is parsed (the reference parser uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const WRITE_CODE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

/**
 * How each dtype code of the format is read: bytes per element and a decoder into one of our
 * dtypes. F16, BF16 and I64 (PyTorch's num_batches_tracked) are converted on reading.
 */
const READ: Record<string, { bytes: number; dtype: DType; decode: (view: DataView, n: number) => TypedArray | string }> = {
  F32: { bytes: 4, dtype: 'float32', decode: (v, n) => fill(new Float32Array(n), (i) => v.getFloat32(i * 4, true)) },
  F64: { bytes: 8, dtype: 'float64', decode: (v, n) => fill(new Float64Array(n), (i) => v.getFloat64(i * 8, true)) },
  I32: { bytes: 4, dtype: 'int32', decode: (v, n) => fill(new Int32Array(n), (i) => v.getInt32(i * 4, true)) },
  BOOL: {
    bytes: 1,
    dtype: 'bool',
    decode: (v, n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const b = v.getUint8(i);
        if (b > 1) return `BOOL element ${i} has byte value ${b} (expected 0 or 1)`;
        out[i] = b;
      }
      return out;
    },
  },
  F16: { bytes: 2, dtype: 'float32', decode: (v, n) => fill(new Float32Array(n), (i) => halfToFloat(v.getUint16(i * 2, true))) },
  BF16: { bytes: 2, dtype: 'float32', decode: (v, n) => fill(new Float32Array(n), (i) => bf16ToFloat(v.getUint16(i * 2, true))) },
  I64: {
    bytes: 8,
    dtype: 'int32',
    decode: (v, n) => {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.getBigInt64(i * 8, true);
        if (x > 2147483647n || x < -2147483648n) return `I64 element ${i} (${x}) does not fit int32`;
        out[i] = Number(x);
      }
      return out;
    },
  },
};

function fill<T extends TypedArray>(a: T, f: (i: number) => number): T {
  for (let i = 0; i < a.length; i++) a[i] = f(i);
  return a;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function bf16ToFloat(b: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, b << 16);
  return v.getFloat32(0);
}

const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A header value for an error message: short, and never throwing (deeply nested JSON overflows JSON.stringify). */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...] (nested too deeply to print)' : typeof v;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Parses a safetensors file held in memory. Every fault (short file, header length beyond the
 * file or over the limit, bad JSON, unknown dtype, offsets out of range, overlapping or
 * leaving holes, sizes that disagree with shapes) is an error value naming the fault; the
 * parser never throws and never returns silently wrong data.
 */
export function parseSafetensors(bytes: Uint8Array): Result<SafetensorsFile> {
  const err = (error: string): Result<SafetensorsFile> => ({ ok: false, error });
  if (bytes.length < 8) return err(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) return err(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) return err(`header length ${headerLen} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    return err(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlain(header)) return err('header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlain(entry)) return err('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') return err(`__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlain(entry)) return err(`entry '${name}' must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: unknown; shape: unknown; data_offsets: unknown };
    // Own keys only: 'toString' or '__proto__' are not dtypes.
    const reader = typeof dtype === 'string' && Object.hasOwn(READ, dtype) ? READ[dtype] : undefined;
    if (!reader) return err(`tensor '${name}' has unknown or unsupported dtype ${show(dtype)} (supported: ${Object.keys(READ).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      return err(`tensor '${name}' has an invalid shape ${show(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      return err(`tensor '${name}' has invalid data_offsets ${show(offsets)}`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) return err(`tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data section`);
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count * reader.bytes > dataLen) return err(`tensor '${name}' of shape [${shape.join(', ')}] needs more bytes than the data section holds`);
    }
    if ((end - begin) !== count * reader.bytes)
      return err(`tensor '${name}' spans ${end - begin} bytes but ${dtype}[${shape.join(', ')}] needs ${count * reader.bytes}`);
    const data = reader.decode(new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin), count);
    if (typeof data === 'string') return err(`tensor '${name}': ${data}`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: reader.dtype, shape: shape as number[], data });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [begin, end, name] of spans) {
    if (begin < pos) return err(`tensor '${name}' data [${begin}, ${end}] overlaps the previous tensor (ending at ${pos})`);
    if (begin > pos) return err(`the data section has a hole at bytes [${pos}, ${begin}) before tensor '${name}'`);
    pos = end;
  }
  if (pos !== dataLen) return err(`the data section has ${dataLen - pos} trailing bytes not owned by any tensor`);
  return { ok: true, value: { tensors, metadata } };
}

/** Encodes tensors (name -> dtype, shape, data) and string metadata as a safetensors file. */
export function encodeSafetensors(tensors: Iterable<[string, StoredTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = [...tensors];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("encodeSafetensors: '__metadata__' cannot be a tensor name");
    const bytes = t.data.byteLength;
    header[name] = { dtype: WRITE_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so that the data section starts 8-byte aligned, as the reference writer does.
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  json += ' '.repeat(padded - headerBytes.length);
  headerBytes = enc.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Typed arrays are little-endian on every platform Node runs on.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
