// Runs the CUDA kernels of scheduled programs on the host, so their *values* can be checked
// where there is no GPU: the translation unit the backend would hand to NVRTC is compiled as
// C++20 with a small shim for the CUDA built-ins it uses, and each thread block runs as 256 OS
// threads (a std::barrier per block for __syncthreads, one per warp for __shfl_down_sync,
// `__shared__` arrays as function statics: blocks run one after another). Buffers are laid out
// as the executable lays them out (temporaries share their arena slot), and launches use the
// backend's plans (library grids, split-K workspace); fused kernels get a small grid, which
// their grid-stride loops make correct for any size.
//
// It checks index arithmetic, the epilogue at the store, the reduction strategies and the
// launch plans; not the GPU's own rounding of math functions, nor timing, nor anything of the
// driver. Slow (an OS thread per CUDA thread): keep the shapes small.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { DType, Program, TypedArray } from '@resgrad/core';
import { CUDA_PRELUDE, renderCudaProgram } from '@resgrad/backend-cuda';

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };
const ARRAY = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;
/** Blocks given to a fused kernel (its grid-stride loop covers the rest). */
const FUSED_BLOCKS = 4;

/** The CUDA built-ins our kernels use, for a host C++ compiler. */
const SHIM = String.raw`#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <vector>
using std::abs; using std::cos; using std::exp; using std::fabs; using std::floor; using std::fmod; using std::log;
using std::max; using std::min; using std::pow; using std::sin; using std::sqrt; using std::tanh; using std::trunc;
struct rg_dim3 { unsigned int x, y, z; };
static thread_local rg_dim3 threadIdx, blockIdx;
static rg_dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static
static std::barrier<> *rg_block_barrier;
static std::barrier<> *rg_warp_barrier[32];
static unsigned long long rg_warp_slot[32][32];
static inline void __syncthreads() { rg_block_barrier->arrive_and_wait(); }
template <class T> static T __shfl_down_sync(unsigned, T v, int o) {
  static_assert(sizeof(T) <= 8, "shuffle of a wide type");
  const unsigned w = threadIdx.x / 32, lane = threadIdx.x % 32;
  std::memcpy(&rg_warp_slot[w][lane], &v, sizeof(T));
  rg_warp_barrier[w]->arrive_and_wait();
  T r = v;
  if (lane + o < 32) std::memcpy(&r, &rg_warp_slot[w][lane + o], sizeof(T));
  rg_warp_barrier[w]->arrive_and_wait();
  return r;
}
static inline float __fmaf_rn(float a, float b, float c) { return std::fmaf(a, b, c); }
static inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
static inline double __longlong_as_double(long long i) { double f; std::memcpy(&f, &i, 8); return f; }
static inline long long __double_as_longlong(double f) { long long i; std::memcpy(&i, &f, 8); return i; }
static inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }

template <class... P, std::size_t... I>
static void rg_call(void (*k)(P...), void *const *args, std::index_sequence<I...>) { k(static_cast<P>(args[I])...); }

/* One launch: blocks one after another, each as blockDim.x threads. */
template <class... P>
static void rg_launch(void (*k)(P...), unsigned gx, unsigned gy, unsigned gz, unsigned block, std::vector<void *> args) {
  if (args.size() != sizeof...(P)) { std::fprintf(stderr, "launch with %zu args, kernel takes %zu\n", args.size(), sizeof...(P)); std::exit(2); }
  blockDim = {block, 1, 1};
  gridDim = {gx, gy, gz};
  for (unsigned z = 0; z < gz; z++)
    for (unsigned y = 0; y < gy; y++)
      for (unsigned x = 0; x < gx; x++) {
        std::barrier<> bar(block);
        rg_block_barrier = &bar;
        std::vector<std::unique_ptr<std::barrier<>>> warps;
        for (unsigned w = 0; w < block / 32; w++) {
          warps.push_back(std::make_unique<std::barrier<>>(32));
          rg_warp_barrier[w] = warps.back().get();
        }
        std::vector<std::thread> threads;
        threads.reserve(block);
        void *const *a = args.data();
        for (unsigned t = 0; t < block; t++)
          threads.emplace_back([=] {
            threadIdx = {t, 0, 0};
            blockIdx = {x, y, z};
            rg_call(k, a, std::index_sequence_for<P...>{});
          });
        for (auto &th : threads) th.join();
      }
}

static void *rg_load(const char *dir, const char *name, size_t bytes) {
  void *p = std::calloc(1, bytes ? bytes : 1);
  char path[4096];
  std::snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = std::fopen(path, "rb");
  if (!f || std::fread(p, 1, bytes, f) != bytes) { std::fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, path); std::exit(2); }
  std::fclose(f);
  return p;
}

static void rg_save(const char *dir, const char *name, const void *p, size_t bytes) {
  char path[4096];
  std::snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = std::fopen(path, "wb");
  if (!f || std::fwrite(p, 1, bytes, f) != bytes) { std::fprintf(stderr, "cannot write %s\n", path); std::exit(2); }
  std::fclose(f);
}
`;

