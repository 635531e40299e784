// End to end: a ResNet-8 training step (forward, backward, SGD with momentum) jitted on WebGPU,
// against the same step on the reference backend; then a few steps to see the loss fall.
import { describe, expect, it } from 'vitest';
import { random, setDefaultBackend } from '@resgrad/core';
import { resnetCifar, sgd, type TrainState, trainStep } from '@resgrad/nn';
import { expectMatches } from './helpers/compare.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);

function setup(backend: string) {
  // init and the optimizer create some tensors (BN statistics, momenta) on the default backend
  setDefaultBackend(backend);
  const net = resnetCifar({ depth: 8 });
  const [k0, k1, k2] = random.split(random.key(0, { backend }), 3);
  const { params, state } = net.init(k0!, [2, 3, 16, 16]);
  const opt = sgd({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
  const x = random.normal(k1!, [2, 3, 16, 16]);
  const y = random.randint(k2!, [2], 0, 10);
  const train = trainStep(net, opt);
  const start: TrainState = { params, state, optState: opt.init(params) };
  setDefaultBackend(REF);
  return { start, x, y, train };
}

describe.skipIf(gpu.skip !== null)(`webgpu ResNet-8 step${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('resnet', gpu.backend);
  it('matches the reference step, and the loss falls over a few steps', async () => {
    const ref = setup(REF);
    const mine = setup('webgpu');
    const lossRef = ref.train(ref.start, ref.x, ref.y).loss;
    let out = mine.train(mine.start, mine.x, mine.y);
    await expectMatches(out.loss, lossRef, 'ResNet-8 loss', { rtol: 1e-4 });
    const first = (await out.loss.dataAsync())[0]!;
    for (let i = 0; i < 4; i++) out = mine.train(out.next, mine.x, mine.y);
    const last = (await out.loss.dataAsync())[0]!;
    expect(last).toBeLessThan(first);
    await gpu.backend!.flush();
    ranOnDevice();
  });
});
