// bench/arrow/gen.mjs OUT [--assets N] [--columns N] [--scan N] [--ts MS] [--stream]:
// an eigenvalue scan as the scanner writes it, with the official writer (apache-arrow):
// N assets (rows, default 500), N columns (default 50): asset (utf8), scan (int64,
// default 4228), ts (timestamp[ms, UTC], default now) and the rest float64 eigenvalue
// columns e0, e1, ... One record batch, written beside OUT and renamed into place.
// Used by bench/arrow, the bridge's integration test and examples/scan-bridge/.
import * as A from 'apache-arrow';
import { writeFileSync, renameSync } from 'node:fs';

export function scanTable(scan, assets = 500, columns = 50, tsMs = Date.now()) {
  const cols = {};
  cols.asset = A.vectorFromArray(Array.from({ length: assets }, (_, i) => `A${String(i).padStart(4, '0')}`), new A.Utf8());
  cols.scan = A.makeVector(BigInt64Array.from({ length: assets }, () => BigInt(scan)));
  cols.ts = A.makeVector(A.makeData({ type: new A.TimestampMillisecond('UTC'), length: assets,
    data: BigInt64Array.from({ length: assets }, () => BigInt(tsMs)) }));
  for (let c = 0; c < columns - 3; c++) {
    cols[`e${c}`] = A.makeVector(Float64Array.from({ length: assets }, (_, i) => Math.sin(scan * 7.1 + i * 0.37 + c) * (c + 1)));
  }
  return new A.Table(cols);
}

export function writeScan(path, table, stream = false) {
  const bytes = stream ? A.tableToIPC(table, 'stream') : A.tableToIPC(table, 'file');
  // written beside, then renamed into place: a reader never sees half a file
  writeFileSync(path + '.tmp', bytes);
  renameSync(path + '.tmp', path);
  return bytes.length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const out = args[0];
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i > 0 && i + 1 < args.length ? Number(args[i + 1]) : def;
  };
  if (!out || out.startsWith('--')) {
    console.error('usage: node bench/arrow/gen.mjs OUT [--assets N] [--columns N] [--scan N] [--ts MS] [--stream]');
    process.exit(2);
  }
  const assets = opt('--assets', 500), columns = opt('--columns', 50);
  const n = writeScan(out, scanTable(opt('--scan', 4228), assets, columns, opt('--ts', Date.now())), args.includes('--stream'));
  console.log(`gen: ${out}: ${assets} assets x ${columns} columns, ${n} bytes`);
}
