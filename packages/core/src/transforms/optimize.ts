import { Graph, type Eqn, type Var } from '../graph.js';

/**
 * Common-subexpression elimination (same primitive, params and inputs give the same value)
 * followed by dead-code elimination (equations and consts that no output needs).
 */
export function optimizeGraph(graph: Graph): Graph {
  const rename = new Map<Var, Var>();
  const seen = new Map<string, Var>();
  const r = (v: Var) => rename.get(v) ?? v;
  const cse: Eqn[] = [];
  for (const e of graph.eqns) {
    const inputs = e.inputs.map(r);
    const key = `${e.prim}|${JSON.stringify(e.params)}|${inputs.map((v) => v.id).join(',')}`;
    const prev = seen.get(key);
    if (prev) {
      rename.set(e.out, prev);
      continue;
    }
    seen.set(key, e.out);
    cse.push({ ...e, inputs });
  }
  const outputs = graph.outputs.map(r);
  const live = new Set<Var>(outputs);
  const kept: Eqn[] = [];
  for (let i = cse.length - 1; i >= 0; i--) {
    const e = cse[i]!;
    if (!live.has(e.out)) continue;
    kept.push(e);
    for (const v of e.inputs) live.add(v);
  }
  kept.reverse();
  const consts: Var[] = [];
  const values = [];
  for (let i = 0; i < graph.consts.length; i++) {
    if (!live.has(graph.consts[i]!)) continue;
    consts.push(graph.consts[i]!);
    values.push(graph.constValues[i]!);
  }
  return new Graph(graph.inputs, consts, values, kept, outputs);
}
