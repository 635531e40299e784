// `npm run bench -- resnet20-profile [--batch 128] [--steps 5] [--top 15]`: where a jitted
// ResNet-20 training step spends its time on the cpu backend. Sets RESGRAD_CPU_PROFILE=1
// (each kernel launch timed and bucketed by kind and shape), runs one untimed step (compiles)
// and `steps` profiled ones, and prints the buckets by total time, per step, as a table and
// one JSON line per bucket.
process.env.RESGRAD_CPU_PROFILE = '1';
const { getBackend } = await import('@resgrad/core');
const { cpuProfile, resetCpuProfile } = await import('@resgrad/backend-cpu');
const { resnetTrainSetup } = await import('./lib/resnet-step.js');

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : Number(dflt);
};
const batch = flag('batch', '128');
const steps = flag('steps', '5');
const top = flag('top', '15');

getBackend('cpu');
const { start, step: train, x, y } = resnetTrainSetup('cpu', batch);
let cur = start;
const step = () => {
  const out = train(cur, x, y);
  cur = out.next;
  out.loss.data();
};
step();
resetCpuProfile();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps;
const rows = cpuProfile();
const kernels = rows.reduce((s, r) => s + r.ms, 0) / steps;
console.log(`ResNet-20 training step, batch ${batch}: ${wall.toFixed(1)} ms/step wall, ${kernels.toFixed(1)} ms in kernels`);
console.log(`${'ms/step'.padStart(8)} ${'%'.padStart(5)} ${'calls'.padStart(6)}  kernel`);
for (const r of rows.slice(0, top)) {
  const ms = r.ms / steps;
  console.log(`${ms.toFixed(2).padStart(8)} ${((100 * ms) / kernels).toFixed(1).padStart(5)} ${String(r.calls / steps).padStart(6)}  ${r.label}`);
}
const byKind = new Map<string, number>();
for (const r of rows) {
  const kind = r.label.split(' [')[0]!.replace(/ (sum|max)$/, '');
  byKind.set(kind, (byKind.get(kind) ?? 0) + r.ms / steps);
}
console.log('by kind:', [...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', '));
