// The training step the ResNet benchmarks time: ResNet-`depth` (option A) at batch `batch`,
// SGD with momentum 0.9 and weight decay 1e-4 at lr 0.1, on random inputs made on `backend`.
import { random } from '@resgrad/core';
import { resnetCifar, sgd, type TrainState, trainStep } from '@resgrad/nn';

export function resnetTrainSetup(backend: string, batch: number, depth = 20) {
  const net = resnetCifar({ depth });
  const [k0, k1, k2] = random.split(random.key(0, { backend }), 3);
  const { params, state } = net.init(k0!, [batch, 3, 32, 32]);
  const opt = sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const start: TrainState = { params, state, optState: opt.init(params) };
  return {
    net,
    start,
    step: trainStep(net, opt),
    x: random.normal(k1!, [batch, 3, 32, 32]),
    y: random.randint(k2!, [batch], 0, 10),
  };
}
