// Bad input: every public op rejects wrong ranks, shapes, dtypes, axes and arguments with an
// error whose text names the op, the shapes involved and what was expected.
import { describe, expect, it } from 'vitest';
import {
  add, argmax, avgPool2d, broadcastTo, cast, concat, conv2d, crossEntropy, div, expandDims, eye, full, getBackend, globalAvgPool,
  grad, jit, jvp, linspace, logSoftmax, makeGraph, matmul, max, maxPool2d, mean, min, mul, oneHot, ones, pad, referenceBackend,
  registerBackend, reshape, ResgradError, setDefaultBackend, slice, softmax, squeeze, stack, sum, tensor, toBackend, transpose,
  valueAndGrad, variance, vjp, where, zeros, arange, exp, Tensor, sin,
} from '@resgrad/core';

/** Asserts that `f` throws a ResgradError of `op` whose message matches every pattern. */
function expectError(f: () => unknown, op: string, ...patterns: (string | RegExp)[]) {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${op} to throw`).toBeInstanceOf(ResgradError);
  const e = err as ResgradError;
  expect(e.op).toBe(op);
  expect(e.message.startsWith(`${op}: `)).toBe(true);
  for (const p of patterns) {
    if (typeof p === 'string') expect(e.message).toContain(p);
    else expect(e.message).toMatch(p);
  }
}

const f32 = (shape: number[]) => zeros(shape);
const i32 = (values: number[]) => tensor(values, { dtype: 'int32' });

describe('creation', () => {
  it('tensor() from ragged arrays names the position', () => {
    expectError(() => tensor([[1, 2], [3]]), 'tensor', 'ragged', 'expected length 2 at [1], got 1');
    expectError(() => tensor([[1, 2], 3] as never), 'tensor', 'ragged', 'at [1]');
    expectError(() => tensor([[1], [[2]]] as never), 'tensor', 'expected a number at [1][0], got an array');
    expectError(() => tensor(['a'] as never), 'tensor', 'expected a number at [0], got string');
  });
  it('tensor() with a shape that does not fit the values', () => {
    expectError(() => tensor([1, 2, 3], { shape: [2, 2] }), 'tensor', 'shape [2, 2] needs 4 values, got 3');
    expectError(() => tensor(new Float32Array(3), { shape: [2, 2] }), 'tensor', 'shape [2, 2] needs 4 values, got 3');
    expectError(() => tensor([1, 2], { shape: [2, -1] }), 'tensor', 'non-negative integers', '[2, -1]');
  });
  it('unknown dtypes and typed arrays', () => {
    expectError(() => tensor([1, 2], { dtype: 'float16' as never }), 'tensor', "unknown dtype 'float16'", 'expected float32, float64, int32 or bool');
    expectError(() => tensor(new Int8Array([1]) as never), 'tensor', 'unsupported typed array Int8Array');
    expectError(() => zeros([2], { dtype: 'int64' as never }), 'full', "unknown dtype 'int64'");
    expectError(() => cast(ones([2]), 'float16' as never), 'cast', "unknown dtype 'float16'");
    expectError(() => eye(2, 2, { dtype: 'complex' as never }), 'eye', "unknown dtype 'complex'");
  });
  it('bad shapes and ranges', () => {
    expectError(() => zeros([2, -1]), 'full', 'expected a shape of non-negative integers, got [2, -1]');
    expectError(() => ones([1.5]), 'full', 'non-negative integers', '[1.5]');
    expectError(() => full('3' as never, 1), 'full', 'expected a shape');
    expectError(() => eye(-1), 'eye', '[-1, -1]');
    expectError(() => arange(0, 1, 0), 'arange', 'non-zero step', '0, 1, 0');
    expectError(() => arange(0, Infinity), 'arange', 'finite');
    expectError(() => linspace(0, 1, 2.5), 'linspace', 'num must be a non-negative integer, got 2.5');
  });
  it('item() of a tensor with several elements', () => {
    expectError(() => ones([2, 3]).item(), 'item', 'expected a tensor with one element, got shape [2, 3]');
  });
});

describe('elementwise', () => {
  it('add of incompatible shapes names both shapes and the dimension', () => {
    expectError(() => add(f32([2, 3]), f32([4])), 'add', 'shapes [2, 3] and [4] cannot be broadcast together', '3 vs 4');
    expectError(() => mul(f32([2, 1, 3]), f32([5, 2])), 'mul', '[2, 1, 3] and [5, 2]');
    expectError(() => div(f32([3]), f32([2])), 'div', '[3] and [2]');
  });
  it('where with incompatible shapes', () => {
    expectError(() => where(tensor([true, false, true]), f32([2]), 1), 'where', 'cannot be broadcast', '[3]', '[2]');
  });
  it('non-tensor operands', () => {
    expectError(() => add([1, 2] as never, 1), 'add', 'expected a Tensor or a number, got an array (wrap it with tensor())');
    expectError(() => exp(3 as never), 'exp', 'expected a Tensor, got number');
    expectError(() => sin(null as never), 'sin', 'expected a Tensor, got null');
    expectError(() => mul(ones([1]), 'x' as never), 'mul', 'expected a Tensor or a number, got string');
  });
});

describe('reductions', () => {
  it('out-of-range axes name the axis and the rank', () => {
    expectError(() => sum(f32([2, 3]), 2), 'sum', 'axis 2 is out of range for a tensor of rank 2');
    expectError(() => mean(f32([2, 3]), -3), 'mean', 'axis -3 is out of range for a tensor of rank 2');
    expectError(() => max(f32([2, 3]), [0, 5]), 'max', 'axis 5 is out of range for a tensor of rank 2');
    expectError(() => min(f32([3]), 1), 'min', 'axis 1 is out of range for a tensor of rank 1');
    expectError(() => variance(f32([3]), 1), 'variance', 'axis 1 is out of range');
    expectError(() => argmax(f32([2, 3]), 2), 'argmax', 'axis 2 is out of range for a tensor of rank 2');
    expectError(() => softmax(f32([2, 3]), 2), 'softmax', 'axis 2 is out of range for a tensor of rank 2');
    expectError(() => logSoftmax(f32([3]), 1), 'logSoftmax', 'axis 1 is out of range for a tensor of rank 1');
  });
  it('repeated and non-integer axes', () => {
    expectError(() => sum(f32([2, 3]), [0, 0]), 'sum', 'axes [0, 0] contain a repeated axis');
    expectError(() => sum(f32([2, 3]), [1, -1]), 'sum', 'repeated axis');
    expectError(() => sum(f32([2, 3]), 0.5), 'sum', 'axis must be an integer, got 0.5');
  });
  it('empty reductions', () => {
    expectError(() => max(f32([0, 3]), 0), 'reduceMax', 'empty axis', '[0, 3]');
    expectError(() => argmax(f32([2, 0]), 1), 'argmax', 'empty axis', '[2, 0]');
    expectError(() => mean(f32([0])), 'mean', 'empty', '[0]');
  });
});

describe('movement', () => {
  it('reshape with a size mismatch names both shapes and element counts', () => {
    expectError(() => reshape(f32([2, 3]), [4, 2]), 'reshape', 'cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)');
    expectError(() => reshape(f32([2, 3]), [4, -1]), 'reshape', 'cannot reshape [2, 3] (6 elements) into [4, -1]');
    expectError(() => reshape(f32([6]), [-1, -1]), 'reshape', 'at most one dimension may be -1, got [-1, -1]');
    expectError(() => reshape(f32([6]), [-2, -3]), 'reshape', 'non-negative integers');
  });
  it('transpose with a bad permutation', () => {
    expectError(() => transpose(f32([2, 3]), [0, 0]), 'transpose', 'perm [0, 0] is not a permutation of the 2 axes of [2, 3]');
    expectError(() => transpose(f32([2, 3]), [0]), 'transpose', 'perm [0] has 1 entries for a tensor of rank 2 (shape [2, 3])');
    expectError(() => transpose(f32([2, 3]), [0, 2]), 'transpose', 'axis 2 is out of range for a tensor of rank 2');
  });
  it('broadcastTo an incompatible shape', () => {
    expectError(() => broadcastTo(f32([2, 3]), [4, 3]), 'broadcastTo', 'cannot broadcast shape [2, 3] to [4, 3]');
    expectError(() => broadcastTo(f32([2, 3]), [3]), 'broadcastTo', 'cannot broadcast shape [2, 3] to [3]');
    expectError(() => broadcastTo(f32([2]), [2, -1]), 'broadcastTo', 'non-negative integers');
  });
  it('slice with a bad step, indices or too many entries', () => {
    expectError(() => slice(f32([5]), [0], [5], [0]), 'slice', 'step must be a positive integer, got 0 on axis 0');
    expectError(() => slice(f32([5, 5]), [0, 0], [5, 5], [1, -1]), 'slice', 'step must be a positive integer, got -1 on axis 1');
    expectError(() => slice(f32([5]), [0.5]), 'slice', 'indices must be integers, got 0.5 on axis 0');
    expectError(() => slice(f32([5]), [0, 0]), 'slice', 'more slice entries than the 1 axes of [5]');
  });
  it('pad with bad widths', () => {
    expectError(() => pad(f32([2, 3]), [[1, 1]]), 'pad', 'expected 2 [before, after] pairs for shape [2, 3], got 1');
    expectError(() => pad(f32([2, 3]), [[1, 1], [-1, 0]]), 'pad', 'widths must be pairs of non-negative integers', '[[1,1],[-1,0]]');
    expectError(() => pad(f32([2]), [[1, 1.5]]), 'pad', 'non-negative integers');
    expectError(() => pad(f32([2]), [[1] as never]), 'pad', 'pairs');
  });
  it('concat and stack with mismatched dims', () => {
    expectError(() => concat([f32([2, 3]), f32([2, 4])], 0), 'concat', 'all dims but axis 0 must match, got [2, 3], [2, 4]');
    expectError(() => concat([f32([2, 3]), f32([2, 3, 1])], 1), 'concat', '[2, 3], [2, 3, 1]');
    expectError(() => concat([f32([2, 3])], 2), 'concat', 'axis 2 is out of range for a tensor of rank 2');
    expectError(() => concat([]), 'concat', 'expected a non-empty array of tensors');
    expectError(() => stack([f32([2]), f32([3])]), 'stack', 'all tensors must have one shape, got [2], [3]');
  });
  it('squeeze and expandDims', () => {
    expectError(() => squeeze(f32([2, 3]), 0), 'squeeze', 'axis 0 of shape [2, 3] has size 2, not 1');
    expectError(() => expandDims(f32([2, 3]), 4), 'expandDims', 'axis 4 is out of range for a tensor of rank 3');
  });
});

describe('nn', () => {
  it('matmul: inner dimension mismatch, batch mismatch, rank 0, bool', () => {
    expectError(() => matmul(f32([2, 3]), f32([4, 5])), 'matmul', 'inner dimensions differ: [2, 3] x [4, 5] (3 vs 4)');
    expectError(() => matmul(f32([3]), f32([4])), 'matmul', 'inner dimensions differ: [3] x [4]');
    expectError(() => matmul(f32([2, 2, 3]), f32([3, 3, 4])), 'matmul', 'batch dimensions [2] and [3] of [2, 2, 3] x [3, 3, 4] cannot be broadcast');
    expectError(() => matmul(tensor(1), f32([2])), 'matmul', 'operands must have rank >= 1, got [] and [2]');
    expectError(() => matmul(tensor([[true]]), tensor([[true]])), 'matmul', 'bool operands');
  });
  it('conv2d: ranks, channels, dtypes, options, sizes', () => {
    expectError(() => conv2d(f32([1, 3, 8]), f32([4, 3, 3, 3])), 'conv2d', 'expected input of rank 4 (NCHW), got shape [1, 3, 8]');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 3, 3])), 'conv2d', 'expected weights of rank 4 (OIHW), got shape [4, 3, 3]');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 2, 3, 3])), 'conv2d', 'input has 3 channels but weights [4, 2, 3, 3] with groups=1 expect 2');
    expectError(() => conv2d(f32([1, 4, 8, 8]), f32([3, 2, 3, 3]), { groups: 2 }), 'conv2d', 'output channels 3 are not divisible by groups=2');
    expectError(() => conv2d(zeros([1, 3, 8, 8], { dtype: 'int32' }), zeros([4, 3, 3, 3], { dtype: 'int32' })), 'conv2d', 'expected float operands, got int32 and int32');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 3, 3, 3]), { stride: 0 }), 'conv2d', 'stride must be a positive integer or a pair of them, got 0');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 3, 3, 3]), { dilation: [1, 0] }), 'conv2d', 'dilation must be', '[1,0]');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 3, 3, 3]), { groups: 0 }), 'conv2d', 'groups must be a positive integer, got 0');
    expectError(() => conv2d(f32([1, 3, 8, 8]), f32([4, 3, 3, 3]), { padding: -1 as never }), 'conv2d', 'padding must be', 'got -1');
    expectError(() => conv2d(f32([1, 3, 2, 2]), f32([4, 3, 3, 3])), 'conv2d', 'kernel 3x3 does not fit the padded input [1, 3, 2, 2]');
  });
  it('pooling: rank, dtype, window', () => {
    expectError(() => maxPool2d(f32([2, 3, 4])), 'maxPool2d', 'expected input of rank 4 (NCHW), got shape [2, 3, 4]');
    expectError(() => avgPool2d(zeros([1, 1, 4, 4], { dtype: 'int32' })), 'avgPool2d', 'expected a float input, got int32');
    expectError(() => avgPool2d(f32([1, 1, 1, 1]), { kernel: 3 }), 'avgPool2d', 'window 3x3 does not fit input [1, 1, 1, 1]');
    expectError(() => maxPool2d(f32([1, 1, 4, 4]), { kernel: 0 }), 'maxPool2d', 'kernel must be a positive integer');
    expectError(() => globalAvgPool(f32([1, 1, 1])), 'globalAvgPool', 'expected input of rank 4 (NCHW), got shape [1, 1, 1]');
  });
  it('oneHot with non-integer labels or class count', () => {
    expectError(() => oneHot(f32([3]), 4), 'oneHot', 'labels must be int32, got float32[3]');
    expectError(() => oneHot(tensor([true]), 4), 'oneHot', 'labels must be int32, got bool[1]');
    expectError(() => oneHot(i32([1, 2]), 0), 'oneHot', 'numClasses must be a positive integer, got 0');
    expectError(() => oneHot(i32([1, 2]), 2.5), 'oneHot', 'numClasses must be a positive integer, got 2.5');
  });
  it('crossEntropy with mismatched shapes, dtypes or options', () => {
    expectError(() => crossEntropy(f32([2, 10]), i32([1, 2, 3])), 'crossEntropy', 'class-index targets must have shape [2] for logits [2, 10], got [3]');
    expectError(() => crossEntropy(f32([2, 10]), f32([2, 9])), 'crossEntropy', "probability targets must have the logits' shape [2, 10], got float32[2, 9]");
    expectError(() => crossEntropy(zeros([2, 10], { dtype: 'int32' }), i32([1, 2])), 'crossEntropy', 'logits must be float with a class axis, got int32[2, 10]');
    expectError(() => crossEntropy(tensor(1), i32([1])), 'crossEntropy', 'logits must be float with a class axis, got float32[]');
    expectError(() => crossEntropy(f32([2, 10]), i32([1, 2]), { labelSmoothing: 2 }), 'crossEntropy', 'labelSmoothing must be in [0, 1], got 2');
    expectError(() => crossEntropy(f32([2, 10]), i32([1, 2]), { reduction: 'avg' as never }), 'crossEntropy', "reduction must be 'mean', 'sum' or 'none', got 'avg'");
  });
});

describe('transformations', () => {
  const x = ones([3], { dtype: 'float64' });

  it('grad of a non-scalar output says to use vjp', () => {
    expectError(() => grad((a: Tensor) => mul(a, 2))(x), 'grad', 'must return a scalar (shape [])', 'got float64[3]', 'use vjp');
    expectError(() => valueAndGrad((a: Tensor) => mul(a, 2))(x), 'valueAndGrad', 'must return a scalar (shape [])');
    expectError(() => grad((_a: Tensor) => 3 as never)(x), 'grad', 'must return a scalar tensor, got number');
    expectError(() => grad((a: Tensor) => sum(cast(a, 'int32')))(x), 'grad', 'must return a float scalar, got int32');
  });
  it('grad with respect to an int input names the argument and the leaf', () => {
    expectError(() => grad((a: Tensor) => sum(a))(ones([3], { dtype: 'int32' })), 'grad', 'argument 0 has dtype int32', 'only float32/float64 inputs can be differentiated');
    expectError(
      () => grad((p: { a: Tensor; b: { c: Tensor } }) => sum(p.a))({ a: x, b: { c: ones([1], { dtype: 'int32' }) } }),
      'grad',
      "argument 0 (leaf 'b.c') has dtype int32",
    );
    expectError(() => grad((a: Tensor, b: Tensor) => sum(mul(a, b)), { argnums: [0, 1] })(x, ones([3], { dtype: 'bool' })), 'grad', 'argument 1 has dtype bool');
  });
  it('bad argnums and hasAux results', () => {
    expectError(() => grad((a: Tensor) => sum(a), { argnums: 3 })(x), 'grad', 'argnums 3 is out of range for 1 argument(s)');
    expectError(() => grad((a: Tensor) => sum(a), { hasAux: true })(x), 'grad', 'with hasAux the function must return [loss, aux]');
  });
  it('a tracer leaked from grad and used afterwards', () => {
    let leaked: Tensor | undefined;
    grad((a: Tensor) => {
      leaked = mul(a, 2);
      return sum(leaked);
    })(x);
    expect(leaked!.isTracer).toBe(true);
    expect(String(leaked)).toBe('Tracer(float64[3])');
    expectError(() => add(leaked!, 1), 'add', 'a tracer (float64[3]) leaked out of the function traced by grad', 'kept (in a closure or a global)');
    expectError(() => grad((a: Tensor) => sum(mul(a, leaked!)))(x), 'mul', 'leaked out of the function traced by grad');
    expectError(() => leaked!.data(), 'data', 'cannot read the values of a traced tensor');
  });
  it('a tracer leaked from jit and used afterwards, or returned through a closure', () => {
    let leaked: Tensor | undefined;
    jit((a: Tensor) => {
      leaked = exp(a);
      return leaked;
    })(x);
    expectError(() => jit((a: Tensor) => add(a, leaked!))(x), 'add', 'leaked out of the function traced by jit');
    expectError(() => jit(() => leaked!)(), 'jit', 'leaked out of the function traced by jit');
    expectError(() => makeGraph((a: Tensor) => [a, leaked!])(x), 'makeGraph', 'leaked');
  });
  it('reading values of a tracer inside jit/grad', () => {
    expectError(() => jit((a: Tensor) => (a.data(), a))(x), 'data', 'cannot read the values of a traced tensor (float64[3]) inside a function being transformed');
    expectError(() => jit((a: Tensor) => tensor(a.item()))(ones([1])), 'data', 'traced tensor');
    expectError(() => jit((a: Tensor) => (a.toArray(), a))(x), 'data', 'traced tensor');
    expectError(() => grad((a: Tensor) => (a.data(), sum(a)))(x), 'data', 'traced tensor');
    expectError(() => jit((a: Tensor) => toBackend(a, 'reference'))(x), 'toBackend', 'cannot move a traced tensor');
  });
  it('vjp and jvp with wrongly shaped cotangents/tangents', () => {
    const [, back] = vjp((a: Tensor) => mul(a, 2), x);
    expectError(() => back(ones([4], { dtype: 'float64' })), 'vjp', 'cotangent 0 has shape [4] but the output has shape [3]');
    expectError(() => back([x, x]), 'vjp', 'expected 1 cotangent tensor(s) shaped like the output, got 2');
    expectError(() => jvp((a: Tensor) => mul(a, 2), [x], [ones([4])]), 'jvp', 'tangent 0 has shape [4] but its primal has shape [3]');
    expectError(() => jvp((a: Tensor) => mul(a, 2), [x], []), 'jvp', 'primals and tangents must be arrays of the same length');
  });
  it('jit of unsupported argument values names the path', () => {
    expectError(() => jit((m: unknown) => m)({ a: [1, new Map()] }), 'jit', 'unsupported value at [0].a[1] ([object Map])');
  });
});

describe('disposed tensors', () => {
  it('every use of a disposed tensor says it was disposed', () => {
    const d = ones([2]);
    d.dispose();
    expect(d.isDisposed).toBe(true);
    expect(String(d)).toBe('Tensor(float32[2], disposed)');
    expectError(() => add(d, 1), 'add', 'tensor float32[2] was disposed');
    expectError(() => d.data(), 'data', 'tensor float32[2] was disposed');
    expectError(() => d.toArray(), 'data', 'was disposed');
    expectError(() => jit((a: Tensor) => add(a, 1))(d), 'jit', 'tensor float32[2] was disposed');
    expect(() => grad((a: Tensor) => sum(a))(d)).toThrow(/was disposed/);
    // A captured constant that was disposed before the call.
    const c = ones([2]);
    const f = jit((a: Tensor) => add(a, c));
    c.dispose();
    expect(() => f(ones([2]))).toThrow(/float32\[2\] was disposed/);
  });
});

describe('backends', () => {
  registerBackend({ name: 'reference-copy-errors', priority: -10, load: () => ({ ...referenceBackend, name: 'reference-copy-errors' }) });
  registerBackend({ name: 'broken', priority: -20, load: () => ({ unavailable: 'no such device: /dev/broken0 not found' }) });
  registerBackend({
    name: 'throws',
    priority: -30,
    load: () => {
      throw new Error('libfoo.so.1: cannot open shared object file');
    },
  });

  it('ops on tensors of different backends name both backends', () => {
    const a = ones([2]);
    const b = ones([2], { backend: 'reference-copy-errors' });
    expectError(() => add(a, b), 'add', "inputs live on different backends ('reference' and 'reference-copy-errors')", 'toBackend()');
    expectError(() => jit((p: Tensor, q: Tensor) => add(p, q))(a, b), 'jit', "backend 'reference-copy-errors' but the function is compiled for 'reference'");
    // Moving one fixes it.
    expect(add(a, toBackend(b, 'reference')).toArray()).toEqual([2, 2]);
    expect(jit((p: Tensor) => mul(p, 2), { backend: 'reference-copy-errors' })(b).backend.name).toBe('reference-copy-errors');
  });
  it('unavailable backends say why', () => {
    expectError(() => getBackend('nope'), 'getBackend', "backend 'nope' is unavailable: unknown backend (registered: ");
    expectError(() => getBackend('broken'), 'getBackend', "backend 'broken' is unavailable: no such device: /dev/broken0 not found");
    expectError(() => getBackend('throws'), 'getBackend', 'failed to load: libfoo.so.1: cannot open shared object file');
    expectError(() => setDefaultBackend('broken'), 'getBackend', 'no such device');
    expectError(() => ones([2], { backend: 'nope' }), 'getBackend', "'nope'");
  });
});
