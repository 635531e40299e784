// The scheduler: groups an optimised graph's equations into kernels over planned buffers.
//
// Fusion rules. A value gets a buffer of its own ("is materialised") when it is a graph
// output, a library op's result or operand (library kernels read contiguous buffers), a
// randomBits key that takes real work to compute, or a value used by several kernels whose
// recomputation would cost real work (transcendentals, long chains, random bits, any
// reduction). Everything else is inlined into the expression of each consumer: chains of
// elementwise ops fuse, and movement ops become index expressions on the loads. A reduction fuses with the chain that feeds it; the
// elementwise ops applied to its result (with no movement in between) form the kernel's
// epilogue, and a kernel holds at most one reduction. Where the backend runs epilogues in
// its library kernels (`libraryEpilogue`), a library op's result used once, by an elementwise
// op, is not stored: the elementwise chain that follows it (up to the next value that must
// be stored) becomes the library kernel's epilogue, as for a reduction.
import { coerceScalar } from '../dtype.js';
import { fail } from '../errors.js';
import type { DType } from '../dtype.js';
import type { Aval, Eqn, Graph, Var } from '../graph.js';
import { sizeOf } from '../shape.js';
import { axis as axisIdx, flatten, isConstIdx, lit } from './idx.js';
import type { AluOp, BufferInfo, BufferRole, Expr, FusedKernel, Idx, Kernel, LibraryKernel, LibraryOp, Reduction } from './ir.js';
import { Program } from './ir.js';
import { planBuffers } from './plan.js';
import { kernelRules } from './rules.js';

/** Options of {@link schedule}. */
export interface ScheduleOptions {
  /**
   * The value of 0-d const `index` to inline as a literal, or `undefined` to keep it in a
   * buffer. Default: read the const synchronously where its backend can (`readSync`).
   */
  scalarConst?: (index: number) => number | undefined;
  /**
   * Whether the backend can apply an elementwise epilogue inside library op `op` of result
   * dtype `dtype` (see {@link LibraryKernel.epilogue}). Default: never; every library result
   * is stored and the ops that follow run as kernels of their own.
   */
  libraryEpilogue?: (op: LibraryOp, dtype: DType) => boolean;
}

interface Fusion {
  /** Computed inside its consumers' kernels rather than stored. */
  inline: boolean;
  /** ALU work of its inlined expression per element (0 for loads and literals, Infinity for reductions). */
  cost: number;
  /** Its inlined expression contains a reduction (so it may only flow into elementwise ops). */
  hasReduce: boolean;
  /** The library op whose result its inlined expression contains (an epilogue in the making). */
  library?: Eqn;
}

/** A value shared by several kernels is stored when recomputing it costs at least this much. */
const STORE_COST = 8;

/** Rough per-element cost of each ALU op (1 is an add). */
const ALU_COST: Partial<Record<AluOp, number>> = {
  div: 4, recip: 4, sqrt: 4, rsqrt: 4, exp: 8, log: 8, sin: 8, cos: 8, tanh: 8, pow: 8,
};
const RANDOM_BITS_COST = 64;

/**
 * Decides, in one pass in graph order, which equation outputs are inlined into their
 * consumers. A value with several uses is inlined even when costly if all its uses flow,
 * through single-use elementwise ops, into one equation: it then sits several times in one
 * expression tree, which a renderer's compiler evaluates once (common subexpressions).
 */
