#!/usr/bin/env node
// `npm run test:webgpu`: runs the WebGPU tests alone, on a real adapter, and fails unless
// some test executed on it.
// 1. scripts/setup-webgpu-adapter.sh provides the SwiftShader CPU adapter (cached under
//    .cache/) unless RESGRAD_WEBGPU_NO_SETUP=1 (use the machine's own GPU driver).
// 2. vitest runs packages/backend-webgpu alone in a child process (one fork worker). Dawn 0.6.2
//    used to crash there in ProcessEvents "when V8 optimised hot loops between GPU awaits";
//    the cause was a garbage-collected GPU object (see src/device.ts), which the backend now
//    keeps alive, so V8 runs with its defaults. RESGRAD_WEBGPU_NO_OPT=1 adds `--no-opt` to
//    the workers anyway, to rule V8's optimiser out when investigating a crash.
// 3. Each device test file appends a JSON line (tests executed, adapter) to a report file;
//    no line, or zero tests executed, fails the run even when vitest passed (all skipped).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, RESGRAD_WEBGPU_TESTS: '1' };
if (process.env.RESGRAD_WEBGPU_NO_SETUP !== '1') {
  const setup = spawnSync('bash', [join(root, 'scripts/setup-webgpu-adapter.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (setup.status !== 0) {
    console.error('test:webgpu: the CPU adapter could not be set up (see above)');
    process.exit(1);
  }
  for (const line of setup.stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
}
const dir = mkdtempSync(join(tmpdir(), 'resgrad-webgpu-'));
const report = join(dir, 'report.jsonl');
env.RESGRAD_WEBGPU_REPORT = report;

const started = Date.now();
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const noOpt = process.env.RESGRAD_WEBGPU_NO_OPT === '1' ? ['--execArgv=--no-opt'] : [];
const args = [vitest, 'run', 'packages/backend-webgpu', '--pool=forks', ...noOpt, '--maxWorkers=1', ...process.argv.slice(2)];
const run = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const lines = existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(dir, { recursive: true, force: true });
const executed = lines.reduce((n, l) => n + l.executed, 0);
const adapter = lines[0]?.adapter ?? 'none';
const withNoOpt = lines.length > 0 && lines.every((l) => l.noOpt);
console.log(`test:webgpu: ${executed} check(s) executed on the adapter "${adapter}" in ${seconds}s (workers with --no-opt: ${withNoOpt})`);
if (run.status !== 0) {
  console.error(`test:webgpu: vitest failed (exit ${run.status ?? run.signal})`);
  process.exit(run.status || 1);
}
if (executed === 0) {
  console.error('test:webgpu: no check executed on a real WebGPU adapter');
  process.exit(1);
}
