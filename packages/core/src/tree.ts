import { fail } from './errors.js';
import { Tensor } from './tensor.js';

/** A nested structure of arrays and plain objects whose leaves are tensors (other leaves are static). */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree } | number | string | boolean | null | undefined;

/** The structure of a tree without its tensors; static leaves are kept. */
export type TreeDef =
  | { kind: 'tensor' }
  | { kind: 'static'; value: unknown }
  | { kind: 'array'; children: TreeDef[] }
  | { kind: 'object'; keys: string[]; children: TreeDef[] };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Splits a tree into its tensor leaves (depth-first, keys in insertion order) and its structure. */
export function treeFlatten(tree: unknown, op = 'treeFlatten'): { leaves: Tensor[]; def: TreeDef } {
  const leaves: Tensor[] = [];
  const rec = (x: unknown, path: string): TreeDef => {
    if (x instanceof Tensor) {
      leaves.push(x);
      return { kind: 'tensor' };
    }
    if (Array.isArray(x)) return { kind: 'array', children: x.map((c, i) => rec(c, `${path}[${i}]`)) };
    if (isPlainObject(x)) {
      const keys = Object.keys(x);
      return { kind: 'object', keys, children: keys.map((k) => rec(x[k], path ? `${path}.${k}` : k)) };
    }
    if (x === null || x === undefined || ['number', 'string', 'boolean'].includes(typeof x)) return { kind: 'static', value: x };
    return fail(op, `unsupported value at ${path || 'the top level'} (${Object.prototype.toString.call(x)}): trees hold tensors, arrays, plain objects, numbers, strings, booleans and null`);
  };
  const def = rec(tree, '');
  return { leaves, def };
}

/** Rebuilds a tree from its structure and tensor leaves. */
export function treeUnflatten<T = Tree>(def: TreeDef, leaves: readonly Tensor[]): T {
  let i = 0;
  const rec = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'tensor':
        return leaves[i++];
      case 'static':
        return d.value;
      case 'array':
        return d.children.map(rec);
      case 'object': {
        const o: Record<string, unknown> = {};
        d.keys.forEach((k, j) => (o[k] = rec(d.children[j]!)));
        return o;
      }
    }
  };
  return rec(def) as T;
}

/** A string that identifies a tree structure (static leaves included), for caches. */
export function treeDefKey(def: TreeDef): string {
  switch (def.kind) {
    case 'tensor':
      return 'T';
    case 'static':
      return `S${JSON.stringify(def.value) ?? 'u'}`;
    case 'array':
      return `[${def.children.map(treeDefKey).join(',')}]`;
    case 'object':
      return `{${def.keys.map((k, j) => `${JSON.stringify(k)}:${treeDefKey(def.children[j]!)}`).join(',')}}`;
  }
}

/** The dotted path of every tensor leaf, in flatten order: `layer1.0.conv1.weight`. */
export function treePaths(tree: unknown): string[] {
  const out: string[] = [];
  const rec = (x: unknown, path: string) => {
    if (x instanceof Tensor) out.push(path);
    else if (Array.isArray(x)) x.forEach((c, i) => rec(c, path ? `${path}.${i}` : String(i)));
    else if (isPlainObject(x)) for (const k of Object.keys(x)) rec(x[k], path ? `${path}.${k}` : k);
  };
  rec(tree, '');
  return out;
}

/** Applies `f` to every tensor leaf, keeping the structure. */
export function treeMap<T = Tree>(tree: unknown, f: (t: Tensor, path: string) => Tensor): T {
  const { leaves, def } = treeFlatten(tree, 'treeMap');
  const paths = treePaths(tree);
  return treeUnflatten<T>(def, leaves.map((t, i) => f(t, paths[i]!)));
}
