/**
 * Writes a batch of network inputs: for example j, image `indices[j]` with the per-pixel mean
 * subtracted, times `scale`, and (when `words` is given) the paper's augmentation — pad 4 px
 * with zeros (in mean-subtracted units), take a 32x32 crop at (dy, dx) in [0, 8]^2 and flip
 * horizontally — all decided by one random word per example:
 * dy = w mod 9, dx = floor(w / 9) mod 9, flip = floor(w / 81) mod 2.
 *
 * Self-contained on purpose (no imports, no closures): worker threads run it from its
 * source text.
 */
export function fillBatch(
  images: Uint8Array,
  indices: Int32Array,
  words: Uint32Array | null,
  mean: Float32Array,
  scale: number,
  out: Float32Array,
): void {
  const S = 32;
  const P = 1024;
  for (let j = 0; j < indices.length; j++) {
    const src = indices[j]! * 3 * P;
    const dst = j * 3 * P;
    const w = words ? words[j]! : 0;
    const dy = words ? (w % 9) - 4 : 0;
    const dx = words ? (Math.floor(w / 9) % 9) - 4 : 0;
    const flip = words ? Math.floor(w / 81) % 2 === 1 : false;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        const sy = y + dy;
        const row = dst + c * P + y * S;
        if (sy < 0 || sy >= S) {
          for (let x = 0; x < S; x++) out[row + x] = 0;
          continue;
        }
        for (let x = 0; x < S; x++) {
          const sx = (flip ? S - 1 - x : x) + dx;
          if (sx < 0 || sx >= S) {
            out[row + x] = 0;
            continue;
          }
          const p = c * P + sy * S + sx;
          out[row + x] = (images[src + p]! - mean[p]!) * scale;
        }
      }
    }
  }
}
