// Checkpoints as safetensors: bit-exact round trips (params, BN state, optimizer state, step,
// metadata; float32/float64/int32/bool), torchvision-style names, exact reports of what differs
// from the model, atomic writes, and a parser that rejects malformed files with a clear error and
// never throws, also on fast-check-mutated files.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fc } from '@fast-check/vitest';
import { crossEntropy, type DType, grad, random, type Tensor, tensor, type TypedArray } from '@resgrad/core';
import {
  adam, CheckpointError, encodeSafetensors, flattenNamed, loadCheckpoint, MAX_HEADER_BYTES, type ParamTree, parseSafetensors,
  readSafetensors, resnetCifar, saveCheckpoint, sgd, type StoredTensor, writeFileAtomic,
} from '@resgrad/nn';
import { sameBytes } from './helpers.js';

// Lets a test make the file system fail in the middle of a write (a full disk, say).
const faults = vi.hoisted(() => ({ writeAfter: -1, fsync: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (what: string) => Object.assign(new Error(`ENOSPC: no space left on device, ${what}`), { code: 'ENOSPC' });
  return {
    ...fs,
    writeSync: ((fd: number, buf: Uint8Array, offset?: number, length?: number) => {
      if (faults.writeAfter >= 0) {
        // Write part of the bytes, then fail.
        const n = Math.min(length ?? buf.length, faults.writeAfter);
        if (n > 0) fs.writeSync(fd, buf, offset ?? 0, n);
        throw fail('write');
      }
      return fs.writeSync(fd, buf, offset, length);
    }) as typeof fs.writeSync,
    fsyncSync: ((fd: number) => {
      if (faults.fsync) throw fail('fsync');
      return fs.fsyncSync(fd);
    }) as typeof fs.fsyncSync,
  };
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resgrad-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INPUT = [2, 3, 8, 8];

/** A ResNet-8 after one SGD step in training mode: params, BN running stats and momentum all non-trivial. */
function trainedModel(options: { numClasses?: number; depth?: number } = {}) {
  const net = resnetCifar({ depth: options.depth ?? 8, numClasses: options.numClasses });
  const { params, state } = net.init(random.key(3), INPUT);
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  const x = random.normal(random.key(4), INPUT);
  const y = tensor([1, 7], { dtype: 'int32' });
  let newState: ParamTree = state;
  const g = grad((p: ParamTree) => {
    const [logits, s] = net.apply(p, state, x, { train: true });
    newState = s;
    return crossEntropy(logits, y);
  })(params);
  // The state is recomputed outside grad so it holds concrete tensors.
  newState = net.apply(params, state, x, { train: true })[1];
  const [p1, o1] = opt.update(g, opt.init(params), params);
  return { net, opt, params: p1 as ParamTree, state: newState, optState: o1 };
}

const fresh = (depth = 8, numClasses?: number) => {
  const net = resnetCifar({ depth, numClasses });
  const { params, state } = net.init(random.key(99), INPUT);
  return { params, state, optState: sgd({ lr: 0.1, momentum: 0.9 }).init(params) };
};

function expectTreesBitEqual(a: unknown, b: unknown, what: string) {
  const fa = flattenNamed(a);
  const fb = flattenNamed(b);
  expect(fb.map(([n]) => n), what).toEqual(fa.map(([n]) => n));
  fa.forEach(([name, t], i) => {
    const u = fb[i]![1];
    expect(u.dtype, `${what} ${name}`).toBe(t.dtype);
    expect(u.shape, `${what} ${name}`).toEqual(t.shape);
    expect(sameBytes(t.data(), u.data()), `${what} ${name} bytes`).toBe(true);
  });
}

/** The error thrown by f (fails if none). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected an error');
}

describe('round trip', () => {
  it('params, BN state, SGD state, step and metadata come back bit-exact', () => {
    const m = trainedModel();
    const path = join(dir, 'r8.safetensors');
    const metadata = { run: 'resnet8', lr: 0.1, seeds: [1, 2, 3], nested: { ok: true, note: 'ünïcödé' } };
    saveCheckpoint(path, { params: m.params, state: m.state, optState: m.optState, step: 1234, metadata });
    const loaded = loadCheckpoint(path, fresh());
    expectTreesBitEqual(m.params, loaded.params, 'params');
    expectTreesBitEqual(m.state, loaded.state, 'state');
    expectTreesBitEqual(m.optState, loaded.optState, 'optimizer state');
    expect(loaded.step).toBe(1234);
    expect(loaded.metadata).toEqual(metadata);
    // The loaded values really are the trained ones, not the template's.
    const template = fresh();
    expect(sameBytes(flattenNamed(template.params)[0]![1].data(), flattenNamed(loaded.params)[0]![1].data())).toBe(false);
    // And the running statistics moved away from their initial 0 / 1.
    expect(Array.from(((m.state.bn1 as ParamTree).running_mean as Tensor).data()).some((v) => v !== 0)).toBe(true);
  });

  it('Adam state (a scalar step count, mu and nu) round-trips too', () => {
    const params = { w: tensor([[1.5, -2], [0.25, 3]]), b: tensor([0.5, -0.5]) };
    const opt = adam({ lr: 0.01 });
    let p = params;
    let s = opt.init(p);
    for (let t = 0; t < 2; t++) [p, s] = opt.update({ w: tensor([[0.1, 0.2], [-0.3, 0.4]]), b: tensor([1, -1]) }, s, p);
    const path = join(dir, 'adam.safetensors');
    saveCheckpoint(path, { params: p, state: {}, optState: s, step: 2 });
    const names = [...readSafetensors(path).tensors.keys()];
    expect(names).toEqual(['w', 'b', 'optimizer.count', 'optimizer.mu.w', 'optimizer.mu.b', 'optimizer.nu.w', 'optimizer.nu.b']);
    const loaded = loadCheckpoint(path, { params, state: {}, optState: opt.init(params) });
    expectTreesBitEqual(p, loaded.params, 'params');
    expectTreesBitEqual(s, loaded.optState, 'adam state');
    expect((loaded.optState as { count: Tensor }).count.shape).toEqual([]);
    expect(loaded.step).toBe(2);
    expect(loaded.metadata).toEqual({});
  });

  it('float64, int32 and bool tensors, with special values, through saveCheckpoint and loadCheckpoint', () => {
    const f64 = new Float64Array([0, -0, Number.NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, -1.5, Math.PI]);
    const f32 = new Float32Array([0, -0, Number.NaN, Infinity, 1e-45, 3.4028234663852886e38, Math.fround(0.1)]);
    const params = {
      d: tensor(f64, { shape: [3, 3] }),
      f: tensor(f32),
      i: tensor(new Int32Array([0, -1, 2147483647, -2147483648, 42]), { shape: [5, 1] }),
      b: tensor([true, false, true, true]),
      scalar: tensor(7.25, { dtype: 'float64' }),
      empty: tensor(new Float32Array(0), { shape: [0, 3] }),
    };
    const path = join(dir, 'dtypes.safetensors');
    saveCheckpoint(path, { params, state: {}, step: 0 });
    const template = {
      d: tensor(new Float64Array(9), { shape: [3, 3] }),
      f: tensor(new Float32Array(7)),
      i: tensor(new Int32Array(5), { shape: [5, 1] }),
      b: tensor([false, false, false, false]),
      scalar: tensor(0, { dtype: 'float64' }),
      empty: tensor(new Float32Array(0), { shape: [0, 3] }),
    };
    const loaded = loadCheckpoint(path, { params: template, state: {} });
    expectTreesBitEqual(params, loaded.params, 'params');
  });

  it('encodeSafetensors / parseSafetensors are inverse, bit for bit, for every dtype', () => {
    const entries: [string, StoredTensor][] = [
      ['a', { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -0, Number.NaN, 1e-40]) }],
      ['b', { dtype: 'float64', shape: [3], data: new Float64Array([-0, 2 ** -1074, -Infinity]) }],
      ['c', { dtype: 'int32', shape: [], data: new Int32Array([-7]) }],
      ['d', { dtype: 'bool', shape: [5], data: new Uint8Array([1, 0, 0, 1, 1]) }],
      ['e', { dtype: 'float32', shape: [0], data: new Float32Array(0) }],
    ];
    const bytes = encodeSafetensors(entries, { format: 'pt', note: 'x' });
    // The data section starts 8-byte aligned, as the reference writer makes it.
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const r = parseSafetensors(bytes);
    if (!r.ok) return expect.fail(r.error);
    expect(r.value.metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...r.value.tensors.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const [name, t] of entries) {
      const u = r.value.tensors.get(name)!;
      expect(u.dtype).toBe(t.dtype);
      expect(u.shape).toEqual(t.shape);
      expect(sameBytes(t.data, u.data), name).toBe(true);
    }
    // A non-canonical NaN payload survives as well.
    const nan = new Float32Array(new Uint32Array([0x7fc12345]).buffer);
    const back = parseSafetensors(encodeSafetensors([['n', { dtype: 'float32', shape: [1], data: nan }]]));
    expect(back.ok && new Uint32Array((back.value.tensors.get('n')!.data as Float32Array).buffer)[0]).toBe(0x7fc12345);
  });
});

describe('names', () => {
  it('are torchvision style in the file for resnetCifar({ depth: 8 })', () => {
    const m = trainedModel();
    const path = join(dir, 'names.safetensors');
    saveCheckpoint(path, { params: m.params, state: m.state, optState: m.optState, step: 1 });
    const file = readSafetensors(path);
    const names = [...file.tensors.keys()];
    for (const n of [
      'conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var',
      'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.conv2.weight', 'layer1.0.bn2.running_var',
      'layer2.0.conv1.weight', 'layer3.0.bn2.running_mean', 'fc.weight', 'fc.bias',
      'optimizer.momentum.layer1.0.conv1.weight', 'optimizer.momentum.fc.bias',
    ])
      expect(names, n).toContain(n);
    expect(file.tensors.get('layer2.0.conv1.weight')!.shape).toEqual([32, 16, 3, 3]);
    expect(file.tensors.get('fc.weight')!.shape).toEqual([10, 64]);
    // Option A: no downsample tensors; nothing from parameterless layers.
    expect(names.filter((n) => n.includes('downsample') || n.includes('relu') || n.includes('avgpool'))).toEqual([]);
    // A PyTorch reader needs format 'pt' in the metadata.
    expect(file.metadata.format).toBe('pt');
    expect(JSON.parse(file.metadata.resgrad!).step).toBe(1);
  });
});

describe('loading against a different model says exactly what differs', () => {
  let path8: string;
  let path14: string;
  beforeAll(() => {
    path8 = join(dir, 'diff8.safetensors');
    path14 = join(dir, 'diff14.safetensors');
    const a = fresh(8);
    saveCheckpoint(path8, { params: a.params, state: a.state, optState: a.optState, step: 5 });
    const b = fresh(14);
    saveCheckpoint(path14, { params: b.params, state: b.state, optState: b.optState, step: 5 });
  });

  const problems = (e: Error) => e.message.split('\n').slice(1).map((l) => l.trim());

  it('mismatched shapes (another number of classes)', () => {
    const e = thrown(() => loadCheckpoint(path8, fresh(8, 5)));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message.split('\n')[0]).toBe(`${path8} does not match the model:`);
    expect(problems(e)).toEqual([
      'fc.weight: file has float32[10, 64], model expects float32[5, 64]',
      'fc.bias: file has float32[10], model expects float32[5]',
      'optimizer.momentum.fc.weight: file has float32[10, 64], model expects float32[5, 64]',
      'optimizer.momentum.fc.bias: file has float32[10], model expects float32[5]',
    ]);
  });

  it('missing tensors (a deeper model than the file)', () => {
    const template = fresh(14);
    const e = thrown(() => loadCheckpoint(path8, template));
    const want = [
      ...flattenNamed(template.params),
      ...flattenNamed(template.state),
      ...flattenNamed(template.optState).map(([n, t]) => [`optimizer.${n}`, t] as const),
    ]
      .filter(([n]) => /^(optimizer\.momentum\.)?layer\d\.1\./.test(n))
      .map(([n, t]) => `missing ${n} (expected ${t.dtype}[${t.shape.join(', ')}])`);
    expect(want.length).toBeGreaterThan(20);
    expect(problems(e)).toEqual(want);
  });

  it('unexpected tensors (a shallower model than the file)', () => {
    const e = thrown(() => loadCheckpoint(path14, fresh(8)));
    const file14 = fresh(14);
    const want = [...flattenNamed(file14.params), ...flattenNamed(file14.state), ...flattenNamed(file14.optState).map(([n, t]) => [`optimizer.${n}`, t] as const)]
      .map(([n]) => n)
      .filter((n) => /^(optimizer\.momentum\.)?layer\d\.1\./.test(n))
      .map((n) => `unexpected ${n} in the file`);
    expect(new Set(problems(e))).toEqual(new Set(want));
    expect(problems(e).length).toBe(want.length);
  });

  it('PyTorch state dicts load: num_batches_tracked (I64) is ignored, optimizer tensors skipped without a template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'resgrad-torch-'));
    const params = { bn1: { weight: tensor([1, 2]), bias: tensor([0, 0]) } };
    const state = { bn1: { running_mean: tensor([0, 0]), running_var: tensor([1, 1]) } };
    const file = join(dir, 'torch.safetensors');
    const i64 = new Uint8Array(8); // PyTorch writes num_batches_tracked as a 0-d I64
    const header = JSON.stringify({
      'bn1.weight': { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      'bn1.bias': { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      'bn1.running_mean': { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      'bn1.running_var': { dtype: 'F32', shape: [2], data_offsets: [24, 32] },
      'bn1.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [32, 40] },
    });
    const h = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + h.length + 40);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    bytes.set(new Uint8Array(new Float32Array([3, 4, 5, 6, 7, 8, 9, 10]).buffer), 8 + h.length);
    bytes.set(i64, 8 + h.length + 32);
    writeFileSync(file, bytes);
    const back = loadCheckpoint(file, { params, state });
    expect((back.params as typeof params).bn1.weight.toArray()).toEqual([3, 4]);
    expect((back.state as typeof state).bn1.running_var.toArray()).toEqual([9, 10]);
  });

  it('mismatched dtypes', () => {
    const params = { w: tensor([1, 2], { dtype: 'float64' }) };
    const path = join(dir, 'f64.safetensors');
    saveCheckpoint(path, { params, state: {}, step: 0 });
    const e = thrown(() => loadCheckpoint(path, { params: { w: tensor([0, 0]) }, state: {} }));
    expect(problems(e)).toEqual(['w: file has float64[2], model expects float32[2]']);
  });

  it('a missing or corrupt file is a CheckpointError naming the file', () => {
    const missing = join(dir, 'nope.safetensors');
    const e = thrown(() => loadCheckpoint(missing, fresh()));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(`cannot read checkpoint ${missing}`);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, readFileSync(path8).subarray(0, 100));
    const e2 = thrown(() => loadCheckpoint(bad, fresh()));
    expect(e2).toBeInstanceOf(CheckpointError);
    expect(e2.message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a valid safetensors file: header length \\d+ runs past the end of the 100-byte file$`));
  });
});

describe('atomic writes', () => {
  const ckpt = () => ({ params: { w: tensor([1, 2, 3]) }, state: {}, step: 1 });

  it('a successful save leaves exactly the file (no temporary files), also when overwriting', () => {
    const sub = join(dir, 'atomic-ok');
    mkdirSync(sub);
    const path = join(sub, 'last.safetensors');
    saveCheckpoint(path, ckpt());
    expect(readdirSync(sub)).toEqual(['last.safetensors']);
    saveCheckpoint(path, { ...ckpt(), step: 2 });
    expect(readdirSync(sub)).toEqual(['last.safetensors']);
    expect(loadCheckpoint(path, { params: ckpt().params, state: {} }).step).toBe(2);
  });

  it('writing into a folder that does not exist fails and creates nothing', () => {
    const path = join(dir, 'no-such-folder', 'x.safetensors');
    expect(() => saveCheckpoint(path, ckpt())).toThrow(/ENOENT/);
    expect(readdirSync(dir)).not.toContain('no-such-folder');
  });

  for (const fault of ['write', 'fsync'] as const) {
    it(`a ${fault} that fails midway leaves the existing checkpoint intact and no temporary file`, () => {
      const sub = join(dir, `atomic-${fault}`);
      mkdirSync(sub);
      const path = join(sub, 'last.safetensors');
      saveCheckpoint(path, ckpt());
      const before = readFileSync(path);
      try {
        if (fault === 'write') faults.writeAfter = 40;
        else faults.fsync = true;
        expect(() => saveCheckpoint(path, { params: { w: tensor([9, 9, 9, 9]) }, state: {}, step: 2 })).toThrow(/ENOSPC/);
      } finally {
        faults.writeAfter = -1;
        faults.fsync = false;
      }
      expect(readdirSync(sub)).toEqual(['last.safetensors']);
      expect(Buffer.compare(readFileSync(path), before)).toBe(0);
      expect(loadCheckpoint(path, { params: ckpt().params, state: {} }).step).toBe(1);
    });
  }

  it('writeFileAtomic writes the bytes', () => {
    const path = join(dir, 'raw.bin');
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
  });
});

// ----- the parser -----

/** A file from a header object (or raw header text) and data bytes; `headerLen` overrides the length field. */
function build(header: unknown, data: Uint8Array | number[] = [], headerLen?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  const d = data instanceof Uint8Array ? data : new Uint8Array(data);
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

function parseError(bytes: Uint8Array): string {
  const r = parseSafetensors(bytes);
  if (r.ok) return expect.fail('expected the parser to reject the file');
  expect(typeof r.error).toBe('string');
  return r.error;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('parseSafetensors rejects malformed files with a clear error', () => {
  it('a file shorter than the length field', () => {
    expect(parseError(new Uint8Array(5))).toBe('file is 5 bytes, shorter than the 8-byte header length');
  });
  it('header length beyond the file', () => {
    const good = build({ a: f32([1], 0, 4) }, [0, 0, 0, 0]);
    new DataView(good.buffer).setBigUint64(0, BigInt(good.length), true);
    expect(parseError(good)).toMatch(/header length \d+ runs past the end of the \d+-byte file/);
  });
  it('an oversized header length, before anything is read or allocated', () => {
    const bytes = build('{}', [], BigInt(MAX_HEADER_BYTES) + 1n);
    expect(parseError(bytes)).toBe(`header length ${MAX_HEADER_BYTES + 1} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    expect(parseError(build('{}', [], 2n ** 64n - 1n))).toMatch(/exceeds the \d+-byte limit/);
  });
  it('bad JSON, invalid UTF-8, a header that is not an object', () => {
    expect(parseError(build('{"a": '))).toMatch(/^header is not valid UTF-8 JSON \(/);
    const bytes = build('{"a":1}');
    bytes[9] = 0xff;
    expect(parseError(bytes)).toMatch(/^header is not valid UTF-8 JSON/);
    expect(parseError(build('[1, 2]'))).toBe('header must be a JSON object');
    expect(parseError(build('null'))).toBe('header must be a JSON object');
  });
  it('offsets out of range', () => {
    expect(parseError(build({ a: f32([2], 0, 8) }, [0, 0, 0, 0]))).toBe("tensor 'a' data_offsets [0, 8] lie outside the 4-byte data section");
    expect(parseError(build({ a: f32([1], 4, 0) }, [0, 0, 0, 0]))).toMatch(/tensor 'a' data_offsets \[4, 0\] lie outside/);
  });
  it('invalid offsets and shapes', () => {
    expect(parseError(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, [0, 0, 0, 0]))).toBe("tensor 'a' has invalid data_offsets [0,4,8]");
    expect(parseError(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4] } }, [0, 0, 0, 0]))).toMatch(/invalid data_offsets/);
    expect(parseError(build({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, [0, 0, 0, 0]))).toMatch(/invalid data_offsets/);
    expect(parseError(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toBe("tensor 'a' has an invalid shape [-1]");
    expect(parseError(build({ a: { dtype: 'F32', shape: 'big', data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toMatch(/invalid shape "big"/);
    expect(parseError(build({ a: 3 }))).toBe("entry 'a' must be an object");
  });
  it('overlapping offsets', () => {
    const e = parseError(build({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)));
    expect(e).toBe("tensor 'b' data [4, 12] overlaps the previous tensor (ending at 8)");
  });
  it('holes and trailing bytes', () => {
    expect(parseError(build({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)))).toBe(
      "the data section has a hole at bytes [4, 8) before tensor 'b'",
    );
    expect(parseError(build({ a: f32([1], 4, 8) }, new Uint8Array(8)))).toBe("the data section has a hole at bytes [0, 4) before tensor 'a'");
    expect(parseError(build({ a: f32([1], 0, 4) }, new Uint8Array(6)))).toBe('the data section has 2 trailing bytes not owned by any tensor');
  });
  it('unknown dtypes, including names of Object.prototype members', () => {
    for (const dtype of ['F8_E4M3', 'float32', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])
      expect(parseError(build({ a: { dtype, shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0])), dtype).toMatch(
        new RegExp(`^tensor 'a' has unknown or unsupported dtype "${dtype}" \\(supported: F32, F64, I32, BOOL, F16, BF16, I64\\)$`),
      );
    expect(parseError(build({ a: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]))).toMatch(/unknown or unsupported dtype 4/);
  });
  it('a size that disagrees with the shape', () => {
    expect(parseError(build({ a: f32([1], 0, 8) }, new Uint8Array(8)))).toBe("tensor 'a' spans 8 bytes but F32[1] needs 4");
    expect(parseError(build({ a: f32([3], 0, 8) }, new Uint8Array(8)))).toBe("tensor 'a' of shape [3] needs more bytes than the data section holds");
    expect(parseError(build({ a: f32([2, 1e15], 0, 8) }, new Uint8Array(8)))).toMatch(/needs more bytes than the data section holds/);
  });
  it('BOOL bytes other than 0 and 1', () => {
    expect(parseError(build({ a: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [1, 0, 2]))).toBe(
      "tensor 'a': BOOL element 2 has byte value 2 (expected 0 or 1)",
    );
  });
  it('I64 values outside int32', () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 2n ** 40n, true);
    expect(parseError(build({ a: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data))).toBe(
      "tensor 'a': I64 element 1 (1099511627776) does not fit int32",
    );
  });
  it('metadata that is not an object of strings', () => {
    expect(parseError(build({ __metadata__: { a: 1 } }))).toBe('__metadata__.a must be a string, got number');
    expect(parseError(build({ __metadata__: [] }))).toBe('__metadata__ must be an object of strings');
  });
  it('deeply nested JSON values in a header give an error, not a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      const entry = { dtype: '"F32"', shape: '[1]', data_offsets: '[0, 4]', [field]: deep };
      const text = `{"a": {"dtype": ${entry.dtype}, "shape": ${entry.shape}, "data_offsets": ${entry.data_offsets}}}`;
      expect(parseError(build(text, [0, 0, 0, 0])), field).toMatch(new RegExp(`^tensor 'a' has (unknown or unsupported dtype|an invalid shape|invalid data_offsets)`));
    }
  });
  it('reads F16, BF16 and I64 (as PyTorch writes them) into float32 and int32', () => {
    const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000]);
    const bf = new Uint16Array([0x3f80, 0xc0a0]);
    const i64 = new BigInt64Array([-5n, 2147483647n]);
    const data = new Uint8Array(12 + 4 + 16);
    data.set(new Uint8Array(half.buffer), 0);
    data.set(new Uint8Array(bf.buffer), 12);
    data.set(new Uint8Array(i64.buffer), 16);
    const r = parseSafetensors(
      build(
        {
          h: { dtype: 'F16', shape: [6], data_offsets: [0, 12] },
          g: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
          n: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
        },
        data,
      ),
    );
    if (!r.ok) return expect.fail(r.error);
    const h = r.value.tensors.get('h')!;
    expect(h.dtype).toBe('float32');
    expect(Array.from(h.data)).toEqual([1, -2, 65504, 2 ** -24, Infinity, -0]);
    expect(Array.from(r.value.tensors.get('g')!.data)).toEqual([1, -5]);
    const n = r.value.tensors.get('n')!;
    expect(n.dtype).toBe('int32');
    expect(Array.from(n.data)).toEqual([-5, 2147483647]);
  });
});

// ----- fuzzing -----

const DTYPE_CODE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };
const BYTES: Record<string, number> = { F32: 4, F64: 8, I32: 4, BOOL: 1, F16: 2, BF16: 2, I64: 8 };

function baseFile(): Uint8Array {
  return encodeSafetensors(
    [
      ['conv.weight', { dtype: 'float32', shape: [2, 1, 2, 2], data: new Float32Array([1, 2, 3, 4, -1, -2, -3, -4]) }],
      ['bn.running_var', { dtype: 'float64', shape: [2], data: new Float64Array([0.5, 2]) }],
      ['step', { dtype: 'int32', shape: [], data: new Int32Array([77]) }],
      ['mask', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
      ['empty', { dtype: 'float32', shape: [0], data: new Float32Array(0) }],
    ],
    { format: 'pt', resgrad: '{"step":1}' },
  );
}

type Mutation =
  | { kind: 'flip'; edits: { at: number; xor: number }[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; remove: number; insert: number[] }
  | { kind: 'headerLength'; value: bigint }
  | { kind: 'headerDelta'; delta: number }
  | { kind: 'digit'; at: number; digit: number };

const frac = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), edits: fc.array(fc.record({ at: frac, xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }) }).map((m) => ({
    kind: m.kind,
    edits: m.edits.map((e) => ({ at: e.at, xor: e.xor })),
  })) as fc.Arbitrary<Mutation>,
  fc.record({ kind: fc.constant('truncate' as const), at: frac }) as fc.Arbitrary<Mutation>,
  fc.record({
    kind: fc.constant('splice' as const),
    at: frac,
    remove: fc.integer({ min: 0, max: 16 }),
    insert: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }),
  }) as fc.Arbitrary<Mutation>,
  fc.record({ kind: fc.constant('headerLength' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }) as fc.Arbitrary<Mutation>,
  fc.record({ kind: fc.constant('headerDelta' as const), delta: fc.integer({ min: -16, max: 16 }) }) as fc.Arbitrary<Mutation>,
  fc.record({ kind: fc.constant('digit' as const), at: frac, digit: fc.integer({ min: 0, max: 9 }) }) as fc.Arbitrary<Mutation>,
);

function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const b = src.slice();
  if (b.length < 8 && (m.kind === 'headerLength' || m.kind === 'headerDelta' || m.kind === 'digit')) return b;
  const pos = (f: number, n = b.length) => Math.floor(f * n);
  switch (m.kind) {
    case 'flip':
      for (const e of m.edits) b[pos(e.at)]! ^= e.xor;
      return b;
    case 'truncate':
      return b.slice(0, pos(m.at));
    case 'splice': {
      const at = pos(m.at);
      return new Uint8Array([...b.slice(0, at), ...m.insert, ...b.slice(at + m.remove)]);
    }
    case 'headerLength':
      new DataView(b.buffer).setBigUint64(0, m.value, true);
      return b;
    case 'headerDelta': {
      const v = new DataView(b.buffer);
      const n = v.getBigUint64(0, true) + BigInt(m.delta);
      v.setBigUint64(0, n < 0n ? 0n : n, true);
      return b;
    }
    case 'digit': {
      // Rewrite one digit of the header text: shapes and offsets change, the JSON stays valid.
      const n = Number(new DataView(b.buffer).getBigUint64(0, true));
      const digits: number[] = [];
      for (let i = 8; i < Math.min(8 + n, b.length); i++) if (b[i]! >= 0x30 && b[i]! <= 0x39) digits.push(i);
      if (digits.length) b[digits[pos(m.at, digits.length)]!] = 0x30 + m.digit;
      return b;
    }
  }
}

/** What an accepted file must satisfy: every tensor is exactly the bytes its header entry names. */
function checkConsistent(bytes: Uint8Array, file: { tensors: Map<string, StoredTensor>; metadata: Record<string, string> }) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  expect([...file.tensors.keys()].sort()).toEqual(names.sort());
  for (const [name, t] of file.tensors) {
    const e = header[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    expect(t.shape).toEqual(e.shape);
    expect(t.data.length).toBe(count);
    const wantArray = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array }[t.dtype];
    expect(t.data).toBeInstanceOf(wantArray);
    expect(e.data_offsets[1] - e.data_offsets[0]).toBe(count * BYTES[e.dtype]!);
    if (t.dtype === 'bool') expect(Array.from(t.data).every((v) => v === 0 || v === 1)).toBe(true);
    if (e.dtype === DTYPE_CODE[t.dtype]) {
      // Stored natively: the data are the file's bytes.
      const raw = bytes.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
      expect(sameBytes(t.data, new (wantArray as new (b: ArrayBuffer) => TypedArray)(raw.slice().buffer))).toBe(true);
    }
  }
  for (const v of Object.values(file.metadata)) expect(typeof v).toBe('string');
}

describe('parseSafetensors on fast-check-mutated files', () => {
  it('only ever returns { ok: true } with consistent data or { ok: false, error: string }, never throws', () => {
    const base = baseFile();
    expect(parseSafetensors(base).ok).toBe(true);
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (ms) => {
        const bytes = ms.reduce(mutate, base);
        let r: ReturnType<typeof parseSafetensors>;
        try {
          r = parseSafetensors(bytes);
        } catch (e) {
          throw new Error(`parseSafetensors threw: ${(e as Error).message}`);
        }
        if (r.ok) {
          accepted++;
          checkConsistent(bytes, r.value);
        } else {
          rejected++;
          expect(typeof r.error).toBe('string');
          expect(r.error.length).toBeGreaterThan(0);
          expect(r.error.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 1500 },
    );
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(100);
  });

  it('a file read from a Buffer with a non-zero byteOffset parses the same', () => {
    const base = baseFile();
    const pool = Buffer.alloc(base.length + 13);
    pool.set(base, 13);
    const r = parseSafetensors(pool.subarray(13));
    expect(r.ok).toBe(true);
    if (r.ok) checkConsistent(base, r.value);
  });
});
