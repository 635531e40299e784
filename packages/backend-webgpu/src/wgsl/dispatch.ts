// Thread structure shared by every kernel: a 1-d range of work items (invocations, or whole
// workgroups) spread over a 2-d grid of workgroups when one dimension cannot hold them
// (maxComputeWorkgroupsPerDimension, 65535 by default).

/** Workgroup counts of a dispatch. */
export interface Grid {
  readonly x: number;
  readonly y: number;
  readonly z?: number;
}

/** The grid covering `groups` workgroups with at most `maxPerDim` per dimension. */
export function gridFor(groups: number, maxPerDim: number): Grid {
  if (groups <= maxPerDim) return { x: Math.max(1, groups), y: 1 };
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim) throw new Error(`@resgrad/backend-webgpu: ${groups} workgroups exceed the adapter's ${maxPerDim}^2 grid`);
  return { x: Math.ceil(groups / y), y };
}

/** Entry-point builtins every kernel declares. */
export const ENTRY_ARGS =
  '@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u';

/** WGSL expression of the linear workgroup index on a 2-d grid. */
export const GROUP_INDEX = '(wid.y * nwg.x + wid.x)';
