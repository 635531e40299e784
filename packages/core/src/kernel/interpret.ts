// Executes a Program on typed arrays: each kernel is compiled once into a tree of JS closures
// (one per expression node), then run over its index space. The arena of temporaries is
// allocated on the first run and reused by every later run.
import { allocArray, type DType, type TypedArray } from '../dtype.js';
import { fail } from '../errors.js';
import { primitives } from '../primitives/index.js';
import type { RefArray } from '../primitives/types.js';
import { threefry2x32 } from '../random/threefry.js';
import { sizeOf } from '../shape.js';
import { aluFunction } from './alu.js';
import type { Expr, FusedKernel, Idx, Kernel, LibraryKernel, Program } from './ir.js';

type Thunk = () => number;
type RunKernel = (bufs: TypedArray[]) => void;

/** A program compiled for the interpreter; it owns the arena of its temporaries. */
export interface CompiledProgram {
  /**
   * Runs the kernels on `inputs` (one array per graph input) and `consts` (one per graph
   * const) and returns one new array per graph output. Inputs and consts are only read.
   */
  run(inputs: readonly TypedArray[], consts: readonly TypedArray[]): TypedArray[];
  /** Bytes held by the arena (0 before the first run and after `release`). */
  readonly arenaBytes: number;
  /** How many arena arrays were allocated so far: after the first run it no longer grows. */
  readonly allocations: number;
  /** Drops the arena (a later run allocates it again). */
  release(): void;
}

/** Hooks for memory accounting. */
export interface InterpretHooks {
  /** Called with the bytes of the arena when it is allocated (positive) or released (negative). */
  onArena?(bytes: number): void;
}

/** Compiles every kernel of `program` into closures; see {@link CompiledProgram}. */
export function compileProgram(program: Program, hooks: InterpretHooks = {}): CompiledProgram {
  const kernels = program.kernels.map((k) => (k.kind === 'fused' ? compileFused(k) : compileLibrary(k, program)));
  const bufs: TypedArray[] = new Array(program.buffers.length);
  let views: (TypedArray | undefined)[] | null = null;
  let arenaBytes = 0;
  let allocations = 0;
  const EMPTY = new Float32Array(0);

  const allocate = () => {
    const arena = program.slots.map((s) => allocArray(s.dtype, s.size));
    allocations += arena.length;
    arenaBytes = arena.reduce((n, a) => n + a.byteLength, 0);
    hooks.onArena?.(arenaBytes);
    return program.buffers.map((b) => (b.role.kind === 'temp' ? arena[b.role.slot]!.subarray(0, b.size) : undefined));
  };

  return {
    run(inputs, consts) {
      if (inputs.length !== program.inputs.length)
        fail('interpret', `expected ${program.inputs.length} input array(s), got ${inputs.length}`);
      views ??= allocate();
      for (const b of program.buffers) {
        const role = b.role;
        let data: TypedArray;
        if (role.kind === 'temp') data = views[b.id]!;
        else if (role.kind === 'output') data = allocArray(b.dtype, b.size);
        else {
          data = (role.kind === 'input' ? inputs : consts)[role.index] ?? fail('interpret', `missing ${role.kind} ${role.index}`);
          if (data.length !== b.size)
            fail('interpret', `${role.kind} ${role.index} has ${data.length} elements, expected ${b.size} (shape [${b.shape.join(', ')}])`);
        }
        bufs[b.id] = data;
      }
      for (const k of kernels) k(bufs);
      const outs = program.outputs.map((id) => bufs[id]!);
      // Hold no references to the caller's arrays between runs.
      for (const b of program.buffers) if (b.role.kind !== 'temp') bufs[b.id] = EMPTY;
      return outs;
    },
    get arenaBytes() {
      return arenaBytes;
    },
    get allocations() {
      return allocations;
    },
    release() {
      if (!views) return;
      hooks.onArena?.(-arenaBytes);
      views = null;
      arenaBytes = 0;
    },
  };
}

/** Runs `program` once (compiles, runs, releases). */
export function interpret(program: Program, inputs: readonly TypedArray[], consts: readonly TypedArray[]): TypedArray[] {
  return compileProgram(program).run(inputs, consts);
}

