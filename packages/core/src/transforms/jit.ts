import type { Backend, Executable } from '../backend/interface.js';
import { defaultBackend, getBackend } from '../backend/registry.js';
import { check, fail } from '../errors.js';
import { type Aval, Graph, Var } from '../graph.js';
import { fromHost, Tensor, wrapBuffer } from '../tensor.js';
import { isTracing, traceToGraph } from '../trace.js';
import { type TreeDef, treeDefKey, treeFlatten, treeUnflatten } from '../tree.js';
import { optimizeGraph } from './optimize.js';

export interface JitOptions {
  /** Positional arguments that are compile-time constants (numbers, strings, shapes): part of the cache key. */
  staticArgnums?: readonly number[];
  /** Backend to compile for (name); default: the inputs' backend, else the default backend. */
  backend?: string;
}

interface Compiled {
  graph: Graph;
  outDef: TreeDef;
  exe: Executable;
  backend: Backend;
  /** Where each flat output comes from: an executable output, an input leaf, or a const. */
  outSources: ({ kind: 'exe'; index: number } | { kind: 'input'; index: number } | { kind: 'const'; value: Tensor })[];
}

/** A jitted function: call it like the original; `lower` shows the graph it compiles. */
export type Jitted<F extends (...args: any[]) => any> = F & {
  /** The traced and optimised graph for these arguments. */
  lower(...args: Parameters<F>): Graph;
  /** Number of compiled signatures held. */
  readonly cacheSize: number;
};

function signature(def: TreeDef, leaves: readonly Tensor[], backend: Backend): string {
  return `${backend.name}|${treeDefKey(def)}|${leaves.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';')}`;
}

/**
 * Compiles `f` for the backend: the first call with a new input signature (tree structure,
 * shapes, dtypes, static arguments) traces `f` into a graph, optimises it and compiles it;
 * later calls with that signature run the compiled executable. Inside another
 * transformation (grad, an outer jit) the function is simply traced through.
 *
 * @example
 * ```ts
 * const step = jit((w: Tensor, x: Tensor) => sub(w, mul(0.1, grad(loss)(w, x))));
 * ```
 */
export function jit<F extends (...args: any[]) => any>(f: F, options: JitOptions = {}): Jitted<F> {
  const cache = new Map<string, Compiled>();
  const staticArgs = new Set(options.staticArgnums ?? []);

  const prepare = (args: unknown[]) => {
    const dynamic = args.map((a, i) => (staticArgs.has(i) ? null : a));
    const { leaves, def } = treeFlatten(dynamic, 'jit');
    const statics = args.map((a, i) => (staticArgs.has(i) ? a : undefined));
    let backend: Backend | undefined = options.backend ? getBackend(options.backend) : undefined;
    for (const t of leaves) {
      const b = t.concrete('jit').backend;
      if (!backend) backend = b;
      else if (b !== backend)
        fail('jit', `argument tensors live on backend '${b.name}' but the function is compiled for '${backend.name}'; move them with toBackend()`);
    }
    backend ??= defaultBackend();
    const key = `${signature(def, leaves, backend)}|${JSON.stringify(statics)}`;
    return { leaves, def, statics, backend, key };
  };

  const build = (args: unknown[], leaves: Tensor[], def: TreeDef, statics: unknown[], backend: Backend): Compiled => {
    let outDef: TreeDef | undefined;
    const avals: Aval[] = leaves.map((t) => ({ shape: t.shape, dtype: t.dtype }));
    const traced = traceToGraph('jit', avals, (ls) => {
      const dyn = treeUnflatten<unknown[]>(def, ls);
      const callArgs = args.map((_, i) => (staticArgs.has(i) ? statics[i] : dyn[i]));
      const { leaves: outs, def: od } = treeFlatten(f(...callArgs), 'jit');
      outDef = od;
      return outs;
    });
    const graph = optimizeGraph(traced);
    // Constants captured by the function move to the target backend once, at compile time.
    const constValues = graph.constValues.map((t) => (t.concrete('jit').backend === backend ? t : fromHost(backend, t.data(), t.shape, t.dtype)));
    const produced = new Set(graph.eqns.map((e) => e.out));
    const exeOutputs: Var[] = [];
    const outSources = graph.outputs.map((v) => {
      const inputIndex = graph.inputs.indexOf(v);
      if (inputIndex >= 0) return { kind: 'input' as const, index: inputIndex };
      const constIndex = graph.consts.indexOf(v);
      if (constIndex >= 0) return { kind: 'const' as const, value: constValues[constIndex]! };
      check(produced.has(v), 'jit', () => 'internal error: output not produced by the graph');
      let index = exeOutputs.indexOf(v);
      if (index < 0) index = exeOutputs.push(v) - 1;
      return { kind: 'exe' as const, index };
    });
    const exeGraph = new Graph(graph.inputs, graph.consts, constValues, graph.eqns, exeOutputs);
    const exe = backend.compile(exeGraph);
    return { graph: exeGraph, outDef: outDef!, exe, backend, outSources };
  };

  const jitted = (...args: unknown[]) => {
    const { leaves, def, statics, backend, key } = (() => {
      if (isTracing() || treeFlatten(args, 'jit').leaves.some((t) => t.isTracer)) return { key: null } as never;
      return prepare(args);
    })();
    if (key === null) return f(...args);
    let c = cache.get(key);
    if (!c) {
      c = build(args, leaves, def, statics, backend);
      cache.set(key, c);
    }
    const bufs = c.exe.run(leaves.map((t) => t._owned!.buffer));
    const made = bufs.map((b, i) => wrapBuffer(backend, b, c!.graph.outputs[i]!.aval.shape, c!.graph.outputs[i]!.aval.dtype));
    const flat = c.outSources.map((s) => (s.kind === 'exe' ? made[s.index]! : s.kind === 'input' ? leaves[s.index]! : s.value));
    return treeUnflatten(c.outDef, flat);
  };

  const lower = (...args: unknown[]): Graph => {
    const { leaves, def, statics, backend } = prepare(args);
    return build(args, leaves, def, statics, backend).graph;
  };
  Object.defineProperty(jitted, 'lower', { value: lower });
  Object.defineProperty(jitted, 'cacheSize', { get: () => cache.size });
  return jitted as Jitted<F>;
}

