// Which optional WGSL capabilities a backend's shaders use: decided once, from what the device
// was granted, what the WGSL implementation supports, and what the caller asked for.
//
// - Subgroup reductions: on by default wherever the device has 'subgroups' and WGSL has the
//   language features they need; results stay within the float32 sum tolerance (only the
//   order of the additions changes).
// - Reduced-precision GEMM tiles (f16): off by default, since float32 results would no longer
//   match float32 arithmetic; on through the `matmulPrecision` option or the
//   RESGRAD_WEBGPU_MATMUL_PRECISION environment variable, only where the device has 'shader-f16'.
// - Library epilogues (the elementwise chain after a matmul or convolution evaluated at the
//   library kernel's stores, wgsl/epilogue.ts): on by default; off through the
//   `libraryEpilogues` option or RESGRAD_WEBGPU_EPILOGUES=0, for A/B measurements. Values are the
//   same either way.
/// <reference types="@webgpu/types" />
import { SUBGROUP_LANGUAGE_FEATURES, type GemmTileFormat, type ShaderFeatures } from './wgsl/features.js';

/**
 * Precision of the float32 matmul and convolutions: 'f32' (exact float32 arithmetic, the
 * default) or 'f16' (operands rounded to f16 in the workgroup tiles, products and sums in f32:
 * faster where workgroup memory bandwidth or capacity limits the GEMM, at a relative error of
 * up to 2^-9 per product term and an f16 range, |x| <= 65504, for the operands).
 */
export type MatmulPrecision = 'f32' | 'f16';

/** The environment variable that selects the matmul precision when no option does. */
export const MATMUL_PRECISION_ENV = 'RESGRAD_WEBGPU_MATMUL_PRECISION';

/** What the caller asked for (see {@link WebGPUBackendOptions}). */
export interface FeatureRequest {
  /** Use subgroup operations where available (default true). */
  readonly subgroups?: boolean;
  /** Explicit matmul precision; when absent, {@link MATMUL_PRECISION_ENV}, else 'f32'. */
  readonly matmulPrecision?: MatmulPrecision;
  /** @internal Tests only: f16 tiles packed in u32 words (pack2x16float) instead of vec4<f16>. */
  readonly packedF16Tiles?: boolean;
}

/** What the device and the WGSL implementation offer. */
export interface FeatureSupport {
  /** The device's granted features (GPUDevice.features). */
  readonly device: ReadonlySet<string>;
  /** The WGSL language features (GPU.wgslLanguageFeatures; empty where the host lacks it). */
  readonly wgsl: ReadonlySet<string>;
  /** The adapter, in words, for messages. */
  readonly description: string;
}

/** The decision, and a one-line notice when a request from the environment could not be met. */
export interface FeatureDecision {
  readonly features: ShaderFeatures;
  readonly matmulPrecision: MatmulPrecision;
  readonly notice: string | null;
}

/** The environment variable that turns library epilogues off (`0`) when no option decides. */
export const EPILOGUES_ENV = 'RESGRAD_WEBGPU_EPILOGUES';

/** An environment variable, where there is an environment (not in browsers). */
function readEnv(name: string = MATMUL_PRECISION_ENV): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

/**
 * Whether a backend folds elementwise epilogues into its library kernels: `option` when given,
 * else {@link EPILOGUES_ENV} (`0` off, `1` or unset on), else on.
 */
export function decideLibraryEpilogues(option: boolean | undefined, env: string | undefined = readEnv(EPILOGUES_ENV)): boolean {
  if (option !== undefined) return option;
  if (env === undefined || env === '' || env === '1') return true;
  if (env === '0') return false;
  throw new Error(`@resgrad/backend-webgpu: ${EPILOGUES_ENV} must be 0 or 1, got ${JSON.stringify(env)}`);
}

function parsePrecision(value: string, where: string): MatmulPrecision {
  if (value === 'f32' || value === 'f16') return value;
  throw new Error(`@resgrad/backend-webgpu: ${where} must be 'f32' or 'f16', got ${JSON.stringify(value)}`);
}

/** Whether `support` allows the subgroup reduction. */
export function subgroupsAvailable(support: FeatureSupport): boolean {
  return support.device.has('subgroups') && SUBGROUP_LANGUAGE_FEATURES.every((f) => support.wgsl.has(f));
}

/**
 * Decides the shader features of a backend. An explicit `matmulPrecision: 'f16'` on a device
 * without 'shader-f16' throws; the same request from the environment variable gives f32 and
 * a notice (a variable set for a whole machine or CI should not break devices without f16).
 */
export function decideFeatures(request: FeatureRequest, support: FeatureSupport, env: string | undefined = readEnv()): FeatureDecision {
  const subgroups = (request.subgroups ?? true) && subgroupsAvailable(support);
  let precision: MatmulPrecision = 'f32';
  let notice: string | null = null;
  const hasF16 = support.device.has('shader-f16');
  if (request.matmulPrecision !== undefined) {
    precision = parsePrecision(request.matmulPrecision, 'the matmulPrecision option');
    if (precision === 'f16' && !hasF16 && !request.packedF16Tiles)
      throw new Error(
        `@resgrad/backend-webgpu: matmulPrecision 'f16' needs the WebGPU feature 'shader-f16', which the device on ${support.description} does not have; use 'f32'`,
      );
  } else if (env !== undefined && env !== '') {
    precision = parsePrecision(env, MATMUL_PRECISION_ENV);
    if (precision === 'f16' && !hasF16) {
      notice = `@resgrad/backend-webgpu: ${MATMUL_PRECISION_ENV}=f16 ignored: the device on ${support.description} has no 'shader-f16'; matmuls and convolutions run in f32`;
      precision = 'f32';
    }
  }
  const gemmTiles: GemmTileFormat = precision === 'f32' ? 'f32' : request.packedF16Tiles ? 'f16-packed' : 'f16';
  return { features: { subgroups, gemmTiles }, matmulPrecision: precision, notice };
}

/** The feature support of a device acquired from `gpu`. */
export function featureSupport(gpu: GPU, device: GPUDevice, description: string): FeatureSupport {
  const wgsl = (gpu as { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  return { device: new Set(device.features as unknown as Iterable<string>), wgsl: new Set(wgsl ?? []), description };
}
