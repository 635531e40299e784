// The paper's figures as Vega-Lite charts, rendered to SVG by Vega and to PNG by resvg.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export interface RunCurves {
  name: string;
  train: { step: number; error: number }[];
  test: { step: number; error: number }[];
  responses?: { index: number; std: number }[];
}

/** Reads a run folder's metrics.jsonl (and evaluation.json, for Fig. 7) into curves. */
export function readRun(dir: string, name = basename(dir)): RunCurves {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) throw new Error(`${dir}: no metrics.jsonl (is it a run folder written by npm run train?)`);
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, number | string>;
    } catch {
      throw new Error(`${path}: line ${i + 1} is not JSON`);
    }
  });
  const train = rows.filter((r) => r.type === 'train').map((r) => ({ step: r.step as number, error: 100 * (r.train_error as number) }));
  const test = rows.filter((r) => r.type === 'eval' && typeof r.test_error === 'number').map((r) => ({ step: r.step as number, error: 100 * (r.test_error as number) }));
  const evalPath = join(dir, 'evaluation.json');
  const responses = existsSync(evalPath) ? (JSON.parse(readFileSync(evalPath, 'utf8')).responses as RunCurves['responses']) : undefined;
  return { name, train, test, responses };
}

/** Fig. 6 style: training error (thin) and test error (bold) against iterations, runs overlaid. */
export function fig6Spec(runs: readonly RunCurves[], title = 'CIFAR-10: training (thin) and test (bold) error'): vegaLite.TopLevelSpec {
  const values = runs.flatMap((r) => [
    ...r.train.map((p) => ({ run: r.name, kind: 'train', width: 1, iterations: p.step, error: p.error })),
    ...r.test.map((p) => ({ run: r.name, kind: 'test', width: 3, iterations: p.step, error: p.error })),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 560,
    height: 340,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      x: { field: 'iterations', type: 'quantitative', title: 'iterations' },
      y: { field: 'error', type: 'quantitative', title: 'error (%)', scale: { zero: true } },
      color: { field: 'run', type: 'nominal', title: null },
      strokeWidth: { field: 'width', type: 'quantitative', scale: null, legend: null },
      detail: { field: 'kind' },
    },
  };
}

/** Fig. 7 style: std of each 3x3 layer's response (after BN, before ReLU) by layer index. */
export function fig7Spec(runs: readonly RunCurves[]): vegaLite.TopLevelSpec {
  const values = runs.flatMap((r) => (r.responses ?? []).map((p) => ({ run: r.name, layer: p.index, std: p.std })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Standard deviations of layer responses (after BN, before ReLU)',
    width: 560,
    height: 300,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'layer', type: 'quantitative', title: 'layer index (original)', axis: { format: 'd', tickMinStep: 1 } },
      y: { field: 'std', type: 'quantitative', title: 'std' },
      color: { field: 'run', type: 'nominal', title: null },
    },
  };
}

/** Renders a Vega-Lite spec to SVG text. */
export async function toSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Rasterises SVG text to PNG bytes (system fonts are used for the labels when present). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true } });
  return r.render().asPng();
}
