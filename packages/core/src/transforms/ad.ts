import { isFloat } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import type { Var } from '../graph.js';
import * as P from '../ops/prim.js';
import { primitives } from '../primitives/index.js';
import { Tensor } from '../tensor.js';
import { evalGraph, traceToGraph } from '../trace.js';
import { type TreeDef, treeFlatten, treePaths, treeUnflatten } from '../tree.js';

type FlatFn = (leaves: Tensor[]) => Tensor[];

/**
 * Reverse mode over flat lists: traces `fn` to a graph, evaluates it on `primals` (eagerly, or
 * into the enclosing trace), and returns the outputs with a function that maps output
 * cotangents to input cotangents by walking the graph backwards with each primitive's VJP
 * rule. VJP rules are written in primitives, so the backward pass can itself be traced and
 * differentiated.
 */
export function vjpFlat(label: string, fn: FlatFn, primals: readonly Tensor[]) {
  const graph = traceToGraph(label, primals, fn);
  const env = evalGraph(graph, primals);
  const outs = graph.outputs.map((v) => env.get(v)!);
  // Only values that depend on an input carry a cotangent.
  const active = new Set<Var>(graph.inputs.filter((v) => isFloat(v.aval.dtype)));
  for (const e of graph.eqns) if (e.inputs.some((v) => active.has(v))) active.add(e.out);

  const backward = (cts: readonly (Tensor | null)[]): (Tensor | null)[] => {
    const ctOf = new Map<Var, Tensor>();
    const accumulate = (v: Var, g: Tensor) => {
      const prev = ctOf.get(v);
      ctOf.set(v, prev ? P.add(prev, g) : g);
    };
    graph.outputs.forEach((v, i) => {
      const ct = cts[i];
      if (ct && active.has(v)) accumulate(v, ct);
    });
    for (let k = graph.eqns.length - 1; k >= 0; k--) {
      const e = graph.eqns[k]!;
      const ct = ctOf.get(e.out);
      if (!ct) continue;
      ctOf.delete(e.out);
      const def = primitives[e.prim] as (typeof primitives)['add'];
      const ins = e.inputs.map((v) => env.get(v)!);
      e.inputs.forEach((v, i) => {
        if (!active.has(v) || !isFloat(v.aval.dtype) || !def.vjp) return;
        const g = def.vjp(i, ct, ins, env.get(e.out)!, e.params as never);
        if (g) accumulate(v, g);
      });
    }
    return graph.inputs.map((v) => ctOf.get(v) ?? null);
  };
  return { outs, backward };
}

function zerosFor(t: Tensor): Tensor {
  return P.fullLike(t, 0);
}

/** Flattens the arguments at `argnums` into leaves; the other arguments stay fixed. */
function splitArgs(op: string, args: readonly unknown[], argnums: readonly number[]) {
  for (const a of argnums)
    check(Number.isInteger(a) && a >= 0 && a < args.length, op, () => `argnums ${a} is out of range for ${args.length} argument(s)`);
  const flats = argnums.map((a) => treeFlatten(args[a], op));
  const leaves = flats.flatMap((f) => f.leaves);
  const rebuild = (ls: readonly Tensor[]) => {
    const out = [...args];
    let pos = 0;
    flats.forEach((f, j) => {
      out[argnums[j]!] = treeUnflatten(f.def, ls.slice(pos, pos + f.leaves.length));
      pos += f.leaves.length;
    });
    return out;
  };
  const unflattenGrads = (gs: readonly Tensor[]) => {
    let pos = 0;
    return flats.map((f) => {
      const t = treeUnflatten(f.def, gs.slice(pos, pos + f.leaves.length));
      pos += f.leaves.length;
      return t;
    });
  };
  return { leaves, rebuild, unflattenGrads };
}

function checkDifferentiable(op: string, args: readonly unknown[], argnums: readonly number[]) {
  for (const a of argnums) {
    const { leaves } = treeFlatten(args[a], op);
    const paths = treePaths(args[a]);
    leaves.forEach((t, i) => {
      if (!isFloat(t.dtype))
        fail(op, `argument ${a}${paths[i] ? ` (leaf '${paths[i]}')` : ''} has dtype ${t.dtype}; only float32/float64 inputs can be differentiated (pass integer data through another argument)`);
    });
  }
}

