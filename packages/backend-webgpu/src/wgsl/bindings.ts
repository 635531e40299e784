// How a kernel's buffers reach its shader: one storage binding per buffer while the adapter's
// maxStorageBuffersPerShaderStage allows; beyond it, the trailing read-only arguments are
// packed into one binding (an array<u32> the backend fills with buffer-to-buffer copies before
// the dispatch), read through bitcasts at per-argument element offsets.
import type { DType } from '@resgrad/core';
import { wgslType } from './dialect.js';

/** Where one read-only kernel argument lives in the shader. */
export interface ArgSlot {
  /** The WGSL binding number (the output is binding 0). */
  readonly binding: number;
  /** Element offset inside a packed binding (0 for a binding of its own). */
  readonly offset: number;
  readonly packed: boolean;
  readonly dtype: DType;
}

/** The bindings of one kernel: the output at 0, then the arguments. */
export interface BindingLayout {
  readonly args: readonly ArgSlot[];
  /** Number of bindings (output, own arguments, and the pack when there is one). */
  readonly count: number;
  /** Binding number of the pack, or -1. */
  readonly packBinding: number;
  /** For each packed argument (in argument order): its element offset; the pack holds their total. */
  readonly packElements: number;
}

/**
 * Lays out `args` (their dtypes and sizes in elements) for an adapter allowing `maxBindings`
 * storage buffers per shader stage (at least 2: the output and one pack).
 */
export function layoutBindings(args: readonly { dtype: DType; size: number }[], maxBindings: number): BindingLayout {
  const own = 1 + args.length <= maxBindings ? args.length : Math.max(0, maxBindings - 2);
  const slots: ArgSlot[] = [];
  let packElements = 0;
  args.forEach((a, i) => {
    if (i < own) slots.push({ binding: 1 + i, offset: 0, packed: false, dtype: a.dtype });
    else {
      slots.push({ binding: 1 + own, offset: packElements, packed: true, dtype: a.dtype });
      packElements += a.size;
    }
  });
  const packBinding = own < args.length ? 1 + own : -1;
  return { args: slots, count: 1 + own + (packBinding >= 0 ? 1 : 0), packBinding, packElements };
}

/** WGSL declarations of a layout's bindings: `out`, `a<i>` for own arguments, `pack`. */
export function declareBindings(layout: BindingLayout, outDtype: DType): string[] {
  const lines = [`@group(0) @binding(0) var<storage, read_write> out: array<${wgslType(outDtype, 'output')}>;`];
  layout.args.forEach((s, i) => {
    if (!s.packed) lines.push(`@group(0) @binding(${s.binding}) var<storage, read> a${i}: array<${wgslType(s.dtype, `argument ${i}`)}>;`);
  });
  if (layout.packBinding >= 0) lines.push(`@group(0) @binding(${layout.packBinding}) var<storage, read> pack: array<u32>;`);
  return lines;
}

/** The WGSL expression reading element `index` (i32) of argument `arg`. */
export function loadArg(layout: BindingLayout, arg: number, index: string): string {
  const s = layout.args[arg];
  if (!s) throw new Error(`@resgrad/backend-webgpu: internal error: load of argument ${arg}, the kernel has ${layout.args.length}`);
  if (!s.packed) return `a${arg}[${index}]`;
  const word = `pack[${s.offset}i + ${index}]`;
  return s.dtype === 'bool' ? word : `bitcast<${wgslType(s.dtype, `argument ${arg}`)}>(${word})`;
}
