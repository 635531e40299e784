// Per-kernel wall time of cpu executables, for finding where a jitted step spends its time.
// Enabled by RESGRAD_CPU_PROFILE=1 (read when an executable is compiled): each launch is
// then timed with performance.now() (about a microsecond of overhead per kernel) and its
// time added to a bucket named by the kernel's kind and shape, so the 50-odd BatchNorm
// reductions of one shape add up in one row. Off by default: launches stay untimed.
import type { Kernel, LibraryKernel, Program } from '@resgrad/core';
import type { Launch } from './library.js';

export interface ProfileRow {
  readonly label: string;
  /** Total milliseconds over all calls since the last reset. */
  readonly ms: number;
  readonly calls: number;
}

const rows = new Map<string, { ms: number; calls: number }>();

export const profilingEnabled = (): boolean => process.env.RESGRAD_CPU_PROFILE === '1';

/** The rows accumulated so far, largest total first. */
export function cpuProfile(): ProfileRow[] {
  return [...rows].map(([label, r]) => ({ label, ...r })).sort((a, b) => b.ms - a.ms);
}

export function resetCpuProfile(): void {
  rows.clear();
}

const dims = (s: readonly number[]) => `[${s.join(',')}]`;

/** The bucket of kernel `k`: its kind and the shapes that decide its cost. */
export function kernelLabel(k: Kernel, program: Program): string {
  if (k.kind === 'library') {
    const l = k as LibraryKernel;
    const name = { dot: 'dot', conv2d: 'conv fwd', conv2dInputGrad: 'conv dgrad', conv2dWeightGrad: 'conv wgrad' }[l.op];
    const stride = 'stride' in l.params ? ` s${(l.params as { stride: readonly number[] }).stride[0]}` : '';
    const epilogue = l.epilogue ? ` + epilogue (${l.args.length - l.argShapes.length} in)` : '';
    return `${name} ${l.argShapes.map(dims).join(' ')} -> ${dims(l.shape)}${stride}${epilogue}`;
  }
  const ins = k.args.map((id) => dims(program.buffers[id]!.shape)).join(' ');
  if (k.reduce) return `reduce ${k.reduce.op} ${dims(k.reduce.extents)} -> ${dims(k.shape)} (in ${ins})`;
  return `elementwise ${dims(k.shape)} (${k.args.length} in)`;
}

/** `launch`, timed into the bucket `label`. */
export function timed(label: string, launch: Launch): Launch {
  return (bufs) => {
    const t = performance.now();
    launch(bufs);
    const dt = performance.now() - t;
    // Looked up per call: kernels of one shape share a row, and a reset drops the rows.
    let row = rows.get(label);
    if (!row) rows.set(label, (row = { ms: 0, calls: 0 }));
    row.ms += dt;
    row.calls++;
  };
}
