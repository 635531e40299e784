import { type Graph, traceGraph, type Tensor } from '@resgrad/core';
import type { Layer } from './layer.js';
import { countParams } from './tree.js';

/**
 * Multiply-adds of the matrix products and convolutions in a graph (what the paper counts
 * as FLOPs): conv2d and both of its gradients cost out-elements x (C/groups) x KH x KW, a
 * dot costs out-elements x K. Elementwise work is not counted.
 */
export function countMacs(graph: Graph): number {
  let macs = 0;
  for (const e of graph.eqns) {
    const outSize = e.out.aval.shape.reduce((a, b) => a * b, 1);
    if (e.prim === 'dot') {
      const a = e.inputs[0]!.aval.shape;
      macs += outSize * a[a.length - 1]!;
    } else if (e.prim === 'conv2d') {
      const w = e.inputs[1]!.aval.shape;
      macs += outSize * w[1]! * w[2]! * w[3]!;
    } else if (e.prim === 'conv2dInputGrad' || e.prim === 'conv2dWeightGrad') {
      // Same number of products as the forward convolution they differentiate.
      const dy = e.prim === 'conv2dInputGrad' ? e.inputs[0]!.aval.shape : e.inputs[1]!.aval.shape;
      const w = e.prim === 'conv2dInputGrad' ? e.inputs[1]!.aval.shape : (e.params as { weightShape: number[] }).weightShape;
      macs += dy.reduce((a, b) => a * b, 1) * w[1]! * w[2]! * w[3]!;
    }
  }
  return macs;
}

/** The graph of a layer's initialisation and inference on an abstract input: no data is made. */
function traceLayer(layer: Layer, inputShape: readonly number[]) {
  let params: unknown;
  let outputShape: number[] = [];
  const graph = traceGraph(
    (k: Tensor, x: Tensor) => {
      const init = layer.init(k, x.shape);
      params = init.params;
      outputShape = init.outputShape;
      return layer.apply(init.params, init.state, x, { train: false })[0];
    },
    [
      { shape: [2], dtype: 'int32' },
      { shape: inputShape, dtype: 'float32' },
    ],
  );
  return { graph, params, outputShape };
}

/** Parameter count and multiply-adds of a layer for one input shape, found by tracing alone. */
export function profile(layer: Layer, inputShape: readonly number[]): { params: number; macs: number; outputShape: number[] } {
  const { graph, params, outputShape } = traceLayer(layer, inputShape);
  return { params: countParams(params), macs: countMacs(graph), outputShape };
}

export interface SummaryRow {
  name: string;
  kind: string;
  outputShape: number[];
  params: number;
  macs: number;
}

/**
 * One row per layer down to `depth` levels of nesting: output shape, parameters and
 * multiply-adds, plus totals; `text` is a printable table.
 *
 * @example
 * ```ts
 * console.log(summary(resnetCifar({ depth: 20 }), [1, 3, 32, 32]).text);
 * ```
 */
export function summary(model: Layer, inputShape: readonly number[], depth = 2): { rows: SummaryRow[]; total: { params: number; macs: number }; text: string } {
  const rows: SummaryRow[] = [];
  const walk = (layer: Layer, name: string, shape: readonly number[], level: number): number[] => {
    const children = layer.kind === 'serial' ? layer.children : undefined;
    if (children && level < depth) {
      let s = [...shape];
      for (const [child, l] of Object.entries(children)) s = walk(l, name ? `${name}.${child}` : child, s, level + 1);
      return s;
    }
    const p = profile(layer, shape);
    rows.push({ name: name || '(model)', kind: layer.kind, outputShape: p.outputShape, params: p.params, macs: p.macs });
    return p.outputShape;
  };
  walk(model, '', inputShape, 0);
  const total = { params: rows.reduce((s, r) => s + r.params, 0), macs: rows.reduce((s, r) => s + r.macs, 0) };
  const fmt = (n: number) => n.toLocaleString('en-US');
  const table = [['layer', 'kind', 'output', 'params', 'mult-adds'], ...rows.map((r) => [r.name, r.kind, `[${r.outputShape.join(', ')}]`, fmt(r.params), fmt(r.macs)])];
  table.push(['total', '', '', fmt(total.params), fmt(total.macs)]);
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const text = table.map((row) => row.map((cell, c) => (c >= 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n');
  return { rows, total, text };
}

