// Library kernels of a program -> calls into the runtime's GEMM and convolution entry
// points on the program's buffers. Geometry is computed once, at compile time; a launch is
// one koffi call with typed arrays (passed by pointer, no copies).
import { primitives, type LibraryKernel, type Program, type RefArray, type TypedArray } from '@resgrad/core';
import { convDims } from './kernels.js';
import type { RuntimeFns } from './runtime.js';

/** Runs one kernel on the program's buffers (indexed by buffer id). */
export type Launch = (bufs: readonly TypedArray[]) => void;

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** The launcher of library kernel `k`. */
export function libraryLaunch(k: LibraryKernel, program: Program, rt: RuntimeFns): Launch {
  const [x, y] = k.args as [number, number];
  const out = k.out;
  const [xs, ys] = k.argShapes as [readonly number[], readonly number[]];
  const f32 = k.dtype === 'float32';
  if (k.dtype !== 'float32' && k.dtype !== 'float64') return referenceLaunch(k, program);
  switch (k.op) {
    case 'dot': {
      // [...B, M, K] x [...B, K, N]: a batch of dense row-major GEMMs.
      const r = xs.length;
      const [M, K, N] = [xs[r - 2]!, xs[r - 1]!, ys[r - 1]!];
      const batch = size(xs.slice(0, r - 2));
      const g = f32 ? rt.rg_sgemm : rt.rg_dgemm;
      return (b) => g(batch, M, N, K, b[x] as never, K, M * K, 0, b[y] as never, N, K * N, 0, b[out] as never, N, M * N, 0);
    }
    case 'conv2d': {
      const p = k.params as LibraryKernel<'conv2d'>['params'];
      const dims = convDims(xs, ys, k.shape, p);
      const g = f32 ? rt.rg_conv2d_f32 : rt.rg_conv2d_f64;
      return (b) => g(dims, b[x] as never, b[y] as never, b[out] as never);
    }
    case 'conv2dInputGrad': {
      // args: dy, w; output: dx of params.inputShape.
      const p = k.params as LibraryKernel<'conv2dInputGrad'>['params'];
      const dims = convDims(p.inputShape, ys, xs, p);
      const g = f32 ? rt.rg_conv2d_input_grad_f32 : rt.rg_conv2d_input_grad_f64;
      return (b) => g(dims, b[x] as never, b[y] as never, b[out] as never);
    }
    case 'conv2dWeightGrad': {
      // args: x, dy; output: dw of params.weightShape.
      const p = k.params as LibraryKernel<'conv2dWeightGrad'>['params'];
      const dims = convDims(xs, p.weightShape, ys, p);
      const g = f32 ? rt.rg_conv2d_weight_grad_f32 : rt.rg_conv2d_weight_grad_f64;
      return (b) => g(dims, b[x] as never, b[y] as never, b[out] as never);
    }
  }
}

/** Integer library ops (int32 dot) run the primitive's reference implementation. */
function referenceLaunch(k: LibraryKernel, program: Program): Launch {
  const def = primitives[k.op] as (typeof primitives)['dot'];
  const dtypes = k.args.map((id) => program.buffers[id]!.dtype);
  const outAval = { shape: k.shape, dtype: k.dtype };
  return (bufs) => {
    const refs: RefArray[] = k.args.map((id, i) => ({ data: bufs[id]!, shape: k.argShapes[i]!, dtype: dtypes[i]! }));
    bufs[k.out]!.set(def.reference(refs, k.params as never, outAval));
  };
}
