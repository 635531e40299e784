import { Graph, Var, type Eqn } from '../graph.js';

/**
 * Common-subexpression elimination (same primitive, params and inputs give the same value),
 * the ReLU-mask rewrite (see {@link maskFromOutput}), then dead-code elimination (equations
 * and consts that no output needs).
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
  const rewritten = maskFromOutput(cse);
  const live = new Set<Var>(outputs);
  const kept: Eqn[] = [];
  for (let i = rewritten.length - 1; i >= 0; i--) {
    const e = rewritten[i]!;
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

/**
 * For every `y = where(m, x, c)` with `m = x > c` (ReLU is `c = 0`), the other uses of the mask
 * `m` (the ReLU gradient `where(m, dy, 0)`) read `y > c` instead, which is the same value for
 * every x and c: where x > c, y = x > c; elsewhere y = c and c > c is false (NaN included: a
 * NaN x or c makes both sides false). Then the pre-activation x is needed only to compute y,
 * so the scheduler fuses it into y's kernel instead of keeping it alive for the backward
 * pass: one stored tensor and one pass over it fewer per ReLU.
 */
function maskFromOutput(eqns: readonly Eqn[]): Eqn[] {
  const producer = new Map<Var, Eqn>();
  for (const e of eqns) producer.set(e.out, e);
  // mask var -> the replacement `y > c`, once its where has been seen
  const replacement = new Map<Var, Var>();
  const out: Eqn[] = [];
  for (const e of eqns) {
    const inputs = e.inputs.map((v) => replacement.get(v) ?? v);
    out.push(inputs.every((v, i) => v === e.inputs[i]) ? e : { ...e, inputs });
    if (e.prim !== 'where') continue;
    const [m, x, c] = e.inputs as [Var, Var, Var];
    const gt = producer.get(m);
    if (!gt || gt.prim !== 'gt' || gt.inputs[0] !== x || gt.inputs[1] !== c || replacement.has(m)) continue;
    const masked = new Var(m.aval);
    out.push({ prim: 'gt', inputs: [e.out, c], params: gt.params, out: masked } as Eqn);
    replacement.set(m, masked);
  }
  return out;
}
