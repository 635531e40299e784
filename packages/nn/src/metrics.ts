import { cast, greater, greaterEqual, mean, mul, oneHot, sum, type Tensor } from '@resgrad/core';

/**
 * Fraction of examples whose true class is not among the k highest logits. The rank of the
 * true class is the number of classes with a strictly larger logit, so no sort is needed
 * (ties count in the example's favour).
 *
 * @example
 * ```ts
 * topKError(tensor([[1, 3, 2]]), tensor([2], { dtype: 'int32' }), 1).item(); // 1
 * topKError(tensor([[1, 3, 2]]), tensor([2], { dtype: 'int32' }), 2).item(); // 0
 * ```
 */
export function topKError(logits: Tensor, labels: Tensor, k = 1): Tensor {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0] || labels.dtype !== 'int32')
    throw new Error(`topKError: expected logits [N, C] and int32 labels [N], got [${logits.shape.join(', ')}] and ${labels.dtype}[${labels.shape.join(', ')}]`);
  const C = logits.shape[1]!;
  const trueLogit = sum(mul(logits, oneHot(labels, C, logits.dtype as 'float32')), 1, { keepDims: true });
  const rank = sum(cast(greater(logits, trueLogit), 'int32'), 1);
  return mean(cast(greaterEqual(rank, k), 'float32'));
}

/** Top-1 error. */
export const top1Error = (logits: Tensor, labels: Tensor) => topKError(logits, labels, 1);
/** Top-5 error. */
export const top5Error = (logits: Tensor, labels: Tensor) => topKError(logits, labels, 5);

