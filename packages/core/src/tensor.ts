import type { Backend, DeviceBuffer } from './backend/interface.js';
import { allocArray, type DType, type TypedArray } from './dtype.js';
import { fail, fmtShape } from './errors.js';
import type { Aval, Var } from './graph.js';
import { sizeOf, stridesOf } from './shape.js';
import type { Trace } from './trace.js';

interface Owned {
  backend: Backend;
  buffer: DeviceBuffer;
}

// Frees a tensor's device buffer when the tensor is garbage-collected.
const finalizer = new FinalizationRegistry<Owned>((o) => o.backend.free(o.buffer));

/**
 * An immutable n-dimensional array. A tensor is either concrete (data on a backend) or a
 * tracer standing for a value while a function is traced by `jit`, `grad` or `makeGraph`.
 *
 * @example
 * ```ts
 * const t = tensor([[1, 2], [3, 4]]);
 * t.shape;      // [2, 2]
 * t.toArray();  // [[1, 2], [3, 4]]
 * ```
 */
export class Tensor implements Aval {
  /** @internal */ _owned: Owned | null;
  /** @internal */ readonly _trace: Trace | null;
  /** @internal */ readonly _var: Var | null;

  /** @internal Use `tensor()`, `zeros()` and the ops to make tensors. */
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    concrete: Owned | null,
    tracer: { trace: Trace; v: Var } | null = null,
  ) {
    Object.freeze(shape);
    this._owned = concrete;
    this._trace = tracer?.trace ?? null;
    this._var = tracer?.v ?? null;
    if (concrete) finalizer.register(this, concrete, this);
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True for tracers (values inside a function being transformed). */
  get isTracer(): boolean {
    return this._trace !== null;
  }

  /** The backend holding this tensor's data. */
  get backend(): Backend {
    return this.concrete('backend').backend;
  }

  /** @internal */
  concrete(op: string): Owned {
    if (this._trace)
      fail(
        op,
        `cannot read the values of a traced tensor (${this.describe()}) inside a function being transformed by jit/grad/vjp; ` +
          'compute with tensor ops instead, or return the value from the transformed function',
      );
    if (!this._owned) fail(op, `tensor ${this.describe()} was disposed`);
    return this._owned;
  }

  /** The data as a new typed array (Float32Array, Float64Array, Int32Array, or Uint8Array for bool). */
  data(): TypedArray {
    const { backend, buffer } = this.concrete('data');
    if (!backend.readSync)
      fail('data', `backend '${backend.name}' cannot read synchronously; use await t.dataAsync()`);
    return backend.readSync(buffer, this.dtype, this.size);
  }

  /** The data as a new typed array, on any backend. */
  async dataAsync(): Promise<TypedArray> {
    const { backend, buffer } = this.concrete('dataAsync');
    return backend.read(buffer, this.dtype, this.size);
  }

  /** The values as nested JS arrays (booleans for bool tensors; a number for rank 0). */
  toArray(): NestedArray {
    return nest(this.data(), this.shape, this.dtype === 'bool');
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) fail('item', `expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.data()[0]!;
  }

  /** Frees the device memory now; the tensor cannot be used afterwards. Idempotent. */
  dispose(): void {
    if (this._owned) {
      finalizer.unregister(this);
      this._owned.backend.free(this._owned.buffer);
      this._owned = null;
    }
  }

  /** `using t = ...` frees the tensor at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  get isDisposed(): boolean {
    return !this._trace && !this._owned;
  }

  /** @internal */
  describe(): string {
    return `${this.dtype}${fmtShape(this.shape)}`;
  }

  toString(): string {
    if (this._trace) return `Tracer(${this.describe()})`;
    if (!this._owned) return `Tensor(${this.describe()}, disposed)`;
    return `Tensor(${formatData(this.data(), this.shape, this.dtype)}, dtype=${this.dtype}, shape=${fmtShape(this.shape)})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export type NestedArray = number | boolean | NestedArray[];

function nest(data: TypedArray, shape: readonly number[], asBool: boolean): NestedArray {
  const at = (i: number): number | boolean => (asBool ? data[i] !== 0 : data[i]!);
  if (shape.length === 0) return at(0);
  const strides = stridesOf(shape);
  const rec = (dim: number, offset: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[dim]!; i++) {
      const o = offset + i * strides[dim]!;
      out.push(dim === shape.length - 1 ? at(o) : rec(dim + 1, o));
    }
    return out;
  };
  return rec(0, 0);
}

const MAX_PRINT = 1000;

function formatData(data: TypedArray, shape: readonly number[], dtype: DType): string {
  const fmt = (v: number): string => {
    if (dtype === 'bool') return v ? 'true' : 'false';
    if (dtype === 'int32') return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.`;
    return Number(v.toPrecision(dtype === 'float32' ? 6 : 10)).toString();
  };
  if (shape.length === 0) return fmt(data[0]!);
  const strides = stridesOf(shape);
  const elide = data.length > MAX_PRINT;
  const rec = (dim: number, offset: number, indent: string): string => {
    const n = shape[dim]!;
    const idx = elide && n > 6 ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i);
    const last = dim === shape.length - 1;
    const parts = idx.map((i) =>
      i < 0 ? '...' : last ? fmt(data[offset + i * strides[dim]!]!) : rec(dim + 1, offset + i * strides[dim]!, indent + ' '),
    );
    return `[${parts.join(last ? ', ' : `,\n${indent} `)}]`;
  };
  return rec(0, 0, '');
}

/** @internal A concrete tensor around a freshly produced buffer. */
export function wrapBuffer(backend: Backend, buffer: DeviceBuffer, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(shape, dtype, { backend, buffer });
}

/** @internal A host array uploaded to `backend`. */
export function fromHost(backend: Backend, data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  return wrapBuffer(backend, backend.upload(data, dtype), shape, dtype);
}

export function emptyHost(dtype: DType, shape: readonly number[]): TypedArray {
  return allocArray(dtype, sizeOf(shape));
}
