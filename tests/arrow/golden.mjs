// Golden Arrow files written by the official implementation (the apache-arrow npm
// package), and what vigil's reader must find in them.
//
//   node tests/arrow/golden.mjs OUTDIR [--fixtures]
//
// Writes, in OUTDIR:
//   types.arrow / types.stream   every type vigil reads (JS 18 has no large_list), nulls
//                                in every nullable column, three batches (7, 5, 300 rows), a dictionary
//                                that grows by deltas and one that does not
//   replace.stream               a stream whose dictionary is replaced between batches
//   empty.arrow                  a schema and no batch
//   NAME.expected.jsonl          one JSON object per row, in `vigil arrow cat --json`'s
//                                rendering, computed here from the raw values handed to
//                                the writer (not read back by anything)
//   NAME.schema.json             {"name": "type", ...} in arrow_format_type's spelling
// The values are raw buffers (makeData), so what the writer serialises is exactly what
// the expectations are computed from.
import * as A from 'apache-arrow';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node tests/arrow/golden.mjs OUTDIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

// ---- deterministic values ----
let seed = 12345;
function rnd() { // xorshift32 in [0, 1)
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}
const rint = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const isNull = (nullable, i) => nullable && (i % 4 === 1 || rnd() < 0.15);

// ---- expected renderings (must equal src/arrow/value.c) ----
function floordiv(a, b) {
  let q = a / b;
  if (a % b !== 0n && (a < 0n) !== (b < 0n)) q -= 1n;
  return q;
}
function civil(z) { // days since 1970-01-01 -> [y, m, d] (H. Hinnant's algorithm)
  z += 719468n;
  const era = floordiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  let y = yoe + era * 400n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  if (m <= 2n) y += 1n;
  return [y, m, d];
}
const pad = (v, n) => String(v).padStart(n, '0');
const PER = [1n, 1000n, 1000000n, 1000000000n];
const DIG = [0, 3, 6, 9];
function fmtTs(v, unit, dateOnlyIfMidnight = false) {
  v = BigInt(v);
  const secs = floordiv(v, PER[unit]), frac = v - secs * PER[unit];
  const days = floordiv(secs, 86400n), sod = secs - days * 86400n;
  const [y, m, d] = civil(days);
  let s = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
  if (dateOnlyIfMidnight && sod === 0n && frac === 0n) return JSON.stringify(s);
  s += `T${pad(sod / 3600n, 2)}:${pad((sod / 60n) % 60n, 2)}:${pad(sod % 60n, 2)}`;
  if (DIG[unit]) s += '.' + pad(frac, DIG[unit]);
  return JSON.stringify(s + 'Z');
}
function fmtTime(v, unit) {
  v = BigInt(v);
  const secs = floordiv(v, PER[unit]), frac = v - secs * PER[unit];
  let s = `${pad(secs / 3600n, 2)}:${pad((secs / 60n) % 60n, 2)}:${pad(secs % 60n, 2)}`;
  if (DIG[unit]) s += '.' + pad(frac, DIG[unit]);
  return JSON.stringify(s);
}
function fmtNum(x) {
  if (Number.isNaN(x)) return '"NaN"';
  if (x === Infinity) return '"Infinity"';
  if (x === -Infinity) return '"-Infinity"';
  return String(x);
}
const hex = (bytes) => '"' + Buffer.from(bytes).toString('hex') + '"';
function fmtDecimal(v, scale) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (scale > 0) {
    if (s.length <= scale) s = '0.' + '0'.repeat(scale - s.length) + s;
    else s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  }
  return JSON.stringify((neg ? '-' : '') + s);
}
function halfToNumber(h) {
  const e = (h >> 10) & 0x1f, m = h & 0x3ff;
  let v;
  if (e === 0) v = m * 2 ** -24;
  else if (e === 31) v = m ? NaN : Infinity;
  else v = (m + 1024) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

// ---- column builders: each returns {type, data, expected: [json text per row]} ----
function bitmap(valid) {
  const b = new Uint8Array(Math.ceil(valid.length / 8) || 1);
  valid.forEach((v, i) => { if (v) b[i >> 3] |= 1 << (i & 7); });
  return b;
}
function nullsOf(valid) { return valid.filter((v) => !v).length; }

// A fixed-width column from raw values; gen(i) returns the raw value, fmt(raw) its JSON.
function prim(type, Arr, n, nullable, gen, fmt) {
  const valid = [], raw = [];
  const data = new Arr(n);
  for (let i = 0; i < n; i++) {
    const ok = !isNull(nullable, i);
    const v = gen(i);
    valid.push(ok);
    raw.push(v);
    data[i] = v;
  }
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, data }),
    expected: raw.map((v, i) => (valid[i] ? fmt(v) : 'null')),
  };
}
function boolCol(n, nullable) {
  const valid = [], vals = [];
  for (let i = 0; i < n; i++) { valid.push(!isNull(nullable, i)); vals.push(rnd() < 0.5); }
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type: new A.Bool(), length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, data: bitmap(vals) }),
    expected: vals.map((v, i) => (valid[i] ? String(v) : 'null')),
  };
}
const WORDS = ['', 'a', 'BTC-USD', 'é', 'naïve café', '😀 emoji', 'quote " back \\ slash', 'tab\there', 'line\nbreak', 'ETH', 'x'.repeat(40)];
function varCol(type, n, nullable, large, binary) {
  const valid = [], vals = [];
  for (let i = 0; i < n; i++) {
    valid.push(!isNull(nullable, i));
    if (binary) vals.push(Uint8Array.from({ length: rint(0, 9) }, () => rint(0, 255)));
    else vals.push(Buffer.from(WORDS[rint(0, WORDS.length - 1)], 'utf8'));
  }
  const enc = vals.map((v, i) => (valid[i] ? v : new Uint8Array(0)));
  const total = enc.reduce((s, v) => s + v.length, 0);
  const data = new Uint8Array(total);
  const offs = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
  let o = 0;
  enc.forEach((v, i) => { offs[i] = large ? BigInt(o) : o; data.set(v, o); o += v.length; });
  offs[n] = large ? BigInt(o) : o;
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, valueOffsets: offs, data }),
    expected: vals.map((v, i) => (!valid[i] ? 'null' : binary ? hex(v) : JSON.stringify(Buffer.from(v).toString('utf8')))),
  };
}
function fsbCol(n, nullable) {
  const valid = [], data = new Uint8Array(4 * n);
  for (let i = 0; i < 4 * n; i++) data[i] = rint(0, 255);
  for (let i = 0; i < n; i++) valid.push(!isNull(nullable, i));
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type: new A.FixedSizeBinary(4), length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, data }),
    expected: valid.map((ok, i) => (ok ? hex(data.subarray(4 * i, 4 * i + 4)) : 'null')),
  };
}
function decimalCol(n, nullable) {
  const valid = [], vals = [];
  const words = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) {
    valid.push(!isNull(nullable, i));
    let v = BigInt(rint(0, 2 ** 30)) * BigInt(rint(0, 2 ** 30)) * (rnd() < 0.4 ? -1n : 1n);
    if (i === 0) v = 0n;
    if (i === 2) v = 5n; // 0.05
    if (i === 3) v = -99999999999999999999999999999999999999n;
    vals.push(v);
    let u = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++) { words[4 * i + k] = Number(u & 0xffffffffn); u >>= 32n; }
  }
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type: new A.Decimal(2, 38, 128), length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, data: words }),
    expected: vals.map((v, i) => (valid[i] ? fmtDecimal(v, 2) : 'null')),
  };
}
function listCol(n, nullable) {
  const valid = [], offs = new Int32Array(n + 1), child = [], exp = [];
  for (let i = 0; i < n; i++) {
    valid.push(!isNull(nullable, i));
    offs[i] = child.length;
    if (!valid[i]) { exp.push('null'); continue; }
    const k = rint(0, 4), items = [];
    for (let j = 0; j < k; j++) {
      const v = rnd() < 0.2 ? null : rint(-1000, 1000);
      child.push(v);
      items.push(v === null ? 'null' : String(v));
    }
    exp.push('[' + items.join(',') + ']');
  }
  offs[n] = child.length;
  const cvalid = child.map((v) => v !== null), cnc = nullsOf(cvalid);
  const cdata = A.makeData({ type: new A.Int32(), length: child.length, nullCount: cnc, nullBitmap: cnc ? bitmap(cvalid) : null,
    data: Int32Array.from(child, (v) => v ?? 0) });
  const nc = nullsOf(valid);
  const type = new A.List(new A.Field('item', new A.Int32(), true));
  return {
    data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, valueOffsets: offs, child: cdata }),
    expected: exp,
  };
}
function fixedListCol(n, nullable) {
  const valid = [], child = new Float64Array(3 * n), exp = [];
  for (let i = 0; i < 3 * n; i++) child[i] = Math.round(rnd() * 1e6) / 1e3 - 500;
  for (let i = 0; i < n; i++) {
    valid.push(!isNull(nullable, i));
    exp.push(valid[i] ? '[' + Array.from(child.subarray(3 * i, 3 * i + 3), fmtNum).join(',') + ']' : 'null');
  }
  const cdata = A.makeData({ type: new A.Float64(), length: 3 * n, nullCount: 0, data: child });
  const nc = nullsOf(valid);
  const type = new A.FixedSizeList(3, new A.Field('xyz', new A.Float64(), false));
  return { data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, child: cdata }), expected: exp };
}
function structCol(n, nullable) {
  const a = prim(new A.Int16(), Int16Array, n, true, () => rint(-30000, 30000), String);
  const b = varCol(new A.Utf8(), n, true, false, false);
  const c = listCol(n, true);
  const valid = [];
  for (let i = 0; i < n; i++) valid.push(!isNull(nullable, i));
  const nc = nullsOf(valid);
  const type = new A.Struct([new A.Field('a', new A.Int16(), true), new A.Field('b', new A.Utf8(), true),
    new A.Field('c', c.data.type, true)]);
  return {
    data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, children: [a.data, b.data, c.data] }),
    expected: valid.map((ok, i) => (ok ? `{"a":${a.expected[i]},"b":${b.expected[i]},"c":${c.expected[i]}}` : 'null')),
  };
}
function dictCol(type, n, nullable, dict, dictStrings) {
  const valid = [], idx = new (type.indices.ArrayType)(n);
  for (let i = 0; i < n; i++) {
    valid.push(!isNull(nullable, i));
    idx[i] = valid[i] ? rint(0, dictStrings.length - 1) : 0;
  }
  // the last delta's values are used in this batch, so the deltas are read for real
  if (n > 0 && valid[n - 1]) idx[n - 1] = dictStrings.length - 1;
  const nc = nullsOf(valid);
  return {
    data: A.makeData({ type, length: n, nullCount: nc, nullBitmap: nc ? bitmap(valid) : null, data: idx, dictionary: dict }),
    expected: Array.from(idx, (k, i) => (valid[i] ? JSON.stringify(dictStrings[k]) : 'null')),
  };
}

