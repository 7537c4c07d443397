// The scan producer of examples/scan-bridge (and of the bridge's integration test): an
// eigenvalue scanner stand-in that writes one Arrow IPC file per scan with the official
// implementation (apache-arrow), renamed into place, numbered on from the last file
// in the directory.
//
//   node examples/scan-bridge/producer.mjs DIR [--every 1s] [--assets 500] [--columns 50]
//        [--keep 100] [--pause-file PATH]
//
// --pause-file: once PATH is touched (after this run started) the producer stays alive
// but writes nothing — a hung scanner, for the demo of vigil's `stale` rule; a run
// started after the touch (vigil's restart) writes again. --keep: older files go.
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { scanTable, writeScan } = await import(join(here, '../../bench/arrow/gen.mjs'));

const args = process.argv.slice(2);
const dir = args[0];
if (!dir || dir.startsWith('--')) {
  console.error('usage: node producer.mjs DIR [--every 1s] [--assets N] [--columns N] [--keep N] [--pause-file PATH]');
  process.exit(2);
}
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i > 0 && i + 1 < args.length ? args[i + 1] : def;
};
function ms(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] || 's']);
}
const every = ms(opt('--every', '1s'));
const assets = Number(opt('--assets', '500')), columns = Number(opt('--columns', '50'));
const keep = Number(opt('--keep', '100'));
const pause = opt('--pause-file', null);

const numbered = () => readdirSync(dir).map((f) => /^scan-(\d+)\.arrow$/.exec(f)).filter(Boolean)
  .map((m) => Number(m[1])).sort((a, b) => a - b);
let scan = (numbered().at(-1) ?? 0) + 1;
console.log(`producer: writing a ${assets}x${columns} scan every ${every}ms into ${resolve(dir)}, from #${scan}`);
let written = 0;
const started = Date.now();
const hung = () => {
  try { return statSync(pause).mtimeMs >= started; } catch { return false; }
};
setInterval(() => {
  if (pause && hung()) return; // alive, silent
  writeScan(join(dir, `scan-${String(scan).padStart(8, '0')}.arrow`), scanTable(scan, assets, columns));
  scan++;
  if (++written % 50 === 0) console.log(`producer: [OK] wrote ${written} scans. Latest: #${scan - 1}`);
  const all = numbered();
  for (const n of all.slice(0, Math.max(0, all.length - keep))) {
    try { unlinkSync(join(dir, `scan-${String(n).padStart(8, '0')}.arrow`)); } catch { /* gone */ }
  }
}, every);
