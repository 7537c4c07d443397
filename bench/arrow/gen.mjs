// bench/arrow/gen.mjs OUT [ASSETS] [COLUMNS] [--stream]: an eigenvalue scan as the
// scanner writes it, with the official writer (apache-arrow): ASSETS rows (default
// 500), COLUMNS columns (default 50): asset (utf8), scan (int64), ts (timestamp[ms,
// UTC]) and COLUMNS-3 float64 eigenvalue columns e0, e1, ... One record batch.
// Also used by examples/scan-bridge/ as the producer (--scan N sets the scan number).
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
  const [out, assets = '500', columns = '50', ...rest] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node bench/arrow/gen.mjs OUT [ASSETS] [COLUMNS] [--stream]');
    process.exit(2);
  }
  const n = writeScan(out, scanTable(4228, +assets, +columns), rest.includes('--stream'));
  console.log(`gen: ${out}: ${assets} assets x ${columns} columns, ${n} bytes`);
}
