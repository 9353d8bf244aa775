// Parquet shard -> rows, one row group at a time. A file on disk is opened as a lazy Blob (fs.openAsBlob), so
// parquet-wasm reads the footer and the requested row group's bytes only; wasm memory (which never shrinks)
// then holds one row group, not the shard.

import { openAsBlob } from 'node:fs'
import { type Data, type Schema, tableFromIPC } from 'apache-arrow'
import { Compression, ParquetFile } from 'parquet-wasm'
import { type FieldType, parseFieldType, type RecordSchema, type Row, typeNameOfArrow } from './schema.js'

/** What the Parquet footer says about a shard, without reading any data page. */
export interface ShardMetadata {
  /** total rows in the file */
  rows: number
  /** number of row groups */
  rowGroups: number
  /** rows in each row group, in file order */
  rowGroupRows: number[]
  /** the writer's `created_by` string (`parquet-rs version 59.3.0`), if any */
  createdBy: string | undefined
  /** distinct column-chunk codecs by their Parquet names (`ZSTD`, `UNCOMPRESSED`), sorted */
  codecs: string[]
}

/** An open shard for lazy reads. Call `close()` to release the wasm-side handle early (GC would too). */
export interface ShardFile {
  /** the path or `(in-memory shard)`, as errors name it */
  name: string
  metadata: ShardMetadata
  /** the file's Arrow schema (from the ARROW:schema footer entry parquet-rs writes) */
  arrowSchema: Schema
  /** Rows of row group `index` (0-based), decoded as `Row`s. Throws on an index out of range. */
  readRowGroup(index: number): Promise<Row[]>
  close(): void
}

/**
 * Open a shard (a path, or the file's bytes) for lazy reads: reads the footer, and when `schema` is given checks
 * the file's Arrow schema against it. Returns a `ShardFile`.
 * Throws naming the file when it is not Parquet, and naming the file and field when its schema differs
 * (missing, extra or reordered field, other type, other nullability).
 */
export async function openShard(source: string | Uint8Array, schema?: RecordSchema): Promise<ShardFile> {
  const name = typeof source === 'string' ? source : '(in-memory shard)'
  const file = await openParquet(source, name)
  let closed = false
  try {
    const metadata = metadataOf(file)
    const arrow = arrowSchemaOf(file, name)
    if (schema !== undefined) checkArrowSchema(arrow, schema, name)
    const types = arrow.fields.map((f) => {
      const type = typeNameOfArrow(f.type)
      if (type.startsWith('arrow:')) throw new Error(`readShard: ${name}: field '${f.name}' has type ${type}, which turnkit does not read`)
      return parseFieldType(type)
    })
    return {
      name,
      metadata,
      arrowSchema: arrow,
      async readRowGroup(index: number): Promise<Row[]> {
        if (closed) throw new Error(`readShard: ${name}: read after close()`)
        if (!Number.isInteger(index) || index < 0 || index >= metadata.rowGroups) {
          throw new Error(`readShard: ${name}: row group ${index} out of range (file has ${metadata.rowGroups})`)
        }
        const table = tableFromIPC((await file.read({ rowGroups: [index] })).intoIPCStream())
        const rows: Row[] = []
        for (const batch of table.batches) {
          const columns = arrow.fields.map((f, i) => decodeColumn(types[i], batch.data.children[i], name, f.name))
          for (let r = 0; r < batch.numRows; r++) {
            const row: Row = {}
            for (let c = 0; c < columns.length; c++) row[arrow.fields[c].name] = columns[c][r]
            rows.push(row)
          }
        }
        return rows
      },
      close() {
        if (!closed) file.free()
        closed = true
      },
    }
  } catch (error) {
    file.free()
    throw error
  }
}

/**
 * All rows of a shard (a path, or its bytes), read row group by row group. With `schema`, the file's schema is
 * checked first (see `openShard`). Value types are those of `Row`: a list<float32> is a Float32Array view into
 * its row group's buffer (copy it to keep one row without the rest).
 * Throws what `openShard` throws.
 */
