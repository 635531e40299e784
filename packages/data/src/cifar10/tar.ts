import type { Readable } from 'node:stream';

/**
 * Reads a (ustar or GNU) tar stream and hands over the files `want` selects, whole. Other
 * entries stream past without being kept. Throws a descriptive Error on a malformed or
 * truncated archive.
 */
export async function readTarEntries(
  stream: Readable | AsyncIterable<Uint8Array>,
  want: (name: string) => boolean,
  onEntry: (name: string, data: Uint8Array) => void,
): Promise<void> {
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  // State: reading a 512-byte header, or the body (+ padding to 512) of the current entry.
  let entry: { name: string; size: number; keep: boolean; parts: Uint8Array[]; got: number; skip: number } | null = null;
  let zeroBlocks = 0;
  let longName: string | null = null;
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let pos = 0;
    while (pos < n) {
      const head = pending[0]!;
      const k = Math.min(head.length, n - pos);
      out.set(head.subarray(0, k), pos);
      pos += k;
      if (k === head.length) pending.shift();
      else pending[0] = head.subarray(k);
    }
    pendingBytes -= n;
    return out;
  };
  const octal = (b: Uint8Array, off: number, len: number): number => {
    const s = new TextDecoder().decode(b.subarray(off, off + len)).replace(/\0.*$/s, '').trim();
    if (s === '') return 0;
    return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
  };
  const str = (b: Uint8Array, off: number, len: number) => new TextDecoder().decode(b.subarray(off, off + len)).replace(/\0.*$/s, '');
  let ended = false;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    if (ended) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (!entry) {
        if (pendingBytes < 512) break;
        const h = take(512);
        if (h.every((v) => v === 0)) {
          if (++zeroBlocks === 2) ended = true;
          if (ended) break;
          continue;
        }
        zeroBlocks = 0;
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
        if (sum !== octal(h, 148, 8)) throw new Error('tar: header checksum mismatch (not a tar archive, or corrupt)');
        const size = octal(h, 124, 12);
        if (!Number.isSafeInteger(size)) throw new Error('tar: malformed entry size in a header');
        const type = String.fromCharCode(h[156]!);
        const prefix = str(h, 345, 155);
        let name = prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100);
        if (longName !== null) {
          name = longName;
          longName = null;
        }
        const isFile = type === '0' || type === '\0';
        const isLongName = type === 'L';
        entry = { name, size, keep: isLongName || (isFile && want(name)), parts: [], got: 0, skip: (512 - (size % 512)) % 512 };
        (entry as { longName?: boolean }).longName = isLongName;
      }
      const e = entry;
      if (e.got < e.size) {
        if (pendingBytes === 0) break;
        const n = Math.min(pendingBytes, e.size - e.got);
        const part = take(n);
        if (e.keep) e.parts.push(part);
        e.got += n;
        if (e.got < e.size) break;
      }
      if (e.skip > 0) {
        if (pendingBytes < e.skip) break;
        take(e.skip);
        e.skip = 0;
      }
      if (e.keep) {
        const data = e.parts.length === 1 ? e.parts[0]! : concat(e.parts, e.size);
        if ((e as { longName?: boolean }).longName) longName = str(data, 0, data.length);
        else onEntry(e.name, data);
      }
      entry = null;
    }
  }
  if (entry) throw new Error(`tar: the archive ends inside ${entry.name} (${entry.got} of ${entry.size} bytes)`);
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
