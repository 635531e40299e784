// Fused kernels -> WGSL compute shaders. Two thread structures:
// - elementwise, and reductions with many outputs: one invocation per output element, which
//   loops over the reduction axes (if any) and then evaluates the epilogue;
// - reductions with few outputs and a long reduction: one workgroup per output element, each
//   invocation folding a strided share of the reduction, then the workgroup's partials
//   combined (reduce.ts: subgroup operations where the backend allows them, else a tree in
//   workgroup memory).
import { indent, Scope, type DType, type ExprContext, type FusedKernel } from '@resgrad/core';
import { declareBindings, loadArg, type BindingLayout } from './bindings.js';
import { WGSL_DIALECT, wgslType } from './dialect.js';
import { ENTRY_ARGS, gridFor, GROUP_INDEX, type Grid } from './dispatch.js';
import { BASELINE_SHADER_FEATURES, type ShaderFeatures } from './features.js';
import { WGSL_PRELUDE } from './prelude.js';
import { folder, workgroupCombine } from './reduce.js';
import { WGSL_SYNTAX } from './syntax.js';

/** Device limits a renderer must respect. */
export interface RenderLimits {
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

/** A rendered kernel: its WGSL and how to dispatch it. */
export interface RenderedShader {
  readonly code: string;
  readonly grid: Grid;
  /** A short description for error messages and labels. */
  readonly what: string;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Declarations `let <name><k>: i32 = ...;` decoding flat index `flat` over `shape`. */
function decode(flat: string, shape: readonly number[], name: (k: number) => string): string[] {
  const lines: string[] = [];
  let stride = prod(shape);
  shape.forEach((d, k) => {
    stride /= d;
    const q = stride === 1 ? flat : `(${flat} / ${stride}i)`;
    lines.push(`let ${name(k)}: i32 = ${k === 0 ? q : `${q} % ${d}i`};`);
  });
  return lines;
}

/** Converts a body value of dtype `from` to the accumulator's dtype `to`. */
function toAcc(v: string, from: DType, to: DType): string {
  if (from === to) return v;
  return `${wgslType(to, 'reduction')}(${v})`;
}

/** Chooses the workgroup size of an invocation-per-element kernel. */
function elementwiseWorkgroup(limits: RenderLimits): number {
  return Math.min(64, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
}

/** Workgroup size of a workgroup-per-output reduction: a power of two (the tree halves it). */
export function reductionWorkgroup(limits: RenderLimits): number {
  const cap = Math.min(256, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX, Math.floor(limits.maxComputeWorkgroupStorageSize / 4));
  return 2 ** Math.floor(Math.log2(cap));
}

/** Whether a reduction gets a workgroup per output element rather than a loop per invocation. */
export function useWorkgroupReduction(outputs: number, reduced: number): boolean {
  return reduced >= 128 && outputs <= 16384;
}

/** Options of {@link renderFused}. */
export interface FusedRenderOptions {
  /**
   * The kernel is a library epilogue run as a pass of its own over the op's stored result
   * (see wgsl/epilogue.ts, splitEpilogue): elementwise, and `reduced` is the element of `out`
   * at the same point, read before it is overwritten (each invocation owns its element).
   */
  readonly inPlace?: boolean;
}

/**
 * Renders fused kernel `k` with argument bindings `layout` within the adapter's `limits`;
 * `features` says which optional WGSL capabilities it may use (default: none).
 */
export function renderFused(
  k: FusedKernel,
  layout: BindingLayout,
  limits: RenderLimits,
  name = 'kernel',
  features: ShaderFeatures = BASELINE_SHADER_FEATURES,
  options: FusedRenderOptions = {},
): RenderedShader {
  if (options.inPlace && k.reduce) throw new Error(`@resgrad/backend-webgpu: internal error: ${name}: an in-place epilogue pass with a reduction`);
  const rank = k.shape.length;
  const n = prod(k.shape);
  const red = k.reduce;
  const rExt = red?.extents ?? [];
  const rTotal = prod(rExt);
  const extents = [...k.shape, ...rExt];
  const axisName = (a: number) => (a < rank ? `i${a}` : `r${a - rank}`);
  let counter = 0;
  const ctx = (reduced?: string): ExprContext => ({
    dialect: WGSL_DIALECT,
    syntax: WGSL_SYNTAX,
    load: (arg, index) => loadArg(layout, arg, index),
    axis: axisName,
    extents,
    ...(reduced ? { reduced } : {}),
    fresh: () => `v${counter++}`,
  });
  const outT = wgslType(k.dtype, `kernel ${name}`);
  const header = [WGSL_PRELUDE, ...declareBindings(layout, k.dtype), ''];
  const what = `${name}: fused ${k.dtype}[${k.shape.join(', ')}]${red ? ` ${red.op} over [${rExt.join(', ')}]` : ''}${options.inPlace ? ' (library epilogue, in place)' : ''}`;

  const body: string[] = [];
  const epilogue = (reducedName?: string): string[] => {
    const s = new Scope(ctx(reducedName));
    const v = s.emit(k.expr);
    return [...s.lines, `out[o] = ${outT}(${v});`];
  };

  if (red && rTotal > 0 && useWorkgroupReduction(n, rTotal)) {
    const wg = reductionWorkgroup(limits);
    const f = folder(red.op, red.dtype);
    const combine = workgroupCombine(f, wg, features.subgroups);
    const s = new Scope(ctx());
    const v = s.emit(red.body);
    const code = [
      ...combine.directives,
      ...header,
      ...combine.decls,
      '',
      `@compute @workgroup_size(${wg})`,
      `fn main(${ENTRY_ARGS}${combine.params}) {`,
      `  let o: i32 = i32${GROUP_INDEX};`,
      `  if (o >= ${n}i) { return; }`,
      ...decode('o', k.shape, axisName).map(indent),
      `  var acc: ${f.accType} = ${f.init};`,
      `  for (var r: i32 = i32(lid); r < ${rTotal}i; r += ${wg}i) {`,
      ...decode('r', rExt, (j) => `r${j}`).map((l) => `    ${l}`),
      ...s.lines.map((l) => `    ${l}`),
      `    let x: ${f.accType} = ${toAcc(v, red.body.dtype, red.dtype)};`,
      `    ${f.fold('acc', 'x')}`,
      '  }',
      ...combine.lines.map(indent),
      ...epilogue('red').map(indent),
      '}',
    ];
    return { code: code.join('\n'), grid: gridFor(n, limits.maxComputeWorkgroupsPerDimension), what: features.subgroups ? `${what} (subgroups)` : what };
  }

  const wg = elementwiseWorkgroup(limits);
  if (red) {
    const f = folder(red.op, red.dtype);
    if (rTotal === 0) body.push(`let red: ${f.accType} = ${f.empty};`);
    else {
      const s = new Scope(ctx());
      const v = s.emit(red.body);
      body.push(
        `var acc: ${f.accType} = ${f.init};`,
        `for (var r: i32 = 0i; r < ${rTotal}i; r++) {`,
        ...decode('r', rExt, (j) => `r${j}`).map(indent),
        ...s.lines.map(indent),
        `  let x: ${f.accType} = ${toAcc(v, red.body.dtype, red.dtype)};`,
        `  ${f.fold('acc', 'x')}`,
        '}',
        `let red: ${f.accType} = acc;`,
      );
    }
  } else if (options.inPlace) body.push(`let red: ${outT} = out[o];`);
  const code = [
    ...header,
    `@compute @workgroup_size(${wg})`,
    `fn main(${ENTRY_ARGS}) {`,
    `  let o: i32 = i32(${GROUP_INDEX} * ${wg}u + lid);`,
    `  if (o >= ${n}i) { return; }`,
    ...decode('o', k.shape, axisName).map(indent),
    ...body.map(indent),
    ...epilogue(red || options.inPlace ? 'red' : undefined).map(indent),
    '}',
  ];
  return { code: code.join('\n'), grid: gridFor(Math.ceil(n / wg), limits.maxComputeWorkgroupsPerDimension), what };
}
