// The one Parquet reader: a file (or its bytes) -> rows, one row group at a time, only the columns asked for
// (hyparquet's `parquetRead({ columns, rowStart, rowEnd })` is the model). A file on disk is opened as a lazy Blob
// (fs.openAsBlob), so parquet-wasm reads the footer and the requested row group's column chunks only; wasm
// memory (which never shrinks) then holds one row group of those columns, not the file. Every read of a
// turnkit part file, a dataset and a corpus' own Parquet goes through here; nothing else imports parquet-wasm
// to read.

import { openAsBlob, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import { type Schema, tableFromIPC } from 'apache-arrow'
import { Compression, ParquetFile } from 'parquet-wasm'
import type { Row } from '../kinds/record.js'
import { columnValues, type ValueForm } from './arrow-values.js'
import { type RecordSchema, typeNameOfArrow } from './schema.js'

/** What the Parquet footer says about a file, without reading any data page. */
export interface ParquetMetadata {
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

/** How to read rows. */
export interface ReadOptions {
  /** only these columns, in this order (default: every column of the file) */
  columns?: readonly string[]
  /** 'typed' (default): turnkit Rows; 'json': plain JSON-like values (see arrow-values.ts) */
  form?: ValueForm
}

/** An open Parquet file. Close it (or use `withParquet`) to free the wasm-side handle. */
export interface ParquetReader {
  /** the path or `(in-memory file)`, as errors name it */
  readonly name: string
  readonly metadata: ParquetMetadata
  /** the file's Arrow schema (from the ARROW:schema footer entry parquet-rs writes, else derived) */
  readonly arrowSchema: Schema
  /**
   * Rows of row group `index` (0-based). Throws on an index out of range, a column the file does not have
   * (naming the file and its columns), or a read error naming the file.
   */
  readRowGroup(index: number, options?: ReadOptions): Promise<Row[]>
  close(): void
}

/**
 * Open a Parquet file (a path, or its bytes) for lazy reads: reads the footer and, when `schema` is given, checks
 * the file's Arrow schema against it. `name` is how errors name the file (default: the path). Throws naming the file when it is not Parquet, and naming the file and
 * field when its schema differs (missing, extra or reordered field, other type, other nullability).
 */
export async function openParquet(source: string | Uint8Array, { schema, name: givenName }: { schema?: RecordSchema; name?: string } = {}): Promise<ParquetReader> {
  const name = givenName ?? (typeof source === 'string' ? source : '(in-memory file)')
  const { file, unchanged } = await openFile(source, name)
  let closed = false
  try {
    const metadata = metadataOf(file)
    const arrow = arrowSchemaOf(file, name)
    if (schema !== undefined) checkArrowSchema(arrow, schema, name)
    const columnNames = arrow.fields.map((f) => f.name)
    return {
      name,
      metadata,
      arrowSchema: arrow,
      async readRowGroup(index, { columns, form = 'typed' } = {}) {
        if (closed) throw new Error(`${name}: read after close()`)
        if (!Number.isInteger(index) || index < 0 || index >= metadata.rowGroups) {
          throw new Error(`${name}: row group ${index} out of range (the file has ${metadata.rowGroups})`)
        }
        for (const column of columns ?? []) {
          if (!columnNames.includes(column)) throw new Error(`${name}: no column '${column}' (columns: ${columnNames.join(', ')})`)
        }
        await unchanged()
        let table
        try {
          table = tableFromIPC((await file.read({ rowGroups: [index], ...(columns ? { columns: [...columns] } : {}) })).intoIPCStream())
        } catch (error) {
          throw new Error(`${name}: row group ${index} cannot be read: ${String(error)}`)
        }
        if (table.numRows !== metadata.rowGroupRows[index]) {
          throw new Error(`${name}: row group ${index} read ${table.numRows} rows, its footer says ${metadata.rowGroupRows[index]}`)
        }
        // parquet-wasm returns projected columns in file order; rows list them as asked.
        const fields = table.schema.fields.map((f) => f.name)
        const rows: Row[] = []
        for (const batch of table.batches) {
          const values = fields.map((field, c) => columnValues(batch.data.children[c]!, form, `${name}: column '${field}'`))
          const order = (columns ?? fields).map((c) => fields.indexOf(c))
          for (let r = 0; r < batch.numRows; r++) {
            const row: Row = {}
            for (const c of order) row[fields[c]!] = values[c]![r]
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

/** Open `source`, run `use` on it, and close it whatever happens. Returns what `use` returns. */
export async function withParquet<T>(source: string | Uint8Array, options: { schema?: RecordSchema; name?: string }, use: (reader: ParquetReader) => Promise<T>): Promise<T> {
  const reader = await openParquet(source, options)
  try {
    return await use(reader)
  } finally {
    reader.close()
  }
}

/**
 * Every row of a Parquet file, row group by row group (see `ReadOptions`); the file is closed when the loop ends
 * or breaks. With `schema`, the file's schema is checked first. Throws what `openParquet` and `readRowGroup` throw.
 */
export async function* readParquetRows(source: string | Uint8Array, options: ReadOptions & { schema?: RecordSchema } = {}): AsyncGenerator<Row> {
  const reader = await openParquet(source, options)
  try {
    for (let index = 0; index < reader.metadata.rowGroups; index++) yield* await reader.readRowGroup(index, options)
  } finally {
    reader.close()
  }
}

/** The footer facts of a Parquet file (a path, or its bytes): rows, row groups, codecs. Throws when it is not Parquet. */
export async function readParquetMetadata(source: string | Uint8Array): Promise<ParquetMetadata> {
  return await withParquet(source, {}, async (reader) => reader.metadata)
}

/**
 * Check a file's Arrow schema against a turnkit schema: same field names in the same order, same types
 * (`typeNameOfArrow`), same nullability, and the same `turnkit:schema` id when the file records one.
 * Throws `<name>: field 'x' is list<float64> in the file, list<float32> in schema audio-text v1`.
 */
export function checkArrowSchema(arrow: Schema, schema: RecordSchema, name: string): void {
  const where = `schema ${schema.id} v${schema.version}`
  const fail = (message: string): never => {
    throw new Error(`${name}: ${message}`)
  }
  const fileId = arrow.metadata.get('turnkit:schema')
  if (fileId !== undefined && fileId !== schema.id) fail(`written with schema '${fileId}', expected '${schema.id}'`)
  const fileNames = arrow.fields.map((f) => f.name)
  for (const [i, field] of schema.fields.entries()) {
    const j = fileNames.indexOf(field.name)
    if (j === -1) fail(`field '${field.name}' of ${where} is missing from the file`)
    if (j !== i) fail(`field '${field.name}' is column ${j} in the file, column ${i} in ${where}`)
    const actual = arrow.fields[j]!
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

/**
 * parquet-wasm over a lazy Blob of the file (or its bytes), and a check to run before each read. Node's Blob of a
 * file reads by path and refuses to read once the file there has another size or mtime than when it was opened
 * (written in place, touched, or replaced by a rename), and parquet-wasm (0.8) then aborts the whole process
 * (`RuntimeError: unreachable`); the check turns that into an error naming the file. (The part cache's pins are
 * links no one else writes, so readers of cached parts never meet this.)
 */
async function openFile(source: string | Uint8Array, name: string): Promise<{ file: ParquetFile; unchanged: () => Promise<void> }> {
  let blob: Blob
  let opened: Stats | undefined
  try {
    // A Blob cannot wrap a view of shared memory; file bytes never are one.
    if (typeof source === 'string') [opened, blob] = await Promise.all([stat(source), openAsBlob(source)])
    else blob = new Blob([source as Uint8Array<ArrayBuffer>])
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`${name}: cannot be opened (${code ?? String(error)})`)
  }
  const unchanged = async (): Promise<void> => {
    if (opened === undefined) return
    const now = await stat(source as string).catch(() => null)
    if (now === null || now.mtimeMs !== opened.mtimeMs || now.size !== opened.size) {
      const what = now === null ? 'removed' : `changed (${now.size} bytes modified ${now.mtime.toISOString()}; ${opened.size} bytes modified ${opened.mtime.toISOString()} when opened)`
      throw new Error(`${name}: the file was ${what} on disk while it was being read: nothing read from it is used; run again once nothing rewrites the files being read`)
    }
  }
  try {
    return { file: await ParquetFile.fromFile(blob), unchanged }
  } catch (error) {
    // parquet-wasm rejects with a bare string-like Error ("Parquet error: ..."); say which file it was.
    throw new Error(`${name}: not a readable Parquet file: ${String(error)}`)
  }
}

function metadataOf(file: ParquetFile): ParquetMetadata {
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
    throw new Error(`${name}: cannot read the Arrow schema: ${String(error)}`)
  }
}
