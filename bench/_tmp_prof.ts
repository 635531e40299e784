import { getBackend } from '@resgrad/core';
import { initWebGPU } from '@resgrad/backend-webgpu';
import { resnetTrainSetup } from './lib/resnet-step.js';
const gpu = await initWebGPU();
if ('unavailable' in gpu) throw new Error(gpu.unavailable);
const be = getBackend('webgpu') as any;
const depth = Number(process.env.DEPTH ?? 8);
const batch = Number(process.env.BATCH ?? 16);
const { start, step, x, y } = resnetTrainSetup('webgpu', batch, depth);
let cur = start;
const once = async () => { const out = step(cur, x, y); await out.loss.dataAsync(); cur = out.next; };
let t = performance.now(); await once(); console.log('first', (performance.now() - t).toFixed(0));
t = performance.now(); await once(); console.log('plain step', (performance.now() - t).toFixed(0));
const rows: [string, number][] = [];
be.profile = (what: string, ms: number) => rows.push([what, ms]);
t = performance.now(); await once(); const wall = performance.now() - t;
be.profile = null;
// cumulative from submission: diff in completion order
rows.sort((a, b) => a[1] - b[1]);
let prev = 0; const byKind = new Map<string, number>(); const per: [string, number][] = [];
for (const [w, ms] of rows) { const d = ms - prev; prev = ms; const kind = w.split(':')[1]!.trim().split(' ')[0]!; byKind.set(kind, (byKind.get(kind) ?? 0) + d); per.push([w, d]); }
console.log('profiled step wall', wall.toFixed(0), 'kernels', rows.length, 'last completion', prev.toFixed(0));
console.log([...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}ms`).join('\n'));
per.sort((a, b) => b[1] - a[1]);
for (const [w, d] of per.slice(0, 25)) console.log(d.toFixed(1).padStart(8), w.slice(0, 140));
gpu.destroy();
