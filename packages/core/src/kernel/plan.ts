import type { DType } from '../dtype.js';
import type { Kernel, Slot } from './ir.js';

/** A temporary buffer to place: its id, element type and number of elements. */
export interface TempBuffer {
  readonly id: number;
  readonly dtype: DType;
  readonly size: number;
}

/**
 * The buffer plan: places every temporary in an arena slot so that two temporaries share a
 * slot only when their lifetimes (from the kernel that writes one to the last kernel that
 * reads it) are disjoint. A kernel's output never shares a slot with its own inputs: the
 * output is placed before the inputs that die at that kernel are released. Slots hold one
 * dtype; a dead slot is reused best-fit (the smallest big enough), else the largest free one
 * grows, else a new slot opens.
 */
export function planBuffers(kernels: readonly Kernel[], temps: readonly TempBuffer[]): { slotOf: Map<number, number>; slots: Slot[] } {
  const temp = new Map(temps.map((t) => [t.id, t]));
  const lastUse = new Map<number, number>();
  kernels.forEach((k, i) => {
    for (const a of k.args) if (temp.has(a)) lastUse.set(a, i);
  });
  const slots: { dtype: DType; size: number }[] = [];
  const free = new Set<number>();
  const slotOf = new Map<number, number>();
  kernels.forEach((k, i) => {
    const t = temp.get(k.out);
    if (t) {
      const slot = pick(slots, free, t);
      slotOf.set(t.id, slot);
      free.delete(slot);
      slots[slot]!.size = Math.max(slots[slot]!.size, t.size);
      // A temporary nobody reads dies at once.
      if (!lastUse.has(t.id)) free.add(slot);
    }
    for (const a of new Set(k.args)) if (lastUse.get(a) === i) free.add(slotOf.get(a)!);
  });
  return { slotOf, slots };
}

function pick(slots: { dtype: DType; size: number }[], free: Set<number>, t: TempBuffer): number {
  let best = -1;
  let largest = -1;
  for (const s of free) {
    const slot = slots[s]!;
    if (slot.dtype !== t.dtype) continue;
    if (slot.size >= t.size && (best < 0 || slot.size < slots[best]!.size)) best = s;
    if (largest < 0 || slot.size > slots[largest]!.size) largest = s;
  }
  if (best >= 0) return best;
  if (largest >= 0) return largest;
  slots.push({ dtype: t.dtype, size: t.size });
  return slots.length - 1;
}
