// A library kernel with an epilogue -> one exported C function that calls the runtime's
// convolution or GEMM (through the runtime table) and then rewrites the result in place with
// the epilogue, rendered like a fused kernel whose `reduced` value is the op's result. The
// forward convolution and its input gradient run the epilogue per image, right after the
// image is computed (see kernels/conv_impl.h); the weight gradient and matmul run it as one
// pass over the finished output.
import type { DType, LibraryKernel, LibraryOp } from '@resgrad/core';
import { convDims } from '../kernels.js';
import type { Dialect } from './dialect.js';
import { renderFused, type EpilogueEntry, type RenderedKernel } from './kernel.js';

/** Library ops and dtypes whose epilogue the cpu backend runs inside the op. */
export const cpuLibraryEpilogue = (_op: LibraryOp, dtype: DType): boolean => dtype === 'float32' || dtype === 'float64';

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Renders library kernel `k` (which has an epilogue) as `void name(T *out, const T0 *a0, ...)`. */
export function renderLibraryEpilogue(k: LibraryKernel, name: string, argTypes: readonly DType[], d: Dialect): RenderedKernel {
  if (!k.epilogue || !cpuLibraryEpilogue(k.op, k.dtype)) throw new Error(`@resgrad/backend-cpu: internal error: no epilogue to render for ${k.op} (${k.dtype})`);
  const sfx = k.dtype === 'float32' ? 'f32' : 'f64';
  const [xs, ys] = k.argShapes as [readonly number[], readonly number[]];
  const dimsDecl = (dims: Int32Array) => `static const int32_t dims_[16] = {${Array.from(dims).join(', ')}};`;
  const then = (task: string, points: number) => `rg_run(${points}LL, ${points}LL, ${task}, &c);`;
  let entry: EpilogueEntry;
  switch (k.op) {
    case 'conv2d': {
      const dims = convDims(xs, ys, k.shape, k.params as LibraryKernel<'conv2d'>['params']);
      entry = (task) => [dimsDecl(dims), `rg_rt->conv2d_${sfx}(dims_, a0, a1, out, ${task}, &c);`];
      break;
    }
    case 'conv2dInputGrad': {
      const p = k.params as LibraryKernel<'conv2dInputGrad'>['params'];
      const dims = convDims(p.inputShape, ys, xs, p);
      entry = (task) => [dimsDecl(dims), `rg_rt->conv2d_input_grad_${sfx}(dims_, a0, a1, out, ${task}, &c);`];
      break;
    }
    case 'conv2dWeightGrad': {
      const p = k.params as LibraryKernel<'conv2dWeightGrad'>['params'];
      const dims = convDims(xs, p.weightShape, ys, p);
      entry = (task, points) => [dimsDecl(dims), `rg_rt->conv2d_weight_grad_${sfx}(dims_, a0, a1, out);`, then(task, points)];
      break;
    }
    case 'dot': {
      // [...B, M, K] x [...B, K, N], as library.ts launches it without an epilogue.
      const r = xs.length;
      const [M, K, N] = [xs[r - 2]!, xs[r - 1]!, ys[r - 1]!];
      const batch = size(xs.slice(0, r - 2));
      const gemm = k.dtype === 'float32' ? 'sgemm' : 'dgemm';
      entry = (task, points) => [
        `rg_rt->${gemm}(${batch}, ${M}, ${N}, ${K}, a0, ${K}, ${M * K}, 0, a1, ${N}, ${K * N}, 0, out, ${N}, ${M * N}, 0);`,
        then(task, points),
      ];
      break;
    }
  }
  const asFused = { kind: 'fused', shape: k.shape, dtype: k.dtype, expr: k.epilogue, args: k.args, out: k.out } as const;
  return renderFused(asFused, name, argTypes, d, entry);
}
