// npm run train -- [options]: train a CIFAR-10 ResNet (or plain net) as in He et al. 2016, section 4.2.
// Registers the native CPU backend (the default wherever a C compiler works).
import '@resgrad/backend-cpu';
import { parseArgs } from 'node:util';
import { availableBackends } from '@resgrad/core';
import { fail, int, num, resolveData } from './cli.js';
import { DEFAULTS, train, TrainingDiverged, type TrainOptions } from './trainer.js';

const HELP = `Train a CIFAR-10 ResNet as in the paper (SGD, momentum 0.9, weight decay 1e-4, batch 128,
lr 0.1 divided by 10 at 32k and 48k of 64k iterations, pad-4 crop and flip augmentation).

  --depth N            6n+2: 20, 32, 44, 56, 110, 1202 (default 20)
  --plain              the plain net of the same depth (no shortcuts)
  --shortcut A|B|C     shortcut option (default A)
  --backend NAME       backend (default: the best available; see below)
  --batch-size N       (default 128)
  --iterations N       total updates (default 64000)
  --epochs N           total epochs instead of iterations
  --lr X               base learning rate (default 0.1)
  --schedule S         paper | cosine | onecycle (default paper, scaled to the run's length)
  --warmup W           N steps of linear warm-up, or 'error' (0.01 until training error < 80 %, as for ResNet-110)
  --weight-decay X     (default 1e-4)
  --momentum X         (default 0.9)
  --nesterov           Nesterov momentum
  --label-smoothing X  cross-entropy against smoothed labels (default 0, as the paper)
  --seed N             data order, augmentation and initialisation (default 0)
  --data PATH          cifar-10-binary.tar.gz or its folder (default: the shared copy, else ~/.cache/resgrad/cifar10, downloading)
  --subset N           use the first N training images
  --test-subset N      evaluate on the first N test images
  --val-split N        hold out the last N training images (the paper: 5000)
  --out DIR            run folder (default runs/resnet<depth>)
  --resume             continue the run in --out exactly where its checkpoint left it
  --log-every N        (default 50)   --checkpoint-every N (default 1000)   --eval-every EPOCHS (default 1)
  --workers N          data worker threads (default 2)
  --stop-at N          stop at step N as if interrupted (checkpoint saved; --resume continues)
  --no-progress        log lines instead of a progress bar
`;

const { values } = parseArgs({
  options: {
    depth: { type: 'string' }, plain: { type: 'boolean' }, shortcut: { type: 'string' }, backend: { type: 'string' },
    'batch-size': { type: 'string' }, iterations: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' },
    schedule: { type: 'string' }, warmup: { type: 'string' }, 'weight-decay': { type: 'string' }, momentum: { type: 'string' }, nesterov: { type: 'boolean' }, 'label-smoothing': { type: 'string' },
    seed: { type: 'string' }, data: { type: 'string' }, subset: { type: 'string' }, 'test-subset': { type: 'string' },
    'val-split': { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, 'log-every': { type: 'string' },
    'checkpoint-every': { type: 'string' }, 'eval-every': { type: 'string' }, workers: { type: 'string' },
    'no-progress': { type: 'boolean' }, 'stop-at': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (values.help) {
  console.log(HELP);
  console.log('Backends here:');
  for (const b of availableBackends()) console.log(`  ${b.name}: ${b.available ? 'available' : `unavailable (${b.reason})`}`);
  process.exit(0);
}

const shortcut = (values.shortcut ?? 'A').toUpperCase();
if (!['A', 'B', 'C'].includes(shortcut)) fail(`--shortcut must be A, B or C, got '${values.shortcut}'`);
const schedule = values.schedule ?? 'paper';
if (!['paper', 'cosine', 'onecycle'].includes(schedule)) fail(`--schedule must be paper, cosine or onecycle, got '${schedule}'`);
const warmup = values.warmup === undefined ? 0 : values.warmup === 'error' ? 'error' : int('warmup', values.warmup)!;
const depth = int('depth', values.depth, 8) ?? DEFAULTS.depth;
if ((depth - 2) % 6 !== 0) fail(`--depth must be 6n+2 (20, 32, 44, 56, 110, 1202), got ${depth}`);

const options: Partial<TrainOptions> & { data: string } = {
  depth,
  plain: values.plain ?? false,
  shortcut: shortcut as 'A' | 'B' | 'C',
  backend: values.backend,
  batchSize: int('batch-size', values['batch-size'], 1) ?? DEFAULTS.batchSize,
  iterations: int('iterations', values.iterations, 1) ?? DEFAULTS.iterations,
  epochs: int('epochs', values.epochs, 1),
  lr: num('lr', values.lr) ?? DEFAULTS.lr,
  schedule: schedule as TrainOptions['schedule'],
  warmup,
  weightDecay: num('weight-decay', values['weight-decay']) ?? DEFAULTS.weightDecay,
  momentum: num('momentum', values.momentum) ?? DEFAULTS.momentum,
  nesterov: values.nesterov ?? false,
  labelSmoothing: num('label-smoothing', values['label-smoothing']) ?? 0,
  seed: int('seed', values.seed) ?? DEFAULTS.seed,
  data: await resolveData(values.data),
  subset: int('subset', values.subset) ?? 0,
  testSubset: int('test-subset', values['test-subset']) ?? 0,
  valSplit: int('val-split', values['val-split']) ?? 0,
  out: values.out ?? `runs/${values.plain ? 'plain' : 'resnet'}${depth}`,
  resume: values.resume ?? false,
  logEvery: int('log-every', values['log-every'], 1) ?? DEFAULTS.logEvery,
  checkpointEvery: int('checkpoint-every', values['checkpoint-every'], 1) ?? DEFAULTS.checkpointEvery,
  evalEvery: int('eval-every', values['eval-every']) ?? DEFAULTS.evalEvery,
  workers: int('workers', values.workers) ?? DEFAULTS.workers,
  progress: values['no-progress'] ? false : undefined,
  stopAt: int('stop-at', values['stop-at'], 1),
};

try {
  const r = await train(options);
  const how = r.stopped === 'interrupted' ? 'interrupted; checkpoint saved, continue with --resume' : 'done';
  console.error(
    `${how}: ${r.steps} steps, test error ${(r.testError * 100).toFixed(2)} %` +
      (r.valError !== undefined ? `, validation error ${(r.valError * 100).toFixed(2)} %` : '') +
      `, ${r.imagesPerSec.toFixed(0)} images/s, data wait ${(r.dataWaitShare * 100).toFixed(1)} % — ${options.out}`,
  );
  process.exit(r.stopped === 'interrupted' ? 130 : 0);
} catch (e) {
  if (e instanceof TrainingDiverged) fail(e.message);
  throw e;
}
