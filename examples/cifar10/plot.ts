// npm run plot -- RUN... [--out DIR] [--title TEXT]
// The paper's Fig. 6 (training error thin, test error bold, against iterations) for the given
// run folders, and Fig. 7 (layer responses) for those evaluated with --responses; SVG and PNG.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fail } from './cli.js';
import { fig6Spec, fig7Spec, readRun, svgToPng, toSvg } from './figures.js';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, title: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help || positionals.length === 0) {
  console.log('usage: npm run plot -- RUN_FOLDER... [--out DIR (default: figures)] [--title TEXT]');
  process.exit(values.help ? 0 : 2);
}
let runs;
try {
  runs = positionals.map((d) => readRun(d));
} catch (e) {
  fail((e as Error).message);
}
const out = values.out ?? 'figures';
mkdirSync(out, { recursive: true });
const write = async (name: string, spec: Parameters<typeof toSvg>[0]) => {
  const svg = await toSvg(spec);
  writeFileSync(join(out, `${name}.svg`), svg);
  writeFileSync(join(out, `${name}.png`), svgToPng(svg));
  console.log(`written ${join(out, name)}.svg and .png`);
};
await write('fig6-error', fig6Spec(runs, values.title));
if (runs.some((r) => r.responses?.length)) await write('fig7-responses', fig7Spec(runs.filter((r) => r.responses?.length)));
else console.log('no run has layer responses (run npm run evaluate -- RUN/last.safetensors --responses 1000 first); Fig. 7 skipped');
