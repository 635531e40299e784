import type { Backend } from './backend/interface.js';
import { defaultBackend } from './backend/registry.js';
import { fail } from './errors.js';
import { type Aval, type Eqn, Graph, Var } from './graph.js';
import { primitives } from './primitives/index.js';
import type { Params, PrimName } from './primitives/types.js';
import { fromHost, Tensor, wrapBuffer } from './tensor.js';

/**
 * Records primitive applications into a graph while a function runs on tracers. Values
 * from outside the trace (concrete tensors, tracers of enclosing traces) become consts.
 */
export class Trace {
  active = true;
  readonly eqns: Eqn[] = [];
  readonly inputs: Var[] = [];
  private readonly constVars = new Map<Tensor, Var>();

  constructor(readonly label: string) {}

  newInput(aval: Aval): Tensor {
    const v = new Var({ shape: aval.shape, dtype: aval.dtype });
    this.inputs.push(v);
    return new Tensor(v.aval.shape, v.aval.dtype, null, { trace: this, v });
  }

  /** The graph variable standing for `t` inside this trace. */
  varOf(t: Tensor): Var {
    if (t._trace === this) return t._var!;
    let v = this.constVars.get(t);
    if (!v) {
      v = new Var({ shape: t.shape, dtype: t.dtype });
      this.constVars.set(t, v);
    }
    return v;
  }

  record<P extends PrimName>(prim: P, inputs: readonly Tensor[], params: Params[P], aval: Aval): Tensor {
    const out = new Var(aval);
    this.eqns.push({ prim, inputs: inputs.map((t) => this.varOf(t)), params, out } as Eqn);
    return new Tensor(aval.shape, aval.dtype, null, { trace: this, v: out });
  }

  finish(outputs: readonly Tensor[]): Graph {
    const outVars = outputs.map((t) => this.varOf(t));
    return new Graph(this.inputs, [...this.constVars.values()], [...this.constVars.keys()], this.eqns, outVars);
  }
}

const traceStack: Trace[] = [];

/** True while some function is being traced. */
export function isTracing(): boolean {
  return traceStack.length > 0;
}

/**
 * Runs `fn` with a fresh trace on top of the stack and returns the graph of its outputs.
 * `fn` receives tracers for `inputAvals`.
 */
export function traceToGraph(
  label: string,
  inputAvals: readonly Aval[],
  fn: (inputs: Tensor[]) => readonly Tensor[],
): Graph {
  const trace = new Trace(label);
  const inputs = inputAvals.map((a) => trace.newInput(a));
  traceStack.push(trace);
  try {
    const outputs = fn(inputs);
    for (const t of outputs) checkLive(label, t);
    return trace.finish(outputs);
  } finally {
    traceStack.pop();
    trace.active = false;
  }
}

function checkLive(op: string, t: Tensor): void {
  if (t._trace && !t._trace.active)
    fail(
      op,
      `a tracer (${t.describe()}) leaked out of the function traced by ${t._trace.label}: ` +
        'a value computed inside a transformed function was kept (in a closure or a global) and used after it returned',
    );
  if (!t._trace && !t._owned) fail(op, `tensor ${t.describe()} was disposed`);
}

/**
 * Applies a primitive: records it when tracing, otherwise runs it on the inputs' backend.
 * Every op in the library ends here.
 */
export function bind<P extends PrimName>(prim: P, inputs: readonly Tensor[], params: Params[P]): Tensor {
  for (const t of inputs) checkLive(prim, t);
  const def = primitives[prim];
  const aval = def.shape(inputs, params);
  const top = traceStack[traceStack.length - 1];
  if (top) return top.record(prim, inputs, params, aval);
  return runEager(prim, inputs, params, aval);
}

/** The backend shared by concrete `inputs` (the default backend when there are none). */
export function commonBackend(op: string, inputs: readonly Tensor[]): Backend {
  let backend: Backend | undefined;
  for (const t of inputs) {
    const b = t.concrete(op).backend;
    if (backend && b !== backend)
      fail(op, `inputs live on different backends ('${backend.name}' and '${b.name}'); move one with toBackend()`);
    backend = b;
  }
  return backend ?? defaultBackend();
}

const eagerCache = new WeakMap<Backend, Map<string, ReturnType<Backend['compile']>>>();
/**
 * Compiled one-equation graphs kept per backend. The cache is least-recently-used and bounded:
 * params that change on every call (foldIn(key, step) makes a new randomBits stream each
 * step) would otherwise grow it, and the host memory, without limit.
 */
const EAGER_CACHE_LIMIT = 1024;

function runEager<P extends PrimName>(prim: P, inputs: readonly Tensor[], params: Params[P], aval: Aval): Tensor {
  const backend = commonBackend(prim, inputs);
  let cache = eagerCache.get(backend);
  if (!cache) eagerCache.set(backend, (cache = new Map()));
  let key = `${prim}|${JSON.stringify(params)}|${aval.dtype}`;
  for (const t of inputs) key += `|${t.dtype}[${t.shape.join(',')}]`;
  let exe = cache.get(key);
  if (exe) {
    // Move it to the back: the front of the map is the least recently used entry.
    cache.delete(key);
    cache.set(key, exe);
  } else {
    const ins = inputs.map((t) => new Var({ shape: t.shape, dtype: t.dtype }));
    const out = new Var(aval);
    const eqn = { prim, inputs: ins, params, out } as Eqn;
    exe = backend.compile(new Graph(ins, [], [], [eqn], [out]));
    cache.set(key, exe);
    if (cache.size > EAGER_CACHE_LIMIT) {
      const [oldestKey, oldest] = cache.entries().next().value!;
      cache.delete(oldestKey);
      oldest.dispose();
    }
  }
  const [buf] = exe.run(inputs.map((t) => t._owned!.buffer));
  return wrapBuffer(backend, buf!, aval.shape, aval.dtype);
}

/**
 * Evaluates a graph on values through `bind`: eagerly on concrete tensors, or recorded into
 * the enclosing trace when called while tracing. Returns the value of every variable.
 */
export function evalGraph(graph: Graph, args: readonly Tensor[]): Map<Var, Tensor> {
  const env = new Map<Var, Tensor>();
  graph.inputs.forEach((v, i) => env.set(v, args[i]!));
  // Constants captured while tracing live on the backend that was the default then; when the
  // graph is evaluated eagerly on another backend's tensors, move them there (as jit does).
  const target = args.find((t) => !t.isTracer && t._owned)?._owned!.backend;
  graph.consts.forEach((v, i) => {
    const c = graph.constValues[i]!;
    const moved = target && !c.isTracer && c._owned && c._owned.backend !== target ? fromHost(target, c.data(), c.shape, c.dtype) : c;
    env.set(v, moved);
  });
  for (const e of graph.eqns) {
    env.set(e.out, bind(e.prim, e.inputs.map((v) => env.get(v)!), e.params));
  }
  return env;
}