function decideFusion(
  graph: Graph,
  producer: Map<Var, Eqn>,
  uses: Map<Var, number>,
  isOutput: Set<Var>,
  literal: Map<Var, number>,
  libraryEpilogue: ScheduleOptions['libraryEpilogue'],
): Map<Var, Fusion> {
  const consumers = new Map<Var, Eqn[]>();
  for (const e of graph.eqns)
    for (const u of e.inputs) {
      const list = consumers.get(u);
      if (list) list.push(e);
      else consumers.set(u, [e]);
    }
  const elementwise = (e: Eqn) => kernelRules[e.prim].kind === 'alu' || kernelRules[e.prim].kind === 'identity';
  // The last equation of the single-use elementwise chain that starts at `e` (or `e` itself).
  const endpoint = (e: Eqn): Eqn => {
    let cur = e;
    while (elementwise(cur) && !isOutput.has(cur.out) && uses.get(cur.out) === 1) {
      const next = consumers.get(cur.out)![0]!;
      if (!elementwise(next)) break;
      cur = next;
    }
    return cur;
  };
  const reconverges = (v: Var) => {
    if (isOutput.has(v)) return false;
    const ends = new Set((consumers.get(v) ?? []).map(endpoint));
    return ends.size === 1 && kernelRules[[...ends][0]!.prim].kind !== 'library';
  };

  const fusion = new Map<Var, Fusion>();
  for (const v of [...graph.inputs, ...graph.consts]) fusion.set(v, { inline: literal.has(v), cost: 0, hasReduce: false });
  const get = (v: Var) => fusion.get(v) ?? fail('schedule', 'internal error: a variable is used before it is defined');
  const materialise = (v: Var) => {
    if (producer.has(v)) get(v).inline = false;
  };

  for (const e of graph.eqns) {
    const rule = kernelRules[e.prim];
    const operands = [...new Set(e.inputs)];
    // A pending reduction or library op may only continue into elementwise ops (its
    // epilogue), and one kernel holds at most one of them (a library result may reach an
    // op through several operands: relu reads x twice).
    let pendingReduce = false;
    let pendingLibrary: Eqn | undefined;
    for (const u of operands) {
      const f = get(u);
      if (!f.inline) continue;
      if (rule.kind === 'library') materialise(u);
      else if (f.hasReduce || f.library) {
        const fits =
          elementwise(e) && !pendingReduce && (f.hasReduce ? !pendingLibrary : !pendingLibrary || pendingLibrary === f.library);
        if (!fits) materialise(u);
        else if (f.hasReduce) pendingReduce = true;
        else pendingLibrary = f.library;
      } else if (rule.kind === 'randomBits' && f.cost >= STORE_COST) materialise(u);
    }
    // What the operands cost where they are inlined (stored ones are loads: free).
    let cost = e.inputs.reduce((c, u) => c + (get(u).inline ? get(u).cost : 0), 0);
    let hasReduce = false;
    let library: Eqn | undefined;
    const n = uses.get(e.out) ?? 0;
    switch (rule.kind) {
      case 'alu':
        cost += ALU_COST[rule.op] ?? 1;
      // falls through
      case 'identity':
        hasReduce = operands.some((u) => get(u).inline && get(u).hasReduce);
        library = operands.map((u) => get(u)).find((f) => f.inline && f.library)?.library;
        break;
      case 'reduce':
        hasReduce = true;
        cost = Infinity;
        break;
      case 'randomBits':
        cost += RANDOM_BITS_COST;
        break;
      case 'library':
        cost = Infinity;
        // Used by elementwise ops that meet again (or stored by its consumer after all): an epilogue.
        if ((n === 1 || reconverges(e.out)) && !isOutput.has(e.out) && libraryEpilogue?.(rule.op, e.out.aval.dtype)) library = e;
        break;
      case 'view':
      case 'iota':
        break;
    }
    // (A value holding a library op costs Infinity: stored when shared, unless its uses reconverge.)
    const shared = n > 1 && (hasReduce || (cost >= STORE_COST && !reconverges(e.out)));
    const inline = !((rule.kind === 'library' && !library) || isOutput.has(e.out) || shared);
    fusion.set(e.out, { inline, cost, hasReduce, ...(library ? { library } : {}) });
  }

  // A library op becomes the epilogue kernel of the one stored value that holds it, when that
  // value keeps the op's dtype (not a comparison or a cast); otherwise the op's result is
  // stored and the values holding it load it, as without epilogues.
  const roots = new Map<Eqn, Var[]>();
  for (const [v, f] of fusion)
    if (f.library && !f.inline) roots.set(f.library, [...(roots.get(f.library) ?? []), v]);
  for (const [lib, vs] of roots) {
    const keep = vs.length === 1 && (vs[0] === lib.out || vs[0]!.aval.dtype === lib.out.aval.dtype);
    if (!keep) get(lib.out).inline = false;
  }
  return fusion;
}