/**
 * The graph `f` traces to for these arguments, unoptimised: a readable, jaxpr-like
 * printout with `String(graph)`.
 *
 * @example
 * ```ts
 * console.log(String(makeGraph((x: Tensor) => exp(mul(x, 2)))(ones([3]))));
 * // { lambda consts a:f32[] ; b:f32[3] . ... }
 * ```
 */
export function makeGraph<F extends (...args: any[]) => any>(f: F): (...args: Parameters<F>) => Graph {
  return (...args) => {
    const { leaves, def } = treeFlatten(args, 'makeGraph');
    return traceToGraph(
      'makeGraph',
      leaves.map((t) => ({ shape: t.shape, dtype: t.dtype })),
      (ls) => treeFlatten(f(...treeUnflatten<unknown[]>(def, ls)), 'makeGraph').leaves,
    );
  };
}


/**
 * The output shapes and dtypes of `f` for inputs of the given shapes and dtypes, found by
 * tracing alone: nothing is computed and no input data is needed (JAX's eval_shape).
 *
 * @example
 * ```ts
 * evalShape((x: Tensor) => sum(x, 1), { shape: [4, 5], dtype: 'float32' }); // [{ shape: [4], dtype: 'float32' }]
 * ```
 */
export function evalShape(f: (...args: Tensor[]) => unknown, ...avals: Aval[]): Aval[] {
  const graph = traceToGraph(
    'evalShape',
    avals.map((a) => ({ shape: [...a.shape], dtype: a.dtype ?? 'float32' })),
    (ls) => treeFlatten(f(...ls), 'evalShape').leaves,
  );
  return graph.outputs.map((v) => ({ shape: [...v.aval.shape], dtype: v.aval.dtype }));
}

/**
 * The graph of `f` on abstract inputs (shapes and dtypes only): like `makeGraph`, but no
 * input data is needed, so very large models can be inspected (FLOPs, parameter counts).
 */
export function traceGraph(f: (...args: Tensor[]) => unknown, avals: readonly Aval[]): Graph {
  return traceToGraph(
    'traceGraph',
    avals.map((a) => ({ shape: [...a.shape], dtype: a.dtype })),
    (ls) => treeFlatten(f(...ls), 'traceGraph').leaves,
  );
}
