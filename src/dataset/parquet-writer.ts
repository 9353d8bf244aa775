// Rows -> one Parquet shard, in memory. Arrow columns are built straight from the rows' typed arrays (a list of
// Float32Array becomes one Float32Array plus offsets, never per-element JS values), one row group at a time,
// and streamed to parquet-wasm as Arrow IPC, where parquet-rs writes them. The same rows and options always
// give the same bytes: parquet-rs writes `created_by: parquet-rs version <x>` and no timestamp, and nothing
// here reads the clock.

import {
  type Binary,
  type Bool,
  type Data,
  type DataType,
  type Float32,
  type Float64,
  type Int32,
  type Int64,
  type List,
  makeData,
  RecordBatch,
  Struct,
  Table,
  tableToIPC,
  type Utf8,
} from 'apache-arrow'
import {
  Compression,
  type RecordBatch as WasmRecordBatch,
  Table as WasmTable,
  transformParquetStream,
  WriterPropertiesBuilder,
} from 'parquet-wasm'
import { positiveInt, resolveConfig } from '../config.js'
import { arrowSchema, type FieldDef, type FieldType, parseFieldType, type RecordSchema } from './schema.js'
import type { Row } from '../kinds/record.js'

/**
 * Codecs a shard may use ('lz4' is Parquet's LZ4_RAW). zstd is the default. Measured on a 1000 x 216 x 128 shard
 * of float32 dB log-mels (2 cores): zstd 97 MB in 1.3-1.8 s; lz4, snappy and none about 111 MB in 0.3-0.4 s,
 * since float mantissas barely compress.
 */
export const SHARD_COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'brotli', 'lz4', 'none'] as const
export type ShardCompression = (typeof SHARD_COMPRESSIONS)[number]

/** How a shard is encoded. Both settings change the bytes, so a pipeline puts them in its manifest settings. */
export interface EncodeConfig {
  /** Parquet codec for every column; default 'zstd' (parquet-rs's default level, 1) */
  compression: ShardCompression
  /**
   * Rows per row group, the unit a lazy reader loads; default 128 (about 14 MB of 10 s log-mels, so the
   * trainer holds a few row groups, not a whole 1000-row shard)
   */
  rowGroupRows: number
}
/** Defaults of `encodeShard`. */
export const ENCODE_DEFAULTS: EncodeConfig = { compression: 'zstd', rowGroupRows: 128 }

const CODECS: Record<ShardCompression, Compression> = {
  zstd: Compression.ZSTD,
  snappy: Compression.SNAPPY,
  gzip: Compression.GZIP,
  brotli: Compression.BROTLI,
  lz4: Compression.LZ4_RAW,
  none: Compression.UNCOMPRESSED,
}

/** One shard as the manifest lists it. */
export interface ShardEntry {
  /** file name inside the dataset directory, `part-00000.parquet` */
  file: string
  rows: number
  /** file size in bytes */
  bytes: number
  /** `sha256:<hex>` of the file bytes */
  sha256: string
}

/**
 * Order of sort keys: by UTF-8 bytes, which is how Parquet statistics, DuckDB and pyarrow compare strings (JS `<`
 * compares UTF-16 code units and differs above U+FFFF). Returns <0, 0 or >0. Sort rows with it before encoding.
 */
export function compareSortKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * Encode `rows` as one Parquet file and return its bytes. Every row must have exactly the schema's fields with
 * values of the schema's types (see `Row`), and rows must be strictly ascending by the schema's sort key
 * (`compareSortKeys`), which also makes keys unique.
 * Options: `compression` (default zstd), `rowGroupRows` (default 128). Same rows and options -> same bytes.
 * Async because row groups are streamed through parquet-wasm one at a time: its memory only ever grows, and a
 * whole-table `writeParquet` of a 1000 x 216 x 128 shard grows it to 410 MB where streaming stays near 100 MB.
 * Throws, naming the schema, row key and field, on a wrong, missing, extra or null (non-nullable) value, a list
 * whose length does not match its shape, unsorted or duplicate keys, or zero rows: a dataset never holds an
 * empty shard (a partition with no rows writes no shard).
 */