// ---- the "types" table ----
const U = { s: A.TimeUnit.SECOND, ms: A.TimeUnit.MILLISECOND, us: A.TimeUnit.MICROSECOND, ns: A.TimeUnit.NANOSECOND };
const T0 = 1764979200n; // 2025-12-06T00:00:00Z
const halves = [0x3c00, 0xbc00, 0x3e00, 0x7bff, 0x0001, 0x0400, 0x5640, 0xc900, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x3555];
const DELTA_DICT = [['alpha', 'beta'], ['gamma'], ['delta', 'epsilon', 'zeta']];
const dictDeltaType = new A.Dictionary(new A.Utf8(), new A.Int32(), 7);
const dictConstType = new A.Dictionary(new A.Utf8(), new A.Int8(), 8);
const CONST_DICT = ['buy', 'sell', 'hold'];
const constDict = A.vectorFromArray(CONST_DICT, new A.Utf8());
let deltaDict = null;

// name, type text (arrow_format_type), builder(n, batchIndex)
const columns = [
  ['i8', 'int8', (n) => prim(new A.Int8(), Int8Array, n, true, () => rint(-128, 127), String)],
  ['i16', 'int16', (n) => prim(new A.Int16(), Int16Array, n, true, () => rint(-32768, 32767), String)],
  ['i32', 'int32', (n) => prim(new A.Int32(), Int32Array, n, true, (i) => (i === 0 ? -2147483648 : rint(-2e9, 2e9)), String)],
  ['i64', 'int64', (n) => prim(new A.Int64(), BigInt64Array, n, true,
    (i) => (i === 0 ? -9223372036854775808n : i === 2 ? 9223372036854775807n : BigInt(rint(-1e9, 1e9)) * 1000003n), String)],
  ['u8', 'uint8', (n) => prim(new A.Uint8(), Uint8Array, n, true, () => rint(0, 255), String)],
  ['u16', 'uint16', (n) => prim(new A.Uint16(), Uint16Array, n, true, () => rint(0, 65535), String)],
  ['u32', 'uint32', (n) => prim(new A.Uint32(), Uint32Array, n, true, (i) => (i === 0 ? 4294967295 : rint(0, 4e9)), String)],
  ['u64', 'uint64', (n) => prim(new A.Uint64(), BigUint64Array, n, true,
    (i) => (i === 0 ? 18446744073709551615n : BigInt(rint(0, 4e9)) * 4000000007n), String)],
  ['f16', 'float16', (n) => prim(new A.Float16(), Uint16Array, n, true, (i) => halves[i % halves.length], (h) => fmtNum(halfToNumber(h)))],
  ['f32', 'float32', (n) => prim(new A.Float32(), Float32Array, n, true,
    (i) => Math.fround(i === 3 ? 3.4028234663852886e38 : (rnd() - 0.5) * 1e4), fmtNum)],
  ['f64', 'float64', (n) => prim(new A.Float64(), Float64Array, n, true,
    (i) => [0.1, -0, 1e300, 5e-324, NaN, Infinity, -Infinity][i] ?? (rnd() - 0.5) * 1e6, fmtNum)],
  ['bool', 'bool', (n) => boolCol(n, true)],
  ['utf8', 'utf8', (n) => varCol(new A.Utf8(), n, true, false, false)],
  ['large_utf8', 'large_utf8', (n) => varCol(new A.LargeUtf8(), n, true, true, false)],
  ['binary', 'binary', (n) => varCol(new A.Binary(), n, true, false, true)],
  ['large_binary', 'large_binary', (n) => varCol(new A.LargeBinary(), n, true, true, true)],
  ['fsb4', 'fixed_size_binary(4)', (n) => fsbCol(n, true)],
  ['dec', 'decimal128(38, 2)', (n) => decimalCol(n, true)],
  ['ts_s', 'timestamp[s]', (n) => prim(new A.TimestampSecond(), BigInt64Array, n, true, () => T0 + BigInt(rint(-1e8, 1e8)), (v) => fmtTs(v, U.s))],
  ['ts_ms_utc', 'timestamp[ms, tz=UTC]', (n) => prim(new A.TimestampMillisecond('UTC'), BigInt64Array, n, true,
    (i) => (i === 0 ? -1n : T0 * 1000n + BigInt(rint(-1e9, 1e9))), (v) => fmtTs(v, U.ms))],
  ['ts_us_paris', 'timestamp[us, tz=Europe/Paris]', (n) => prim(new A.TimestampMicrosecond('Europe/Paris'), BigInt64Array, n, true,
    () => T0 * 1000000n + BigInt(rint(-1e9, 1e9)) * 997n, (v) => fmtTs(v, U.us))],
  ['ts_ns', 'timestamp[ns, tz=+01:00]', (n) => prim(new A.TimestampNanosecond('+01:00'), BigInt64Array, n, false,
    () => T0 * 1000000000n + BigInt(rint(0, 1e9)) * 1000000007n, (v) => fmtTs(v, U.ns))],
  ['date32', 'date32', (n) => prim(new A.DateDay(), Int32Array, n, true, (i) => (i === 0 ? -1 : rint(-25000, 40000)), (v) => fmtTs(BigInt(v) * 86400n, U.s, true))],
  ['date64', 'date64', (n) => prim(new A.DateMillisecond(), BigInt64Array, n, true,
    (i) => BigInt(rint(-25000, 40000)) * 86400000n + (i === 2 ? 1234n : 0n), (v) => fmtTs(v, U.ms, true))],
  ['time32_s', 'time32[s]', (n) => prim(new A.TimeSecond(), Int32Array, n, true, () => rint(0, 86399), (v) => fmtTime(v, U.s))],
  ['time32_ms', 'time32[ms]', (n) => prim(new A.TimeMillisecond(), Int32Array, n, true, () => rint(0, 86399999), (v) => fmtTime(v, U.ms))],
  ['time64_us', 'time64[us]', (n) => prim(new A.TimeMicrosecond(), BigInt64Array, n, true, () => BigInt(rint(0, 86399999)) * 1000n + 999n, (v) => fmtTime(v, U.us))],
  ['time64_ns', 'time64[ns]', (n) => prim(new A.TimeNanosecond(), BigInt64Array, n, true, () => BigInt(rint(0, 86399999)) * 1000000n + 7n, (v) => fmtTime(v, U.ns))],
  ['dur_s', 'duration[s]', (n) => prim(new A.DurationSecond(), BigInt64Array, n, true, () => BigInt(rint(-1e9, 1e9)), String)],
  ['dur_ms', 'duration[ms]', (n) => prim(new A.DurationMillisecond(), BigInt64Array, n, true, () => BigInt(rint(-1e9, 1e9)), String)],
  ['dur_us', 'duration[us]', (n) => prim(new A.DurationMicrosecond(), BigInt64Array, n, true, () => BigInt(rint(-1e9, 1e9)) * 1000n, String)],
  ['dur_ns', 'duration[ns]', (n) => prim(new A.DurationNanosecond(), BigInt64Array, n, true, () => BigInt(rint(-1e9, 1e9)) * 1000000n, String)],
  ['dict_delta', 'dictionary<int32, utf8>', (n, b) => {
    const add = A.vectorFromArray(DELTA_DICT[b], new A.Utf8());
    deltaDict = deltaDict ? deltaDict.concat(add) : add; // shares the earlier chunks: deltas
    return dictCol(dictDeltaType, n, true, deltaDict, DELTA_DICT.slice(0, b + 1).flat());
  }],
  ['dict_const', 'dictionary<int8, utf8>', (n) => dictCol(dictConstType, n, false, constDict, CONST_DICT)],
  ['list_i32', 'list<int32>', (n) => listCol(n, true)],
  ['fixed_list', 'fixed_size_list<float64, 3>', (n) => fixedListCol(n, true)],
  ['quote', 'struct<a: int16, b: utf8, c: list<int32>>', (n) => structCol(n, true)],
  ['nothing', 'null', (n) => ({ data: A.makeData({ type: new A.Null(), length: n }), expected: Array(n).fill('null') })],
];