export interface GradOptions {
  /** Which positional arguments to differentiate (default 0). A list gives a list of gradients. */
  argnums?: number | readonly number[];
  /** The function returns [loss, aux]; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

function valueAndGradImpl(op: string, f: (...args: any[]) => unknown, options: GradOptions) {
  const argnums = options.argnums ?? 0;
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  return (...args: unknown[]) => {
    checkDifferentiable(op, args, list);
    const { leaves, rebuild, unflattenGrads } = splitArgs(op, args, list);
    let auxDef: TreeDef | undefined;
    let auxCount = 0;
    const { outs, backward } = vjpFlat(op, (ls) => {
      const res = f(...rebuild(ls));
      let loss = res;
      if (options.hasAux) {
        if (!Array.isArray(res) || res.length !== 2) fail(op, 'with hasAux the function must return [loss, aux]');
        loss = res[0];
        const aux = treeFlatten(res[1], op);
        auxDef = aux.def;
        auxCount = aux.leaves.length;
        if (!(loss instanceof Tensor)) fail(op, `the function must return a scalar tensor, got ${typeof loss}`);
        return [loss, ...aux.leaves];
      }
      if (!(loss instanceof Tensor)) fail(op, `the function must return a scalar tensor, got ${typeof loss}`);
      return [loss];
    }, leaves);
    const loss = outs[0]!;
    if (loss.shape.length !== 0)
      fail(op, `the function must return a scalar (shape []), got ${loss.dtype}${fmtShape(loss.shape)}; use vjp for non-scalar outputs`);
    if (!isFloat(loss.dtype)) fail(op, `the function must return a float scalar, got ${loss.dtype}`);
    const cts = backward([P.fullLike(loss, 1), ...new Array(auxCount).fill(null)]);
    const grads = unflattenGrads(cts.map((g, i) => g ?? zerosFor(leaves[i]!)));
    const g = typeof argnums === 'number' ? grads[0] : grads;
    const value = options.hasAux ? [loss, treeUnflatten(auxDef!, outs.slice(1))] : loss;
    return [value, g] as const;
  };
}

/**
 * The gradient of a scalar function with respect to argument `argnums` (a tree of tensors).
 *
 * @example
 * ```ts
 * const df = grad((x: Tensor) => sum(mul(x, x)));
 * df(tensor([1, 2, 3])).toArray(); // [2, 4, 6]
 * ```
 */
export function grad<A extends unknown[], G = any>(f: (...args: A) => unknown, options: GradOptions = {}): (...args: A) => G {
  const vg = valueAndGradImpl('grad', f as (...args: unknown[]) => unknown, options);
  return ((...args: A) => {
    const [value, g] = vg(...args);
    return options.hasAux ? [g, (value as unknown[])[1]] : g;
  }) as never;
}

/**
 * Both the value and the gradient of a scalar function: `[value, grads]`, or
 * `[[value, aux], grads]` with `hasAux`.
 *
 * @example
 * ```ts
 * const [loss, g] = valueAndGrad((w: Tensor) => sum(square(w)))(tensor([3]));
 * ```
 */
export function valueAndGrad<A extends unknown[], V = any, G = any>(
  f: (...args: A) => unknown,
  options: GradOptions = {},
): (...args: A) => [V, G] {
  return valueAndGradImpl('valueAndGrad', f as (...args: unknown[]) => unknown, options) as never;
}

/**
 * Reverse mode: the outputs of `f` at `primals`, and a function from output cotangents (a tree
 * like the output) to input cotangents (an array like `primals`).
 *
 * @example
 * ```ts
 * const [y, back] = vjp((x: Tensor) => mul(x, 3), tensor([1, 2]));
 * back(ones([2]))[0].toArray(); // [3, 3]
 * ```
 */
export function vjp<A extends unknown[]>(f: (...args: A) => unknown, ...primals: A): [any, (cotangents: unknown) => any[]] {
  const argnums = primals.map((_, i) => i);
  const { leaves, rebuild, unflattenGrads } = splitArgs('vjp', primals, argnums);
  let outDef: TreeDef | undefined;
  const { outs, backward } = vjpFlat('vjp', (ls) => {
    const { leaves: o, def } = treeFlatten(f(...(rebuild(ls) as A)), 'vjp');
    outDef = def;
    return o;
  }, leaves);
  const back = (cotangents: unknown) => {
    const { leaves: cts, def } = treeFlatten(cotangents, 'vjp');
    check(cts.length === outs.length, 'vjp', () => `expected ${outs.length} cotangent tensor(s) shaped like the output, got ${cts.length}`);
    void def;
    cts.forEach((c, i) =>
      check(fmtShape(c.shape) === fmtShape(outs[i]!.shape), 'vjp', () =>
        `cotangent ${i} has shape ${fmtShape(c.shape)} but the output has shape ${fmtShape(outs[i]!.shape)}`,
      ),
    );
    const gs = backward(cts.map((c, i) => (isFloat(outs[i]!.dtype) ? P.cast(c, outs[i]!.dtype) : null)));
    return unflattenGrads(gs.map((g, i) => g ?? zerosFor(leaves[i]!)));
  };
  return [treeUnflatten(outDef!, outs), back];
}

/**
 * Forward mode: `[f(primals), J(primals) tangents]`. Computed without JVP rules, as the
 * transpose of the (linear) VJP: J v is the VJP of u -> J^T u with cotangent v.
 *
 * @example
 * ```ts
 * const [y, dy] = jvp((x: Tensor) => sin(x), [tensor([0])], [tensor([1])]); // dy = cos(0) = 1
 * ```
 */
export function jvp<A extends unknown[]>(f: (...args: A) => unknown, primals: A, tangents: unknown[]): [any, any] {
  check(Array.isArray(primals) && Array.isArray(tangents) && primals.length === tangents.length, 'jvp', () =>
    'primals and tangents must be arrays of the same length',
  );
  const argnums = primals.map((_, i) => i);
  const { leaves, rebuild } = splitArgs('jvp', primals, argnums);
  const tan = treeFlatten(tangents, 'jvp').leaves;
  check(tan.length === leaves.length, 'jvp', () => `expected ${leaves.length} tangent tensor(s) shaped like the primals, got ${tan.length}`);
  tan.forEach((t, i) =>
    check(fmtShape(t.shape) === fmtShape(leaves[i]!.shape), 'jvp', () =>
      `tangent ${i} has shape ${fmtShape(t.shape)} but its primal has shape ${fmtShape(leaves[i]!.shape)}`,
    ),
  );
  let outDef: TreeDef | undefined;
  const { outs, backward } = vjpFlat('jvp', (ls) => {
    const { leaves: o, def } = treeFlatten(f(...(rebuild(ls) as A)), 'jvp');
    outDef = def;
    return o;
  }, leaves);
  const floatOut = outs.map((o) => isFloat(o.dtype));
  const seeds = outs.filter((_, i) => floatOut[i]).map(zerosFor);
  // u -> J^T u is linear; its VJP with cotangent v (the tangents) is J v.
  const { backward: transpose } = vjpFlat('jvp', (us) => {
    let k = 0;
    const gs = backward(outs.map((_, i) => (floatOut[i] ? us[k++]! : null)));
    return gs.map((g, i) => g ?? zerosFor(leaves[i]!));
  }, seeds);
  const floatTangents = tan.map((t, i) => (isFloat(leaves[i]!.dtype) ? P.cast(t, leaves[i]!.dtype) : zerosFor(leaves[i]!)));
  const jv = transpose(floatTangents);
  let k = 0;
  const outTangents = outs.map((o, i) => (floatOut[i] ? (jv[k++] ?? zerosFor(o)) : zerosFor(o)));
  return [treeUnflatten(outDef!, outs), treeUnflatten(outDef!, outTangents)];
}