/**
 * Schedules a graph into a {@link Program}: fused and library kernels in execution order, over
 * buffers planned by liveness. Graph inputs and consts are only read; each graph output gets
 * a buffer of its own (outputs that are inputs, consts or repeated get a copy kernel).
 *
 * @example
 * ```ts
 * const g = jit((x: Tensor) => sum(exp(mul(x, 2)))).lower(ones([4, 4]));
 * console.log(String(schedule(g))); // one kernel: reduce sum over exp(x*2)
 * ```
 */
export function schedule(graph: Graph, options: ScheduleOptions = {}): Program {
  const producer = new Map<Var, Eqn>();
  const uses = new Map<Var, number>();
  const use = (v: Var) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const e of graph.eqns) {
    producer.set(e.out, e);
    e.inputs.forEach(use);
  }
  graph.outputs.forEach(use);
  const isOutput = new Set(graph.outputs);

  // 0-d consts become literals, except where a library kernel needs them in a buffer.
  const libraryOperand = new Set<Var>();
  for (const e of graph.eqns) if (kernelRules[e.prim].kind === 'library') e.inputs.forEach((v) => libraryOperand.add(v));
  const scalarConst = options.scalarConst ?? defaultScalarConst(graph);
  const literal = new Map<Var, number>();
  graph.consts.forEach((v, i) => {
    if (v.aval.shape.length !== 0 || libraryOperand.has(v)) return;
    const value = scalarConst(i);
    if (value !== undefined) literal.set(v, coerceScalar(value, v.aval.dtype));
  });

  const fusion = decideFusion(graph, producer, uses, isOutput, literal, options.libraryEpilogue);

  // Buffers: inputs, consts that stay buffers, and every materialised equation output.
  const buffers: { dtype: Aval['dtype']; shape: readonly number[]; role: BufferRole | null }[] = [];
  const bufferOf = new Map<Var, number>();
  const newBuffer = (aval: Aval, role: BufferRole | null) => buffers.push({ dtype: aval.dtype, shape: aval.shape, role }) - 1;
  const inputs = graph.inputs.map((v, index) => {
    const id = newBuffer(v.aval, { kind: 'input', index });
    if (!bufferOf.has(v)) bufferOf.set(v, id);
    return id;
  });
  const consts = graph.consts.map((v, index) => {
    if (literal.has(v) || bufferOf.has(v)) return null;
    const id = newBuffer(v.aval, { kind: 'const', index });
    bufferOf.set(v, id);
    return id;
  });
  const outputs = new Array<number>(graph.outputs.length);
  const outputIndex = new Map<Var, number>();
  graph.outputs.forEach((v, i) => {
    if (producer.has(v) && !outputIndex.has(v)) outputIndex.set(v, i);
  });

  const kernels: Kernel[] = [];
  const ctx: BuildContext = { producer, bufferOf, literal, epilogueOf: new Map() };
  for (const e of graph.eqns) {
    const f = fusion.get(e.out)!;
    if (f.inline) continue;
    const lib = f.library;
    if (lib && lib !== e && fusion.get(lib.out)!.inline) ctx.epilogueOf.set(e.out, lib);
    const oi = outputIndex.get(e.out);
    const id = newBuffer(e.out.aval, oi === undefined ? null : { kind: 'output', index: oi });
    if (oi !== undefined) outputs[oi] = id;
    kernels.push(buildKernel(e.out, id, ctx, true));
    bufferOf.set(e.out, id);
  }
  // Outputs not produced by their own kernel (inputs, consts, repeats): copy kernels.
  graph.outputs.forEach((v, i) => {
    if (outputIndex.get(v) === i) return;
    const id = newBuffer(v.aval, { kind: 'output', index: i });
    outputs[i] = id;
    kernels.push(buildKernel(v, id, ctx, false));
  });

  const temps = buffers.flatMap((b, id) => (b.role === null ? [{ id, dtype: b.dtype, size: sizeOf(b.shape) }] : []));
  const { slotOf, slots } = planBuffers(kernels, temps);
  const infos: BufferInfo[] = buffers.map((b, id) => ({
    id,
    dtype: b.dtype,
    shape: b.shape,
    size: sizeOf(b.shape),
    role: b.role ?? { kind: 'temp', slot: slotOf.get(id)! },
  }));
  return new Program(infos, slots, kernels, inputs, consts, outputs);
}