function buildBatches(sizes) {
  const batches = [], expected = [];
  let schema = null;
  sizes.forEach((n, b) => {
    const cols = columns.map(([name, , build]) => [name, build(n, b)]);
    if (!schema) {
      schema = new A.Schema(cols.map(([name, c]) => new A.Field(name, c.data.type, name !== 'ts_ns' && name !== 'dict_const')),
        new Map([['producer', 'golden.mjs'], ['scan', '4228']]));
    }
    const data = A.makeData({ type: new A.Struct(schema.fields), length: n, nullCount: 0, children: cols.map(([, c]) => c.data) });
    batches.push(new A.RecordBatch(schema, data));
    for (let i = 0; i < n; i++) expected.push('{' + cols.map(([name, c]) => `${JSON.stringify(name)}:${c.expected[i]}`).join(',') + '}');
  });
  return { schema, batches, expected };
}

function write(name, schema, batches, kind) {
  const W = kind === 'file' ? A.RecordBatchFileWriter : A.RecordBatchStreamWriter;
  const w = new W();
  w.reset(undefined, schema);
  for (const b of batches) w.write(b);
  w.finish();
  writeFileSync(join(out, name), w.toUint8Array(true));
}

const types = buildBatches([7, 5, 300]);
write('types.arrow', types.schema, types.batches, 'file');
write('types.stream', types.schema, types.batches, 'stream');
writeFileSync(join(out, 'types.expected.jsonl'), types.expected.join('\n') + '\n');
writeFileSync(join(out, 'types.schema.json'), JSON.stringify(Object.fromEntries(columns.map(([n, t]) => [n, t]))) + '\n');

