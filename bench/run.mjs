#!/usr/bin/env node
// `npm run bench -- <name> [flags]`: runs bench/<name>.ts with tsx. tsx honours the root
// tsconfig's `paths`, so '@resgrad/core' resolves to the package sources: benchmarks measure
// the working tree without a build step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Later issues add names here (resnet20: the training-step throughput benchmark).
const benches = { core: 'core.ts', 'cpu-pool': 'cpu-pool.ts', 'cpu-kernels': 'cpu-kernels.ts', resnet20: 'resnet20.ts', 'cpu-epilogues': 'cpu-epilogues.ts', 'resnet20-profile': 'resnet20-profile.ts', webgpu: 'webgpu.ts', gpujs: 'gpujs.ts' };

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [flags]`);
  process.exit(2);
}
const script = join(here, benches[name]);
if (!existsSync(script)) {
  console.error(`bench '${name}': ${script} is missing`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...rest], { stdio: 'inherit', cwd: join(here, '..') });
process.exit(r.status ?? 1);