export async function encodeShard(
  schema: RecordSchema,
  rows: readonly Row[],
  options: Partial<EncodeConfig> = {},
): Promise<Uint8Array> {
  const { compression, rowGroupRows } = resolveConfig('encodeShard', ENCODE_DEFAULTS, options, {
    compression: (v) => (SHARD_COMPRESSIONS.includes(v) ? undefined : `must be one of ${SHARD_COMPRESSIONS.join(', ')}`),
    rowGroupRows: positiveInt,
  })
  const what = `encodeShard(${schema.id} v${schema.version})`
  if (rows.length === 0) throw new Error(`${what}: 0 rows; a dataset never holds an empty shard, so write none`)
  checkRows(schema, rows, what)

  const target = arrowSchema(schema)
  const types = schema.fields.map((f) => parseFieldType(f.type))
  const columns = schema.fields.map((field) => new ColumnContext(what, schema, rows, field))
  let next = 0
  let failure: { error: unknown } | undefined
  // One Arrow record batch per row group, built only when parquet-wasm pulls it: besides the caller's rows, JS
  // and wasm memory hold about two row groups of floats, never a second copy of the whole shard.
  const batches = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      if (next >= rows.length) {
        controller.close()
        return
      }
      try {
        const start = next
        const end = Math.min(rows.length, start + rowGroupRows)
        const part = rows.slice(start, end)
        const children = schema.fields.map((field, i) => {
          const values = part.map((r) => r[field.name])
          return buildData(types[i], target.fields[i].type, values, (j) => start + j, field.nullable, columns[i])
        })
        const batch = new RecordBatch(target, makeData({ type: new Struct(target.fields), length: part.length, nullCount: 0, children }))
        const wasmTable = WasmTable.fromIPCStream(tableToIPC(new Table([batch]), 'stream'))
        const wasmBatch = wasmTable.recordBatch(0)
        wasmTable.free()
        if (wasmBatch === undefined) throw new Error(`${what}: parquet-wasm lost the record batch of rows ${start}..${end - 1}`)
        controller.enqueue(wasmBatch)
        next = end
      } catch (error) {
        failure = { error }
        controller.error(error)
      }
    },
  })

  // Dictionary encoding is off except for top-level utf8 columns. For spectrogram floats parquet-rs would build a
  // dictionary, overflow it on the first page and fall back to PLAIN: measured 1.5 s of a 2.2 s encode for a
  // 1000 x 216 x 128 shard. It cannot be switched off for just the nested columns: parquet-wasm turns the
  // column name into a one-part path, so 'log_mel.list.item' never matches.
  let builder = new WriterPropertiesBuilder()
    .setCompression(CODECS[compression])
    .setMaxRowGroupSize(rowGroupRows)
    .setDictionaryEnabled(false)
  for (const field of schema.fields) {
    if (field.type === 'utf8') builder = builder.setColumnDictionaryEnabled(field.name, true)
  }

  const chunks: Uint8Array[] = []
  try {
    const reader = (await transformParquetStream(batches, builder.build())).getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value as Uint8Array)
  } catch (error) {
    // A failure in the first batch surfaces from parquet-wasm as "Dyn casting error"; show ours instead.
    if (failure !== undefined) throw failure.error
    throw error
  }
  // parquet-wasm ends the output without an error when the input stream fails after the first batch: the bytes
  // then form a valid but truncated file, so the recorded failure is the only sign and must win.
  if (failure !== undefined) throw failure.error
  return Buffer.concat(chunks)
}

function checkRows(schema: RecordSchema, rows: readonly Row[], what: string): void {
  const names = new Set(schema.fields.map((f) => f.name))
  let previous: string | undefined
  for (const [i, row] of rows.entries()) {
    const key = row[schema.sortKey]
    if (typeof key !== 'string') {
      throw new Error(`${what}: row #${i}: sort key '${schema.sortKey}' must be a string, got ${describe(key)}`)
    }
    for (const name of Object.keys(row)) {
      if (!names.has(name)) throw new Error(`${what}: row '${key}' (#${i}): unknown field '${name}' (schema fields: ${[...names].join(', ')})`)
    }
    for (const field of schema.fields) {
      const value = row[field.name]
      if (value === undefined) throw new Error(`${what}: row '${key}' (#${i}): missing field '${field.name}'`)
      if (field.shape !== undefined && value !== null) checkShape(field, row, key, i, what)
    }
    if (previous !== undefined && compareSortKeys(previous, key) >= 0) {
      throw new Error(`${what}: row '${key}' (#${i}) is not after '${previous}': rows must be sorted by '${schema.sortKey}' and unique`)
    }
    previous = key
  }
}

function checkShape(field: FieldDef, row: Row, key: string, i: number, what: string): void {
  const value = row[field.name] as { length?: unknown }
  if (typeof value?.length !== 'number') return // the type check names the problem
  let size = 1
  const dims: string[] = []
  for (const dim of field.shape ?? []) {
    const n = typeof dim === 'number' ? dim : Number(row[dim])
    size *= n
    dims.push(typeof dim === 'number' ? String(dim) : `${dim}=${String(row[dim])}`)
  }
  if (value.length !== size) {
    throw new Error(`${what}: row '${key}' (#${i}): field '${field.name}' has ${value.length} values, shape [${dims.join(', ')}] needs ${size}`)
  }
}

