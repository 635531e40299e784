import type { TypedArray } from '../dtype.js';
import type { Graph, Var } from '../graph.js';
import { primitives } from '../primitives/index.js';
import type { RefArray } from '../primitives/types.js';

/**
 * Evaluates a graph equation by equation with each primitive's reference implementation:
 * the oracle that every backend, and every scheduled program, is compared with.
 * `consts` holds the host data of `graph.consts`.
 */
export function evalGraphOracle(graph: Graph, inputs: readonly TypedArray[], consts: readonly TypedArray[]): TypedArray[] {
  const env = new Map<Var, RefArray>();
  const bindVar = (v: Var, data: TypedArray) => env.set(v, { data, shape: v.aval.shape, dtype: v.aval.dtype });
  graph.inputs.forEach((v, i) => bindVar(v, inputs[i]!));
  graph.consts.forEach((v, i) => bindVar(v, consts[i]!));
  for (const e of graph.eqns) {
    const def = primitives[e.prim] as (typeof primitives)['add'];
    const args = e.inputs.map((v) => env.get(v)!);
    bindVar(e.out, def.reference(args, e.params as never, e.out.aval));
  }
  return graph.outputs.map((v) => env.get(v)!.data);
}