export async function readShard(source: string | Uint8Array, schema?: RecordSchema): Promise<Row[]> {
  const shard = await openShard(source, schema)
  try {
    const rows: Row[] = []
    for (let i = 0; i < shard.metadata.rowGroups; i++) for (const row of await shard.readRowGroup(i)) rows.push(row)
    return rows
  } finally {
    shard.close()
  }
}

/**
 * Rows of row group `index` of the shard at `path` (or in `bytes`), schema-checked when `schema` is given.
 * Opens the file for this one read; hold a `ShardFile` from `openShard` to read several.
 */
export async function readRowGroup(source: string | Uint8Array, index: number, schema?: RecordSchema): Promise<Row[]> {
  const shard = await openShard(source, schema)
  try {
    return await shard.readRowGroup(index)
  } finally {
    shard.close()
  }
}

/** Yield `{ index, rows }` for each row group of a shard in file order, decoding one at a time. */
export async function* iterateRowGroups(
  source: string | Uint8Array,
  schema?: RecordSchema,
): AsyncGenerator<{ index: number; rows: Row[] }> {
  const shard = await openShard(source, schema)
  try {
    for (let index = 0; index < shard.metadata.rowGroups; index++) yield { index, rows: await shard.readRowGroup(index) }
  } finally {
    shard.close()
  }
}

/** The footer facts of a shard (a path, or its bytes): rows, row groups, codecs. Throws when it is not Parquet. */
export async function readShardMetadata(source: string | Uint8Array): Promise<ShardMetadata> {
  const name = typeof source === 'string' ? source : '(in-memory shard)'
  const file = await openParquet(source, name)
  try {
    return metadataOf(file)
  } finally {
    file.free()
  }
}

/**
 * Check a shard's Arrow schema against a turnkit schema: same field names in the same order, same types
 * (`typeNameOfArrow`), same nullability, and the same `turnkit:schema` id when the file records one.
 * Throws `readShard: <name>: field 'x' is list<float64> in the file, list<float32> in schema audio-text v1`.
 */
export function checkArrowSchema(arrow: Schema, schema: RecordSchema, name: string): void {
  const where = `schema ${schema.id} v${schema.version}`
  const fail = (message: string): never => {
    throw new Error(`readShard: ${name}: ${message}`)
  }
  const fileId = arrow.metadata.get('turnkit:schema')
  if (fileId !== undefined && fileId !== schema.id) fail(`written with schema '${fileId}', expected '${schema.id}'`)
  const fileNames = arrow.fields.map((f) => f.name)
  for (const [i, field] of schema.fields.entries()) {
    const j = fileNames.indexOf(field.name)
    if (j === -1) fail(`field '${field.name}' of ${where} is missing from the file`)
    if (j !== i) fail(`field '${field.name}' is column ${j} in the file, column ${i} in ${where}`)
    const actual = arrow.fields[j]
    const type = typeNameOfArrow(actual.type)
    if (type !== field.type) fail(`field '${field.name}' is ${type} in the file, ${field.type} in ${where}`)
    if (actual.nullable !== field.nullable) {
      fail(`field '${field.name}' is ${actual.nullable ? '' : 'not '}nullable in the file, ${field.nullable ? '' : 'not '}nullable in ${where}`)
    }
  }
  for (const f of arrow.fields) {
    if (!schema.fields.some((s) => s.name === f.name)) fail(`field '${f.name}' is in the file but not in ${where}`)
  }
}

async function openParquet(source: string | Uint8Array, name: string): Promise<ParquetFile> {
  // A Blob cannot wrap a view of shared memory; shard bytes never are one.
  const blob = typeof source === 'string' ? await openAsBlob(source) : new Blob([source as Uint8Array<ArrayBuffer>])
  try {
    return await ParquetFile.fromFile(blob)
  } catch (error) {
    // parquet-wasm rejects with a bare string-like Error ("Parquet error: ..."); say which file it was.
    throw new Error(`readShard: ${name}: not a readable Parquet file: ${String(error)}`)
  }
}