// Names the schema, field and the row that owns a value, for errors raised deep inside nested lists.
class ColumnContext {
  constructor(
    readonly what: string,
    readonly schema: RecordSchema,
    readonly rows: readonly Row[],
    readonly field: FieldDef,
  ) {}
  fail(rowIndex: number, message: string, nested: boolean): never {
    const key = String(this.rows[rowIndex]?.[this.schema.sortKey])
    const where = nested ? `an item of field '${this.field.name}' (${this.field.type})` : `field '${this.field.name}' (${this.field.type})`
    throw new Error(`${this.what}: row '${key}' (#${rowIndex}): ${where}: ${message}`)
  }
}

type Owner = (index: number) => number

const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const LONE_SURROGATE = /[\uD800-\uDFFF]/u // in u mode a valid pair is one code point, so only lone halves match
const utf8Encoder = new TextEncoder()

/**
 * Build the Arrow Data of one column (or, recursively, of list items). `owner` maps an index in `values` to the
 * row that holds it, so errors name the row; `nested` is true below the top level.
 */
function buildData(type: FieldType, arrow: DataType, values: readonly unknown[], owner: Owner, nullable: boolean, ctx: ColumnContext, nested = false): Data {
  const length = values.length
  const fail = (i: number, message: string): never => ctx.fail(owner(i), message, nested)

  let nullCount = 0
  for (let i = 0; i < length; i++) {
    if (values[i] === null) {
      if (!nullable) fail(i, 'null in a non-nullable field')
      nullCount++
    }
  }
  const nullBitmap = nullCount === 0 ? undefined : packBits(length, (i) => values[i] !== null)
  const base = { length, nullCount, ...(nullBitmap === undefined ? {} : { nullBitmap }) }

  if (type.kind === 'list') {
    const listType = arrow as List
    const item = type.item
    const valueOffsets = new Int32Array(length + 1)
    if (item.kind === 'scalar' && isNumericScalar(item.scalar)) {
      // Fast path for spectrograms and token ids: one typed array for all rows, filled with .set().
      let total = 0
      for (let i = 0; i < length; i++) {
        const v = values[i]
        if (v !== null) {
          checkNumericList(item.scalar, v, (m) => fail(i, m))
          total += (v as ArrayLike<unknown>).length
        }
        if (total > INT32_MAX) fail(i, `the column holds over ${INT32_MAX} values, more than Arrow List offsets can address; write smaller shards`)
        valueOffsets[i + 1] = total
      }
      const flat = allocNumeric(item.scalar, total)
      for (let i = 0; i < length; i++) {
        const v = values[i]
        if (v !== null) fillNumeric(flat, v as ArrayLike<number | bigint>, valueOffsets[i])
      }
      const child = makeData({ type: listType.children[0].type, length: total, nullCount: 0, data: flat } as never) as Data
      return makeData({ type: listType, ...base, valueOffsets, child })
    }
    const flat: unknown[] = []
    const flatOwner: number[] = []
    for (let i = 0; i < length; i++) {
      const v = values[i]
      if (v !== null) {
        if (!Array.isArray(v)) fail(i, `expected an array, got ${describe(v)}`)
        for (const x of v as unknown[]) {
          flat.push(x)
          flatOwner.push(owner(i))
        }
        if (flat.length > INT32_MAX) fail(i, `more than ${INT32_MAX} items in one column; write smaller shards`)
      }
      valueOffsets[i + 1] = flat.length
    }
    const child = buildData(item, listType.children[0].type, flat, (j) => flatOwner[j], false, ctx, true)
    return makeData({ type: listType, ...base, valueOffsets, child })
  }

  switch (type.scalar) {
    case 'utf8': {
      const { valueOffsets, data } = variableLengthBytes(length, (i) => {
        const v = values[i]
        if (v === null) return new Uint8Array(0)
        if (typeof v !== 'string') return fail(i, `expected a string, got ${describe(v)}`)
        if (LONE_SURROGATE.test(v)) return fail(i, `string ${JSON.stringify(v.slice(0, 40))} has a lone surrogate, which UTF-8 cannot store`)
        return utf8Encoder.encode(v)
      })
      return makeData({ type: arrow as Utf8, ...base, valueOffsets, data })
    }
    case 'binary': {
      const { valueOffsets, data } = variableLengthBytes(length, (i) => {
        const v = values[i]
        if (v === null) return new Uint8Array(0)
        if (!(v instanceof Uint8Array)) return fail(i, `expected a Uint8Array, got ${describe(v)}`)
        return v
      })
      return makeData({ type: arrow as Binary, ...base, valueOffsets, data })
    }
    case 'bool': {
      for (let i = 0; i < length; i++) {
        const v = values[i]
        if (v !== null && typeof v !== 'boolean') fail(i, `expected true or false, got ${describe(v)}`)
      }
      return makeData({ type: arrow as Bool, ...base, data: packBits(length, (i) => values[i] === true) })
    }
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64': {
      const scalar = type.scalar
      const data = allocNumeric(scalar, length)
      for (let i = 0; i < length; i++) {
        const v = values[i]
        if (v === null) continue // the slot stays 0; the validity bitmap says it is null
        const problem = numericProblem(scalar, v)
        if (problem !== undefined) fail(i, problem)
        data[i] = (scalar === 'int64' ? BigInt(v as number | bigint) : v) as never
      }
      return makeData({ type: arrow as Int32 | Int64 | Float32 | Float64, ...base, data } as never) as Data
    }
  }
}