/** Rounds an accumulated value to the dtype it is stored in (as the reference reductions do). */
const ROUND: Record<DType, (v: number) => number> = {
  float32: Math.fround,
  float64: (v) => v,
  int32: (v) => v | 0,
  bool: (v) => v,
};

function compileFused(k: FusedKernel): RunKernel {
  const rank = k.shape.length;
  const shape = k.shape;
  const red = k.reduce;
  const ix: number[] = new Array(rank + (red?.extents.length ?? 0)).fill(0);
  const args: TypedArray[] = new Array(k.args.length);
  const state = { acc: 0 };
  const root = compileExpr(k.expr, ix, args, state);
  const body = red ? compileExpr(red.body, ix, args, state) : null;
  const rExt = red?.extents ?? [];
  const rTotal = sizeOf(rExt);
  const isSum = red?.op === 'sum';
  const round = ROUND[red?.dtype ?? 'float64'];

  const reduce = () => {
    let acc = isSum ? 0 : -Infinity;
    for (let d = 0; d < rExt.length; d++) ix[rank + d] = 0;
    for (let t = 0; t < rTotal; t++) {
      const v = body!();
      // max keeps the first NaN it meets, as the reference does
      acc = isSum ? acc + v : v > acc || Number.isNaN(v) ? v : acc;
      for (let d = rExt.length - 1; d >= 0; d--) {
        if (++ix[rank + d]! < rExt[d]!) break;
        ix[rank + d] = 0;
      }
    }
    state.acc = round(acc);
  };

  return (bufs) => {
    for (let a = 0; a < args.length; a++) args[a] = bufs[k.args[a]!]!;
    const out = bufs[k.out]!;
    const n = out.length;
    for (let d = 0; d < rank; d++) ix[d] = 0;
    for (let f = 0; f < n; f++) {
      if (body) reduce();
      out[f] = root();
      for (let d = rank - 1; d >= 0; d--) {
        if (++ix[d]! < shape[d]!) break;
        ix[d] = 0;
      }
    }
  };
}

function compileExpr(e: Expr, ix: number[], args: TypedArray[], state: { acc: number }): Thunk {
  const sub = (x: Expr) => compileExpr(x, ix, args, state);
  switch (e.op) {
    case 'load': {
      const a = e.arg;
      const at = compileIdx(e.index, ix);
      if (!e.valid) return () => args[a]![at()]!;
      const valid = compileIdx(e.valid, ix);
      const fill = e.fill ?? 0;
      return () => (valid() ? args[a]![at()]! : fill);
    }
    case 'const': {
      const v = e.value;
      return () => v;
    }
    case 'index': {
      const at = compileIdx(e.index, ix);
      return e.dtype === 'float32' ? () => Math.fround(at()) : at;
    }
    case 'alu': {
      const operand = e.alu === 'where' ? e.args[1]!.dtype : e.args[0]!.dtype;
      const f = aluFunction(e.alu, e.dtype, operand);
      const xs = e.args.map(sub);
      if (xs.length === 1) {
        const [a] = xs as [Thunk];
        return () => f(a());
      }
      if (xs.length === 2) {
        const [a, b] = xs as [Thunk, Thunk];
        return () => f(a(), b());
      }
      const [a, b, c] = xs as [Thunk, Thunk, Thunk];
      return () => f(a(), b(), c());
    }
    case 'select': {
      const cond = compileIdx(e.cond, ix);
      const t = sub(e.then);
      const el = sub(e.else);
      return () => (cond() ? t() : el());
    }
    case 'threefry': {
      const k0 = sub(e.key[0]);
      const k1 = sub(e.key[1]);
      const counter = compileIdx(e.counter, ix);
      const stream = e.stream;
      return () => threefry2x32(k0(), k1(), stream, counter())[0] | 0;
    }
    case 'reduced':
      return () => state.acc;
  }
}