function metadataOf(file: ParquetFile): ShardMetadata {
  const meta = file.metadata()
  try {
    const fileMeta = meta.fileMetadata()
    const groups = meta.rowGroups()
    const codecs = new Set<string>()
    for (const group of groups) {
      for (const column of group.columns()) {
        codecs.add(Compression[column.compression()] ?? `codec ${column.compression()}`)
        column.free()
      }
    }
    const result = {
      rows: fileMeta.numRows(),
      rowGroups: groups.length,
      rowGroupRows: groups.map((g) => g.numRows()),
      createdBy: fileMeta.createdBy(),
      codecs: [...codecs].sort(),
    }
    for (const group of groups) group.free()
    fileMeta.free()
    return result
  } finally {
    meta.free()
  }
}

function arrowSchemaOf(file: ParquetFile, name: string): Schema {
  try {
    return tableFromIPC(file.schema().intoIPCStream()).schema
  } catch (error) {
    throw new Error(`readShard: ${name}: cannot read the Arrow schema: ${String(error)}`)
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Decode one column chunk into one JS value per row (see `Row` for the representation). Lists of numbers become
 * typed-array views into the chunk's buffer; nothing is copied per element.
 */
function decodeColumn(type: FieldType, data: Data, file: string, field: string): unknown[] {
  const n = data.length
  const out = new Array<unknown>(n)
  const isValid = nullTest(data)

  if (type.kind === 'list') {
    const offsets = data.valueOffsets as Int32Array
    const child = data.children[0]
    if (child.nullCount > 0) throw new Error(`readShard: ${file}: field '${field}' holds null list items, which turnkit never writes`)
    const item = type.item
    if (item.kind === 'scalar' && (item.scalar === 'int32' || item.scalar === 'int64' || item.scalar === 'float32' || item.scalar === 'float64')) {
      const values = child.values as Int32Array | BigInt64Array | Float32Array | Float64Array
      for (let i = 0; i < n; i++) {
        out[i] = isValid(i) ? values.subarray(child.offset + offsets[data.offset + i], child.offset + offsets[data.offset + i + 1]) : null
      }
      return out
    }
    // Decode the whole child once, then hand each row its slice.
    const base = offsets[data.offset]
    const end = offsets[data.offset + n]
    const items = decodeColumn(item, child.slice(base, end - base), file, field)
    for (let i = 0; i < n; i++) {
      out[i] = isValid(i) ? items.slice(offsets[data.offset + i] - base, offsets[data.offset + i + 1] - base) : null
    }
    return out
  }

  switch (type.scalar) {
    case 'utf8':
    case 'binary': {
      const offsets = data.valueOffsets as Int32Array
      const bytes = data.values as Uint8Array
      for (let i = 0; i < n; i++) {
        if (!isValid(i)) {
          out[i] = null
          continue
        }
        const slice = bytes.subarray(offsets[data.offset + i], offsets[data.offset + i + 1])
        out[i] = type.scalar === 'utf8' ? utf8Decoder.decode(slice) : slice.slice() // binary: a copy it can own
      }
      return out
    }
    case 'bool': {
      const bits = data.values as Uint8Array
      for (let i = 0; i < n; i++) {
        const at = data.offset + i
        out[i] = isValid(i) ? (bits[at >> 3] & (1 << (at & 7))) !== 0 : null
      }
      return out
    }
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64': {
      const values = data.values as Int32Array | BigInt64Array | Float32Array | Float64Array
      for (let i = 0; i < n; i++) out[i] = isValid(i) ? values[data.offset + i] : null
      return out
    }
  }
}

function nullTest(data: Data): (i: number) => boolean {
  const bitmap = data.nullBitmap
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return () => true
  return (i) => {
    const at = data.offset + i
    return (bitmap[at >> 3] & (1 << (at & 7))) !== 0
  }
}