/** One program to emulate, with its input and const data (graph const order). */
export interface EmulatedCase {
  readonly program: Program;
  readonly inputs: readonly TypedArray[];
  readonly consts: readonly TypedArray[];
}

/** The C++ compiler: RESGRAD_CXX, else g++ or c++ on PATH; null when there is none. */
export function findCxx(): string | null {
  if (process.env.RESGRAD_CXX) return existsSync(process.env.RESGRAD_CXX) ? process.env.RESGRAD_CXX : null;
  for (const name of ['g++', 'c++'])
    for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

/** The runner of program `j`: its buffers, its launches in order, its outputs saved. */
function runner(j: number, p: Program): string {
  const rendered = renderCudaProgram(p, { prelude: false, prefix: `p${j}_k` });
  const bytes = (dtype: DType, n: number) => Math.max(1, n * BYTES[dtype]);
  const lines = [`static void run_p${j}(const char *dir) {`];
  p.slots.forEach((s, i) => lines.push(`  void *slot${i} = std::calloc(1, ${bytes(s.dtype, s.size)});`));
  for (const b of p.buffers) {
    const r = b.role;
    const value =
      r.kind === 'temp' ? `slot${r.slot}`
      : r.kind === 'output' ? `std::calloc(1, ${bytes(b.dtype, b.size)})`
      : `rg_load(dir, "p${j}_${r.kind}${r.index}", ${b.size * BYTES[b.dtype]})`;
    lines.push(`  void *b${b.id} = ${value};`);
  }
  const ws = Math.max(1, ...p.kernels.map((k, i) => {
    const plan = rendered.plans[i]!;
    return plan.kind === 'library' ? plan.workspace * BYTES[k.dtype] : 0;
  }));
  lines.push(`  void *ws = std::calloc(1, ${ws});`);
  p.kernels.forEach((k, i) => {
    const plan = rendered.plans[i]!;
    if (plan.kind === 'fused') {
      const f = plan.fused;
      if (f.units === 0) return;
      const blocks = Math.max(1, Math.min(FUSED_BLOCKS, Math.ceil((f.units * f.threadsPerUnit) / 256)));
      lines.push(`  rg_launch(${f.name}, ${blocks}, 1, 1, 256, {${[k.out, ...k.args].map((id) => `b${id}`).join(', ')}});`);
      return;
    }
    for (const l of plan.launches) {
      const args = l.args.map((a) => (a === 'out' ? `b${k.out}` : a === 'ws' ? 'ws' : `b${k.args[a]}`));
      lines.push(`  rg_launch(${l.fn}, ${l.grid.join(', ')}, ${l.block}, {${args.join(', ')}});`);
    }
  });
  p.outputs.forEach((id, i) => lines.push(`  rg_save(dir, "p${j}_out${i}", b${id}, ${p.buffers[id]!.size * BYTES[p.buffers[id]!.dtype]});`));
  lines.push('}');
  return `${rendered.source}\n${lines.join('\n')}\n`;
}

/** Emulates every case (one compile for all); returns each case's outputs. */
export function emulatePrograms(cxx: string, cases: readonly EmulatedCase[]): TypedArray[][] {
  const dir = mkdtempSync(join(tmpdir(), 'resgrad-cuda-emu-'));
  const source = [
    SHIM, CUDA_PRELUDE, ...cases.map((c, j) => runner(j, c.program)),
    `int main(int argc, char **argv) {`, `  if (argc < 2) return 2;`, ...cases.map((_, j) => `  run_p${j}(argv[1]);`), `  return 0;`, `}`,
  ].join('\n');
  writeFileSync(join(dir, 'emu.cpp'), source);
  cases.forEach((c, j) => {
    const write = (kind: string, i: number, a: TypedArray) => writeFileSync(join(dir, `p${j}_${kind}${i}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    c.inputs.forEach((a, i) => write('input', i, a));
    c.consts.forEach((a, i) => write('const', i, a));
  });
  const exe = join(dir, 'emu');
  // -ffp-contract=off: no FMA contraction, as the kernels are compiled (--fmad=false).
  const cc = spawnSync(cxx, ['-std=c++20', '-O1', '-pthread', '-w', '-ffp-contract=off', '-o', exe, join(dir, 'emu.cpp')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`emulatePrograms: ${cxx} failed on ${join(dir, 'emu.cpp')}:\n${(cc.stderr || cc.stdout).slice(0, 4000)}`);
  const run = spawnSync(exe, [dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`emulatePrograms: the emulator exited with ${run.status ?? run.signal}: ${run.stderr.slice(0, 2000)}`);
  return cases.map((c, j) =>
    c.program.outputs.map((id, i) => {
      const b = c.program.buffers[id]!;
      const raw = readFileSync(join(dir, `p${j}_out${i}.bin`));
      return new ARRAY[b.dtype](raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    }),
  );
}