// The unit tests' fixtures (tests/arrow/data/, committed): the same columns in two small
// batches (one dictionary delta), file and stream; an unsupported type.
if (process.argv[3] === '--fixtures') {
  deltaDict = null;
  const small = buildBatches([3, 2]);
  write('small.arrow', small.schema, small.batches, 'file');
  write('small.stream', small.schema, small.batches, 'stream');
  writeFileSync(join(out, 'small.expected.jsonl'), small.expected.join('\n') + '\n');
  const m = new A.Map_(new A.Field('entries', new A.Struct([new A.Field('key', new A.Utf8(), false),
    new A.Field('value', new A.Int32(), true)]), false));
  const schema = new A.Schema([new A.Field('id', new A.Int32(), true), new A.Field('tags', m, true)]);
  write('unsupported.arrow', schema, [], 'file');
}

// A stream whose dictionary is replaced (not extended) for its second batch.
{
  const type = new A.Dictionary(new A.Utf8(), new A.Int16(), 3);
  const schema = new A.Schema([new A.Field('sym', type, true), new A.Field('px', new A.Float64(), false)]);
  const d1 = ['BTC', 'ETH'], d2 = ['SOL', 'ADA', 'DOT'];
  const batches = [], expected = [];
  [[d1, [0, 1, 1, null]], [d2, [2, 0, null, 1, 2]]].forEach(([dict, idx], b) => {
    const valid = idx.map((v) => v !== null);
    const px = Float64Array.from(idx, (_, i) => 100 * (b + 1) + i + 0.25);
    const col = A.makeData({ type, length: idx.length, nullCount: nullsOf(valid), nullBitmap: bitmap(valid),
      data: Int16Array.from(idx, (v) => v ?? 0), dictionary: A.vectorFromArray(dict, new A.Utf8()) });
    const pxd = A.makeData({ type: new A.Float64(), length: idx.length, nullCount: 0, data: px });
    batches.push(new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: idx.length, nullCount: 0, children: [col, pxd] })));
    idx.forEach((v, i) => expected.push(`{"sym":${v === null ? 'null' : JSON.stringify(dict[v])},"px":${fmtNum(px[i])}}`));
  });
  write('replace.stream', schema, batches, 'stream');
  writeFileSync(join(out, 'replace.expected.jsonl'), expected.join('\n') + '\n');
  writeFileSync(join(out, 'replace.schema.json'), JSON.stringify({ sym: 'dictionary<int16, utf8>', px: 'float64' }) + '\n');
}

// A file with a schema and no batch.
{
  const schema = new A.Schema([new A.Field('x', new A.Int32(), true)]);
  write('empty.arrow', schema, [], 'file');
  writeFileSync(join(out, 'empty.expected.jsonl'), '');
  writeFileSync(join(out, 'empty.schema.json'), JSON.stringify({ x: 'int32' }) + '\n');
}
console.log(`golden: wrote types, replace and empty files in ${out}`);