function defaultScalarConst(graph: Graph): (i: number) => number | undefined {
  return (i) => {
    const t = graph.constValues[i];
    if (!t || t.isTracer || t.shape.length !== 0 || !t._owned?.backend.readSync) return undefined;
    return t.data()[0];
  };
}

interface BuildContext {
  producer: Map<Var, Eqn>;
  bufferOf: Map<Var, number>;
  literal: Map<Var, number>;
  /** Stored values computed as the epilogue of a library op: the op's equation. */
  epilogueOf: Map<Var, Eqn>;
}

function libraryKernel(e: Eqn, args: number[], out: number, epilogue?: Expr): LibraryKernel {
  return {
    kind: 'library',
    op: e.prim as LibraryOp,
    params: e.params as LibraryKernel['params'],
    args,
    argShapes: e.inputs.map((u) => u.aval.shape),
    out,
    shape: e.out.aval.shape,
    dtype: e.out.aval.dtype,
    ...(epilogue ? { epilogue } : {}),
  };
}

/**
 * Builds the kernel that stores `v` into buffer `out`. With `own`, `v` is computed from its
 * equation (inlining what was not materialised); otherwise `v` is copied from where it lives.
 */
function buildKernel(v: Var, out: number, ctx: BuildContext, own: boolean): Kernel {
  const e = own ? ctx.producer.get(v) : undefined;
  const operands = (lib: Eqn) =>
    lib.inputs.map((u) => ctx.bufferOf.get(u) ?? fail('schedule', `internal error: ${lib.prim} operand has no buffer`));
  if (e && kernelRules[e.prim].kind === 'library') return libraryKernel(e, operands(e), out);
  const lib = own ? ctx.epilogueOf.get(v) : undefined;
  if (lib) {
    // The op's operands come first in args (repeats kept: one per operand); the epilogue's
    // own loads are appended after them.
    const b = new FusedBuilder(ctx, v.aval.shape, lib);
    b.args.push(...operands(lib));
    const expr = b.compute(v, v.aval.shape.map((_, a) => axisIdx(a)), true);
    return libraryKernel(lib, b.args, out, expr);
  }
  const b = new FusedBuilder(ctx, v.aval.shape);
  const root = v.aval.shape.map((_, a) => axisIdx(a));
  const expr = own ? b.compute(v, root, true) : b.value(v, root, false);
  const k: FusedKernel = {
    kind: 'fused',
    shape: v.aval.shape,
    dtype: v.aval.dtype,
    ...(b.reduce ? { reduce: b.reduce } : {}),
    expr,
    args: b.args,
    out,
  };
  return k;
}

/** Builds the expression tree of one fused kernel. */
class FusedBuilder {
  readonly args: number[] = [];
  /** Extents of the index space: output axes, then (once known) the reduction's. */
  readonly ext: number[];
  reduce: Reduction | undefined;

  constructor(
    private readonly ctx: BuildContext,
    shape: readonly number[],
    /** The library op this expression is the epilogue of (its result is `reduced`). */
    private readonly library?: Eqn,
  ) {
    this.ext = [...shape];
  }

  private arg(buffer: number): number {
    let a = this.args.indexOf(buffer);
    if (a < 0) a = this.args.push(buffer) - 1;
    return a;
  }