/** An affine index `c + sum coef[k] * ix[axis[k]]`, or null when `e` is not affine. */
function affine(e: Idx): { axes: number[]; coefs: number[]; c: number } | null {
  const axes: number[] = [];
  const coefs: number[] = [];
  let c = 0;
  const visit = (x: Idx, k: number): boolean => {
    if (x.op === 'const') c += k * x.value;
    else if (x.op === 'axis') {
      const i = axes.indexOf(x.axis);
      if (i >= 0) coefs[i] = coefs[i]! + k;
      else {
        axes.push(x.axis);
        coefs.push(k);
      }
    } else if (x.op === 'add') return visit(x.a, k) && visit(x.b, k);
    else if (x.op === 'mul' && x.b.op === 'const') return visit(x.a, k * x.b.value);
    else if (x.op === 'mul' && x.a.op === 'const') return visit(x.b, k * x.a.value);
    else return false;
    return true;
  };
  return visit(e, 1) ? { axes, coefs, c } : null;
}

function compileIdx(e: Idx, ix: number[]): Thunk {
  const lin = affine(e);
  if (lin) {
    const { axes, coefs, c } = lin;
    if (axes.length === 0) return () => c;
    const [a0, a1, a2] = axes as [number, number, number];
    const [c0, c1, c2] = coefs as [number, number, number];
    if (axes.length === 1) return c0 === 1 && c === 0 ? () => ix[a0]! : () => ix[a0]! * c0 + c;
    if (axes.length === 2) return () => ix[a0]! * c0 + ix[a1]! * c1 + c;
    if (axes.length === 3) return () => ix[a0]! * c0 + ix[a1]! * c1 + ix[a2]! * c2 + c;
    return () => {
      let v = c;
      for (let i = 0; i < axes.length; i++) v += ix[axes[i]!]! * coefs[i]!;
      return v;
    };
  }
  const sub = (x: Idx) => compileIdx(x, ix);
  switch (e.op) {
    case 'add': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => a() + b();
    }
    case 'mul': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => a() * b();
    }
    case 'div': {
      const [a, d] = [sub(e.a), e.b];
      return () => Math.floor(a() / d);
    }
    case 'mod': {
      const [a, d] = [sub(e.a), e.b];
      return () => {
        const v = a();
        return v - d * Math.floor(v / d);
      };
    }
    case 'lt': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => (a() < b() ? 1 : 0);
    }
    case 'ge': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => (a() >= b() ? 1 : 0);
    }
    case 'eq': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => (a() === b() ? 1 : 0);
    }
    case 'and': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => (a() && b() ? 1 : 0);
    }
    case 'or': {
      const [a, b] = [sub(e.a), sub(e.b)];
      return () => (a() || b() ? 1 : 0);
    }
    default:
      return fail('interpret', `internal error: unexpected index node '${e.op}'`);
  }
}

function compileLibrary(k: LibraryKernel, program: Program): RunKernel {
  const def = primitives[k.op] as (typeof primitives)['dot'];
  const nOperands = k.argShapes.length;
  const dtypes = k.args.map((id) => program.buffers[id]!.dtype);
  const outAval = { shape: k.shape, dtype: k.dtype };
  const result = (bufs: TypedArray[]) => {
    const refs: RefArray[] = k.args
      .slice(0, nOperands)
      .map((id, i) => ({ data: bufs[id]!, shape: k.argShapes[i]!, dtype: dtypes[i]! }));
    return def.reference(refs, k.params as never, outAval);
  };
  if (!k.epilogue) return (bufs) => bufs[k.out]!.set(result(bufs));
  // The epilogue: an elementwise fused kernel whose `reduced` is the op's result there.
  const rank = k.shape.length;
  const ix: number[] = new Array(rank).fill(0);
  const args: TypedArray[] = new Array(k.args.length);
  const state = { acc: 0 };
  const root = compileExpr(k.epilogue, ix, args, state);
  return (bufs) => {
    const r = result(bufs);
    for (let a = 0; a < args.length; a++) args[a] = bufs[k.args[a]!]!;
    const out = bufs[k.out]!;
    for (let d = 0; d < rank; d++) ix[d] = 0;
    for (let f = 0; f < out.length; f++) {
      state.acc = r[f]!;
      out[f] = root();
      for (let d = rank - 1; d >= 0; d--) {
        if (++ix[d]! < k.shape[d]!) break;
        ix[d] = 0;
      }
    }
  };
}
