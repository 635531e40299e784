// Optional WGSL capabilities a renderer may use. They are decided once per backend (see
// ../features.ts: what the device and the WGSL implementation offer, and what the caller asked
// for); the renderers only read the outcome and emit the matching directives, which must
// precede every declaration of a module (WGSL rejects `enable` after the prelude's functions).

/** What the renderers may use beyond core WGSL. */
export interface ShaderFeatures {
  /**
   * Reductions combine their invocations' partials with subgroup operations (subgroupAdd,
   * subgroupMax) instead of a tree in workgroup memory. Needs the device feature 'subgroups'
   * and the WGSL language features 'subgroup_id' (a slot per subgroup: nothing in WGSL ties
   * subgroups to local_invocation_index) and 'subgroup_uniformity' (subgroup operations under
   * a branch on subgroup_id).
   */
  readonly subgroups: boolean;
  /**
   * How the float32 GEMM (matmul, implicit-GEMM convolutions) stages its workgroup tiles:
   * 'f32' (exact: the default), 'f16' (vec4<f16>, needs the device feature 'shader-f16'), or
   * 'f16-packed' (the same f16 values packed two to a u32 with pack2x16float, core WGSL: for
   * tests of the f16 numerics on adapters without 'shader-f16'; no speed benefit).
   */
  readonly gemmTiles: GemmTileFormat;
}

/** The storage format of the float32 GEMM's workgroup tiles (see {@link ShaderFeatures.gemmTiles}). */
export type GemmTileFormat = 'f32' | 'f16' | 'f16-packed';

/** Core WGSL only: what every adapter runs. */
export const BASELINE_SHADER_FEATURES: ShaderFeatures = { subgroups: false, gemmTiles: 'f32' };

/** The WGSL language features the subgroup reduction needs (beside the 'subgroups' device feature). */
export const SUBGROUP_LANGUAGE_FEATURES = ['subgroup_id', 'subgroup_uniformity'] as const;

/** Module directives of a shader using subgroup operations. */
export const SUBGROUP_DIRECTIVES: readonly string[] = ['enable subgroups;', `requires ${SUBGROUP_LANGUAGE_FEATURES.join(', ')};`];

/** Module directives of a shader using the f16 type. */
export const F16_DIRECTIVES: readonly string[] = ['enable f16;'];
