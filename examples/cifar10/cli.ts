// Command-line helpers shared by the example scripts.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadCifar10 } from '@resgrad/data';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The development copy beside the repository, if present. */
export const SHARED_DATA = join(repoRoot, '..', 'shared', 'data', 'cifar10-jpeg75');

/** Where CIFAR-10 is looked for when --data is not given: the shared copy, then the user cache (downloading into it). */
export async function resolveData(given: string | undefined): Promise<string> {
  if (given) return given;
  if (existsSync(SHARED_DATA)) return SHARED_DATA;
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'resgrad', 'cifar10');
  return downloadCifar10(cache);
}

export function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

export function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got '${v}'`);
  return n;
}
