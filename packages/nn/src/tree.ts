import { type Tensor, treeFlatten, treeMap, treePaths, treeUnflatten } from '@resgrad/core';

/** Applies `f` to every tensor of a tree; `path` is the dotted name (`layer1.0.conv1.weight`). */
export function mapTree<T>(tree: T, f: (t: Tensor, path: string) => Tensor): T {
  return treeMap<T>(tree, f);
}

/** Applies `f` leafwise to trees of one structure. */
export function zipTrees<T>(trees: readonly T[], f: (leaves: Tensor[], path: string) => Tensor): T {
  if (trees.length === 0) throw new Error('zipTrees: expected at least one tree');
  const flats = trees.map((t) => treeFlatten(t, 'zipTrees'));
  const paths = treePaths(trees[0]);
  const n = flats[0]!.leaves.length;
  flats.forEach((fl, i) => {
    if (fl.leaves.length !== n) throw new Error(`zipTrees: tree ${i} has ${fl.leaves.length} tensors, tree 0 has ${n}`);
  });
  const out = flats[0]!.leaves.map((_, j) => f(flats.map((fl) => fl.leaves[j]!), paths[j]!));
  return treeUnflatten<T>(flats[0]!.def, out);
}

/** The tensors of a tree by dotted name, in a stable order. */
export function flattenNamed(tree: unknown): [string, Tensor][] {
  const { leaves } = treeFlatten(tree, 'flattenNamed');
  const paths = treePaths(tree);
  return leaves.map((t, i) => [paths[i]!, t]);
}

/** Rebuilds a nested tree from dotted names (numeric segments become object keys too). */
export function unflattenNamed(entries: Iterable<[string, Tensor]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, t] of entries) {
    const parts = name.split('.');
    let node = root;
    parts.slice(0, -1).forEach((p) => {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    });
    node[parts[parts.length - 1]!] = t;
  }
  return root;
}

/** Number of scalars in a tree's tensors. */
export function countParams(tree: unknown): number {
  return treeFlatten(tree, 'countParams').leaves.reduce((s, t) => s + t.size, 0);
}
