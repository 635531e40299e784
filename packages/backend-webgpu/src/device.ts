// Device acquisition: `navigator.gpu` where the host provides WebGPU (browsers, Deno), else
// Dawn through the `webgpu` npm package (Node). Every failure becomes a reason naming what is
// missing, for the registry's `{ unavailable }`.
/// <reference types="@webgpu/types" />

/** An acquired device with what the backend needs to know about it. */
export interface AcquiredDevice {
  /**
   * The GPU entry point the device came from. Holders must keep it reachable as long as the
   * device lives: in Dawn's Node binding, a garbage-collected GPU object destroys its native
   * instance while an already scheduled ProcessEvents callback still uses it (use after free:
   * SIGSEGV or a failed mutex assertion in dawn::native::InstanceBase::ProcessEvents).
   */
  readonly gpu: GPU;
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  /** "vendor architecture device (description)" as the adapter reports it. */
  readonly description: string;
  /** Where the WebGPU implementation came from. */
  readonly source: 'navigator.gpu' | 'webgpu (Dawn)';
}

/** Options of {@link acquireDevice}. */
export interface AcquireOptions {
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * Dawn toggles for the `webgpu` package's `create()` (Node only), e.g. `['backend=vulkan']`.
   * Default: the comma-separated list in RESGRAD_WEBGPU_DAWN, else none.
   */
  readonly dawnOptions?: readonly string[];
  /**
   * Optional device features to request where the adapter offers them (default
   * {@link OPTIONAL_FEATURES}); `[]` requests none, for a baseline device.
   */
  readonly features?: readonly GPUFeatureName[];
}

/**
 * Features the backend can use when present: 'subgroups' (reductions combine partials with
 * subgroup operations) and 'shader-f16' (the opt-in f16 matmul tiles). Requesting a feature
 * costs nothing where it is unused.
 */
export const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['subgroups', 'shader-f16'];

/** Limits the backend raises to the adapter's maximum (the defaults are far lower). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

async function gpuEntry(opts: AcquireOptions): Promise<{ gpu: GPU; source: AcquiredDevice['source'] } | { unavailable: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu' };
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) return { unavailable: 'this JavaScript host has no navigator.gpu (WebGPU is disabled or unsupported)' };
  let mod: { create(options: string[]): GPU };
  try {
    // A variable specifier keeps bundlers for the browser from resolving the Node-only package.
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    return {
      unavailable:
        `no navigator.gpu and the 'webgpu' npm package (Dawn, pinned at 0.6.2) failed to load: ${(e as Error).message.split('\n')[0]}` +
        ' (install it; versions 0.5.0 and 0.6.1 need a newer libstdc++ than Debian 12 has)',
    };
  }
  const env = typeof process !== 'undefined' ? process.env?.RESGRAD_WEBGPU_DAWN : undefined;
  const options = opts.dawnOptions ?? (env ? env.split(',').filter(Boolean) : []);
  try {
    return { gpu: mod.create([...options]), source: 'webgpu (Dawn)' };
  } catch (e) {
    return { unavailable: `Dawn's create(${JSON.stringify(options)}) failed: ${(e as Error).message}` };
  }
}

/** Describes an adapter in one line. */
export function describeAdapter(adapter: GPUAdapter): string {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s);
  const desc = info.description ? ` (${info.description})` : '';
  return `${parts.join(' ') || 'unnamed adapter'}${desc}`;
}

/**
 * Acquires a WebGPU device with the adapter's maximum storage and compute limits, or says why
 * none is available (no WebGPU implementation, no adapter: no GPU and no CPU driver).
 */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice | { unavailable: string }> {
  const entry = await gpuEntry(opts);
  if ('unavailable' in entry) return entry;
  let adapter: GPUAdapter | null;
  try {
    adapter = await entry.gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : {});
  } catch (e) {
    return { unavailable: `${entry.source}: requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) {
    const hint =
      entry.source === 'webgpu (Dawn)'
        ? ': no GPU driver found by Dawn (on a machine without a GPU, run scripts/setup-webgpu-adapter.sh and set VK_ICD_FILENAMES and LD_LIBRARY_PATH as it prints, for the SwiftShader CPU adapter)'
        : ': the browser exposes WebGPU but found no usable GPU';
    return { unavailable: `no WebGPU adapter${hint}` };
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const offered = adapter.features;
  const requiredFeatures = (opts.features ?? OPTIONAL_FEATURES).filter((f) => offered.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    // An adapter that lists a feature should grant it; if one does not, do without.
    if (!requiredFeatures.length) return { unavailable: `${entry.source}: requestDevice failed on ${describeAdapter(adapter)}: ${(e as Error).message}` };
    try {
      device = await adapter.requestDevice({ requiredLimits });
    } catch (e2) {
      return { unavailable: `${entry.source}: requestDevice failed on ${describeAdapter(adapter)}: ${(e2 as Error).message}` };
    }
  }
  return { gpu: entry.gpu, device, adapter, description: describeAdapter(adapter), source: entry.source };
}
