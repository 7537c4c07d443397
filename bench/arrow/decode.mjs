// bench/arrow/decode.mjs FILE [N]: the anchor — apache-arrow JS decoding FILE N times
// (default 2000) from memory: tableFromIPC, then (second figure) every value read:
// each float64 column summed from its typed array, each asset name made a string, as
// a consumer of the scan would. Prints one JSON line of timings in microseconds.
import * as A from 'apache-arrow';
import { readFileSync } from 'node:fs';

const [file, nArg = '2000'] = process.argv.slice(2);
const buf = readFileSync(file);
const n = +nArg;
function stats(xs) {
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)], p99: xs[Math.floor(xs.length * 0.99)] };
}
let sink = 0;
function decode(touch) {
  const t = A.tableFromIPC(buf);
  if (!touch) return t.numRows;
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name);
    if (f.type.typeId === A.Type.Float) {
      const a = v.toArray();
      for (let i = 0; i < a.length; i++) sink += a[i];
    } else if (f.type.typeId === A.Type.Utf8) {
      for (let i = 0; i < v.length; i++) sink += v.get(i).length;
    } else {
      for (let i = 0; i < v.length; i++) sink += Number(v.get(i) ?? 0) > 0 ? 1 : 0;
    }
  }
  return t.numRows;
}
const out = {};
for (const touch of [false, true]) {
  for (let i = 0; i < Math.min(200, n); i++) decode(touch); // warm up the JIT
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    decode(touch);
    xs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  out[touch ? 'read_all' : 'decode'] = stats(xs);
}
out.sink = sink > 0;
console.log(JSON.stringify(out));
