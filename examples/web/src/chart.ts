// A small live line chart on a canvas: series of (x, y) points, linear axes fitted to the data.

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
  /** Line width in CSS pixels (default 1.5). */
  width?: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  /** Fixed y range; fitted to the data when absent. */
  yRange?: [number, number];
}

const PAD = { left: 48, right: 12, top: 24, bottom: 32 };

/** Round tick steps (1, 2 or 5 times a power of ten) giving about `count` ticks over [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count || 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** Draws the series on `canvas`, sized to its CSS box at the device's pixel ratio. */
export function drawChart(canvas: HTMLCanvasElement, series: readonly Series[], o: ChartOptions): void {
  const ratio = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || 480;
  const h = canvas.clientHeight || 240;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(1, ...xs);
  let [y0, y1] = o.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (w - PAD.left - PAD.right);
  const py = (y: number) => h - PAD.bottom - ((y - y0) / (y1 - y0)) * (h - PAD.top - PAD.bottom);

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#222';
  g.fillText(o.title, PAD.left, 14);
  g.strokeStyle = '#ddd';
  g.lineWidth = 1;
  g.fillStyle = '#555';
  for (const t of ticks(y0, y1)) {
    g.beginPath();
    g.moveTo(PAD.left, py(t));
    g.lineTo(w - PAD.right, py(t));
    g.stroke();
    g.fillText(String(t), 4, py(t) + 4);
  }
  for (const t of ticks(x0, x1, 6)) g.fillText(String(t), px(t) - 8, h - PAD.bottom + 14);
  g.fillText(o.xLabel, w - PAD.right - g.measureText(o.xLabel).width, h - 4);

  let legendX = PAD.left + g.measureText(o.title).width + 16;
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = s.width ?? 1.5;
    g.beginPath();
    s.points.forEach(([x, y], i) => (i ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y))));
    g.stroke();
    g.fillStyle = s.color;
    // A lone point has no line: mark it.
    if (s.points.length === 1) g.fillRect(px(s.points[0]![0]) - 2.5, py(s.points[0]![1]) - 2.5, 5, 5);
    g.fillRect(legendX, 7, 10, 3);
    g.fillText(s.label, legendX + 14, 14);
    legendX += 24 + g.measureText(s.label).width;
  }
}
