import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Tensor, tensor } from '@resgrad/core';
import { flattenNamed, unflattenNamed } from '../tree.js';
import { encodeSafetensors, parseSafetensors, type SafetensorsFile, type StoredTensor } from './safetensors.js';

/** What a training checkpoint holds. Model tensors keep their plain names (`layer1.0.conv1.weight`,
 * `bn1.running_mean`), optimizer tensors are prefixed `optimizer.`. */
export interface Checkpoint {
  params: unknown;
  state: unknown;
  optState?: unknown;
  step: number;
  /** Anything JSON-serialisable: run options, data order seed, metrics so far. */
  metadata?: Record<string, unknown>;
}

const OPT = 'optimizer.';
const META_KEY = 'resgrad';

/** A checkpoint that cannot be read or does not fit the model; the message names the file and the fault. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Writes bytes so that `path` holds either the old file or the complete new one, never a
 * partial write: a temporary file in the same folder, fsync, rename over, fsync the folder.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse fsync on folders; the rename itself is still atomic.
  }
}

function stored(t: Tensor): StoredTensor {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data() };
}

/**
 * Saves a checkpoint as a safetensors file, atomically.
 *
 * @example
 * ```ts
 * saveCheckpoint('runs/r20/last.safetensors', { params, state, optState, step: 1000 });
 * ```
 */
export function saveCheckpoint(path: string, ckpt: Checkpoint): void {
  const entries: [string, StoredTensor][] = [];
  const names = new Set<string>();
  const add = (name: string, t: Tensor) => {
    if (names.has(name)) throw new CheckpointError(`saveCheckpoint: duplicate tensor name '${name}' (params and state must not share names)`);
    names.add(name);
    entries.push([name, stored(t)]);
  };
  for (const [n, t] of flattenNamed(ckpt.params)) add(n, t);
  for (const [n, t] of flattenNamed(ckpt.state)) add(n, t);
  if (ckpt.optState !== undefined) for (const [n, t] of flattenNamed(ckpt.optState)) add(OPT + n, t);
  const meta = {
    format: 'pt',
    [META_KEY]: JSON.stringify({
      version: 1,
      step: ckpt.step,
      params: flattenNamed(ckpt.params).map(([n]) => n),
      state: flattenNamed(ckpt.state).map(([n]) => n),
      metadata: ckpt.metadata ?? {},
    }),
  };
  writeFileAtomic(path, encodeSafetensors(entries, meta));
}

/** Reads and validates a safetensors file; throws a CheckpointError naming the file and the fault. */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  const r = parseSafetensors(bytes);
  if (!r.ok) throw new CheckpointError(`${path} is not a valid safetensors file: ${r.error}`);
  return r.value;
}

function describe(t: { dtype: string; shape: readonly number[] }): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

/**
 * Loads a checkpoint into the structure of `template` (for example a freshly initialised
 * model and optimizer state). Names, shapes and dtypes must match exactly; otherwise the
 * error lists every missing, unexpected and mismatched tensor. Without `optState` in the
 * template, the file's optimizer tensors are ignored (loading weights for evaluation).
 */
export function loadCheckpoint(path: string, template: { params: unknown; state: unknown; optState?: unknown }): Checkpoint {
  const file = readSafetensors(path);
  let info: { step?: unknown; metadata?: unknown } = {};
  try {
    info = JSON.parse(file.metadata[META_KEY] ?? '{}');
  } catch {
    throw new CheckpointError(`${path}: metadata '${META_KEY}' is not valid JSON`);
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const take = (tree: unknown, prefix: string) => {
    const out: [string, Tensor][] = [];
    for (const [name, t] of flattenNamed(tree)) {
      const key = prefix + name;
      seen.add(key);
      const s = file.tensors.get(key);
      if (!s) {
        problems.push(`missing ${key} (expected ${describe(t)})`);
        continue;
      }
      if (s.dtype !== t.dtype || s.shape.join() !== t.shape.join()) {
        problems.push(`${key}: file has ${describe(s)}, model expects ${describe(t)}`);
        continue;
      }
      out.push([name, tensor(s.data, { shape: s.shape, dtype: s.dtype, backend: t.isTracer ? undefined : t.backend })]);
    }
    return out;
  };
  const params = take(template.params, '');
  const state = take(template.state, '');
  const opt = template.optState !== undefined ? take(template.optState, OPT) : [];
  // Without an optimizer template (evaluation, fine-tuning), the optimizer's tensors are skipped;
  // so is PyTorch's BatchNorm step counter, which torchvision state dicts carry and we do not use.
  const skipped = (key: string) => (template.optState === undefined && key.startsWith(OPT)) || key.endsWith('.num_batches_tracked');
  for (const key of file.tensors.keys()) if (!seen.has(key) && !skipped(key)) problems.push(`unexpected ${key} in the file`);
  if (problems.length) throw new CheckpointError(`${path} does not match the model:\n  ${problems.join('\n  ')}`);
  const rebuild = (template: unknown, entries: [string, Tensor][]) => {
    const byName = new Map(entries);
    return mapNamed(template, byName);
  };
  return {
    params: rebuild(template.params, params),
    state: rebuild(template.state, state),
    optState: template.optState !== undefined ? rebuild(template.optState, opt) : undefined,
    step: typeof info.step === 'number' ? info.step : 0,
    metadata: (info.metadata as Record<string, unknown>) ?? {},
  };
}

import { treeMap } from '@resgrad/core';

/** The template's structure with each tensor replaced by the loaded one of the same name. */
function mapNamed(template: unknown, byName: Map<string, Tensor>): unknown {
  return treeMap(template, (_t, path) => byName.get(path)!);
}

export { unflattenNamed };