  /** The value of `u` at `idx`: a literal, a load from its buffer, or its inlined computation. */
  value(u: Var, idx: readonly Idx[], epilogue: boolean): Expr {
    const lit = this.ctx.literal.get(u);
    if (lit !== undefined) return { op: 'const', dtype: u.aval.dtype, value: lit };
    const buf = this.ctx.bufferOf.get(u);
    if (buf !== undefined) return { op: 'load', dtype: u.aval.dtype, arg: this.arg(buf), index: flatten(idx, u.aval.shape, this.ext) };
    return this.compute(u, idx, epilogue);
  }

  /**
   * The computation of `v` from its equation at `idx`. `epilogue` is true while only
   * elementwise ops separate `v` from the kernel's output, where a reduction may sit.
   */
  compute(v: Var, idx: readonly Idx[], epilogue: boolean): Expr {
    const e = this.ctx.producer.get(v) ?? fail('schedule', 'internal error: no equation computes this value');
    const rule = kernelRules[e.prim];
    const dtype = v.aval.dtype;
    switch (rule.kind) {
      case 'alu':
        return { op: 'alu', dtype, alu: rule.op, args: e.inputs.map((u) => this.value(u, idx, epilogue)) };
      case 'identity':
        return this.value(e.inputs[0]!, idx, epilogue);
      case 'view': {
        const view = (rule.view as (...a: unknown[]) => import('./views.js').View)(
          idx,
          e.inputs.map((u) => u.aval),
          v.aval,
          e.params,
          this.ext,
        );
        let result: Expr | undefined = view.fill === undefined ? undefined : { op: 'const', dtype, value: coerceScalar(view.fill, dtype) };
        for (let s = view.sources.length - 1; s >= 0; s--) {
          const src = view.sources[s]!;
          if (isConstIdx(src.valid, 0)) continue;
          const val = this.value(e.inputs[src.input]!, src.idx, false);
          result = src.valid === undefined || isConstIdx(src.valid, 1) || result === undefined ? val : select(src.valid, val, result);
        }
        return result ?? fail('schedule', `internal error: ${e.prim} reads nothing`);
      }
      case 'reduce': {
        if (!epilogue || this.reduce) fail('schedule', 'internal error: a reduction is not at the root of its kernel');
        const x = e.inputs[0]!;
        const axes = (e.params as { axes: readonly number[] }).axes;
        const base = this.ext.length;
        const extents = axes.map((a) => x.aval.shape[a]!);
        this.ext.push(...extents);
        let k = 0;
        const inIdx = x.aval.shape.map((_, a) => (axes.includes(a) ? axisIdx(base + axes.indexOf(a)) : idx[k++]!));
        const body = this.value(x, inIdx, false);
        this.reduce = { op: rule.op, extents, body, dtype };
        return { op: 'reduced', dtype };
      }
      case 'iota':
        return { op: 'index', dtype, index: idx[(e.params as { axis: number }).axis]! };
      case 'randomBits': {
        const key = e.inputs[0]!;
        return {
          op: 'threefry',
          dtype: 'int32',
          key: [this.value(key, [lit(0)], false), this.value(key, [lit(1)], false)],
          stream: (e.params as { stream: number }).stream,
          counter: flatten(idx, v.aval.shape, this.ext),
        };
      }
      case 'library':
        if (e !== this.library || !epilogue) fail('schedule', `internal error: ${e.prim} is not materialised`);
        return { op: 'reduced', dtype };
    }
  }
}

/**
 * `cond ? then : otherwise`, folded into the load's own validity when `then` is a plain load
 * and `otherwise` a constant (the common case: padding a buffer).
 */
function select(cond: Idx, then: Expr, otherwise: Expr): Expr {
  if (then.op === 'load' && otherwise.op === 'const') {
    if (then.valid === undefined) return { ...then, valid: cond, fill: otherwise.value };
    if (then.fill === otherwise.value) return { ...then, valid: { op: 'and', a: cond, b: then.valid } };
  }
  return { op: 'select', dtype: then.dtype, cond, then, else: otherwise };
}