type NumericScalar = 'int32' | 'int64' | 'float32' | 'float64'
type NumericArray = Int32Array | BigInt64Array | Float32Array | Float64Array

function isNumericScalar(s: string): s is NumericScalar {
  return s === 'int32' || s === 'int64' || s === 'float32' || s === 'float64'
}

function allocNumeric(scalar: NumericScalar, length: number): NumericArray {
  switch (scalar) {
    case 'int32':
      return new Int32Array(length)
    case 'int64':
      return new BigInt64Array(length)
    case 'float32':
      return new Float32Array(length)
    case 'float64':
      return new Float64Array(length)
  }
}

const TYPED_FOR: Record<NumericScalar, string> = {
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
}

// A list of numbers is either the matching typed array (copied with one .set) or a plain array whose every
// element is checked: .set() from a plain array would silently turn 'a' into NaN and 1.5 into 1.
function checkNumericList(scalar: NumericScalar, v: unknown, fail: (message: string) => never): void {
  if (ArrayBuffer.isView(v)) {
    if (v.constructor.name !== TYPED_FOR[scalar]) fail(`expected ${TYPED_FOR[scalar]} or an array of numbers, got ${describe(v)}`)
    return
  }
  if (!Array.isArray(v)) fail(`expected ${TYPED_FOR[scalar]} or an array of numbers, got ${describe(v)}`)
  for (let j = 0; j < (v as unknown[]).length; j++) {
    const problem = numericProblem(scalar, (v as unknown[])[j])
    if (problem !== undefined) fail(`item ${j}: ${problem}`)
  }
}

function fillNumeric(flat: NumericArray, v: ArrayLike<number | bigint>, at: number): void {
  if (flat instanceof BigInt64Array && !(v instanceof BigInt64Array)) {
    for (let j = 0; j < v.length; j++) flat[at + j] = BigInt(v[j])
  } else {
    ;(flat as Float32Array).set(v as ArrayLike<number>, at)
  }
}

function numericProblem(scalar: NumericScalar, v: unknown): string | undefined {
  switch (scalar) {
    case 'float32':
    case 'float64':
      // NaN and ±Infinity are valid IEEE values and round-trip; rejecting them is a stage's decision.
      return typeof v === 'number' ? undefined : `expected a number, got ${describe(v)}`
    case 'int32':
      return Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX
        ? undefined
        : `expected an int32 (integer in [-2^31, 2^31-1]), got ${describe(v)}`
    case 'int64':
      if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? undefined : `bigint ${v} is outside int64`
      return Number.isSafeInteger(v) ? undefined : `expected a bigint or a safe integer, got ${describe(v)}`
  }
}

function packBits(length: number, bit: (i: number) => boolean): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(length / 8))
  for (let i = 0; i < length; i++) if (bit(i)) bytes[i >> 3] |= 1 << (i & 7) // Arrow bitmaps are LSB-first
  return bytes
}

/** Arrow's variable-length layout (utf8, binary): value i's bytes from `bytesOf(i)`, offsets and one data buffer. */
function variableLengthBytes(length: number, bytesOf: (i: number) => Uint8Array): { valueOffsets: Int32Array; data: Uint8Array } {
  const parts = new Array<Uint8Array>(length)
  const valueOffsets = new Int32Array(length + 1)
  let total = 0
  for (let i = 0; i < length; i++) {
    parts[i] = bytesOf(i)
    total += parts[i]!.byteLength
    valueOffsets[i + 1] = total
  }
  return { valueOffsets, data: concatBytes(parts, total) }
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`
  return `${typeof v} ${String(v)}`
}
