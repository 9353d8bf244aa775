// What changed between two datasets of one record kind, at the level users ask about: the settings and schema
// (named, old -> new), the record keys only in A, only in B, and in both with other content (and which columns
// differ), and the ledger's changes by reason.
//
// Row content is compared by a hash computed here from the decoded values (one sha256 per column per row, over a
// typed, length-prefixed encoding), not stored in the part files: it needs no change to the format or to any
// dataset version, works on every dataset ever written, local or remote, and reads each dataset once, one row
// group at a time. A stored per-row hash would save that read, but only for datasets written after it existed.
// Equal versions mean equal rows and ledgers, so that case reads no rows at all.
import { createHash, type Hash } from 'node:crypto'
import { canonicalJson, type JsonObject, type JsonValue } from '../formats/json.js'
import type { Row } from '../kinds/record.js'
import type { LedgerLine } from './writer.js'
import { openDataset, type Dataset } from './dataset.js'
import type { DataOptions } from './cache.js'

/** One setting or schema field that differs: its dotted path and both values (undefined: absent on that side). */
export interface ValueChange {
  path: string
  a: JsonValue | undefined
  b: JsonValue | undefined
}

/** A key in both datasets whose row differs, and the columns that differ. */
export interface ChangedRow {
  key: string
  columns: string[]
}

/** A ledger line that differs: only in A, only in B, or for the same key with another stage, code or message. */
export interface LedgerChange {
  key: string
  a: Pick<LedgerLine, 'stage' | 'code' | 'message'> | null
  b: Pick<LedgerLine, 'stage' | 'code' | 'message'> | null
}

export interface DatasetDiff {
  a: { location: string; version: string; rows: number; rejects: number }
  b: { location: string; version: string; rows: number; rejects: number }
  identical: boolean
  schema: ValueChange[]
  settings: ValueChange[]
  rows: { onlyInA: string[]; onlyInB: string[]; changed: ChangedRow[]; same: number }
  ledger: { changes: LedgerChange[]; byCode: { code: string; a: number; b: number }[] }
}

/** Leaves of two JSON values that differ, by dotted path (arrays compared whole). */
function jsonChanges(a: JsonValue | undefined, b: JsonValue | undefined, path: string, out: ValueChange[]): void {
  const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) jsonChanges(a[k], b[k], path === '' ? k : `${path}.${k}`, out)
    return
  }
  const same = a === undefined || b === undefined ? a === b : canonicalJson(a) === canonicalJson(b)
  if (!same) out.push({ path, a, b })
}

// A typed, length-prefixed encoding of one value, so that distinct values never hash alike ("ab","c" vs "a","bc";
// 1 as int vs float; a Float32Array vs an Int32Array of the same bytes).
function feed(hash: Hash, value: unknown): void {
  const tag = (t: string, n: number): void => {
    hash.update(t)
    hash.update(String(n))
    hash.update(':')
  }
  if (value === null || value === undefined) return void hash.update('N')
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    tag('s', bytes.length)
    return void hash.update(bytes)
  }
  if (typeof value === 'number') return void hash.update(`n${Object.is(value, -0) ? '-0' : String(value)};`)
  if (typeof value === 'bigint') return void hash.update(`i${value};`)
  if (typeof value === 'boolean') return void hash.update(value ? 'T' : 'F')
  if (ArrayBuffer.isView(value)) {
    tag(value.constructor.name, value.byteLength)
    return void hash.update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
  }
  if (Array.isArray(value)) {
    tag('a', value.length)
    for (const item of value) feed(hash, item)
    return
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1))
    tag('o', entries.length)
    for (const [k, v] of entries) {
      feed(hash, k)
      feed(hash, v)
    }
    return
  }
  throw new Error(`diff: cannot hash a value of type ${typeof value}`)
}

/** 16 bytes of sha256 per column: enough to tell rows apart, small enough to keep a million rows' worth. */
function columnDigests(row: Row, columns: readonly string[]): string[] {
  return columns.map((c) => {
    const hash = createHash('sha256')
    feed(hash, row[c])
    return hash.digest('base64').slice(0, 22)
  })
}

const ledgerEntry = (line: LedgerLine): Pick<LedgerLine, 'stage' | 'code' | 'message'> => ({ stage: line.stage, code: line.code, message: line.message })

function ledgerDiff(a: readonly LedgerLine[], b: readonly LedgerLine[]): DatasetDiff['ledger'] {
  const byKey = (lines: readonly LedgerLine[]): Map<string, LedgerLine> => new Map(lines.map((l) => [l.key, l]))
  const [ma, mb] = [byKey(a), byKey(b)]
  const changes: LedgerChange[] = []
  for (const key of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const [la, lb] = [ma.get(key), mb.get(key)]
    if (la && lb && la.stage === lb.stage && la.code === lb.code && la.message === lb.message) continue
    changes.push({ key, a: la ? ledgerEntry(la) : null, b: lb ? ledgerEntry(lb) : null })
  }
  const count = (lines: readonly LedgerLine[]): Map<string, number> => lines.reduce((m, l) => m.set(l.code, (m.get(l.code) ?? 0) + 1), new Map<string, number>())
  const [ca, cb] = [count(a), count(b)]
  const byCode = [...new Set([...ca.keys(), ...cb.keys()])].sort().map((code) => ({ code, a: ca.get(code) ?? 0, b: cb.get(code) ?? 0 })).filter((c) => c.a !== c.b)
  return { changes, byCode }
}

/**
 * Compare datasets `a` and `b` (locations, or datasets already open). Both must hold the same record kind (schema
 * id); the schema version and field definitions may differ and are reported. Reads every row of both once, one
 * row group at a time, unless their versions are equal.
 */
export async function diffDatasets(a: string | Dataset, b: string | Dataset, options: DataOptions = {}): Promise<DatasetDiff> {
  const [da, db] = [typeof a === 'string' ? await openDataset(a, options) : a, typeof b === 'string' ? await openDataset(b, options) : b]
  const [ma, mb] = [da.manifest, db.manifest]
  if (ma.schema.id !== mb.schema.id) {
    throw new Error(`diff: ${da.location} holds ${ma.schema.id} records and ${db.location} holds ${mb.schema.id}: diff compares datasets of one record kind`)
  }
  const side = (d: Dataset): DatasetDiff['a'] => ({ location: d.location, version: d.manifest.version, rows: d.manifest.rows, rejects: d.manifest.rejects.total })
  const schema: ValueChange[] = []
  jsonChanges({ version: ma.schema.version, fields: Object.fromEntries(da.schema.fields.map((f) => [f.name, f as unknown as JsonObject])) },
    { version: mb.schema.version, fields: Object.fromEntries(db.schema.fields.map((f) => [f.name, f as unknown as JsonObject])) }, '', schema)
  const settings: ValueChange[] = []
  jsonChanges(ma.pipeline.settings, mb.pipeline.settings, '', settings)
  if (ma.pipeline.name !== mb.pipeline.name) settings.unshift({ path: 'pipeline', a: ma.pipeline.name, b: mb.pipeline.name })
  if (ma.version === mb.version && schema.length === 0) {
    return { a: side(da), b: side(db), identical: true, schema, settings, rows: { onlyInA: [], onlyInB: [], changed: [], same: ma.rows }, ledger: { changes: [], byCode: [] } }
  }
  const key = da.schema.sortKey
  const columns = [...new Set([...da.schema.fields, ...db.schema.fields].map((f) => f.name))].filter((c) => c !== key).sort()
  const hashesA = new Map<string, string[]>()
  for await (const row of da.rows()) hashesA.set(row[key] as string, columnDigests(row, columns))
  const onlyInB: string[] = []
  const changed: ChangedRow[] = []
  let same = 0
  for await (const row of db.rows()) {
    const k = row[key] as string
    const theirs = hashesA.get(k)
    if (theirs === undefined) {
      onlyInB.push(k)
      continue
    }
    hashesA.delete(k)
    const ours = columnDigests(row, columns)
    const differing = columns.filter((_, i) => ours[i] !== theirs[i])
    if (differing.length === 0) same++
    else changed.push({ key: k, columns: differing })
  }
  const onlyInA = [...hashesA.keys()]
  const ledger = ledgerDiff(await da.rejects(), await db.rejects())
  const identical = schema.length === 0 && settings.length === 0 && onlyInA.length === 0 && onlyInB.length === 0 && changed.length === 0 && ledger.changes.length === 0
  return { a: side(da), b: side(db), identical, schema, settings, rows: { onlyInA, onlyInB, changed, same }, ledger }
}

const show = (v: JsonValue | undefined): string => (v === undefined ? '(absent)' : JSON.stringify(v))

/** The diff for a person: what differs, up to `limit` keys per list. */
export function formatDiff(d: DatasetDiff, limit = 20): string {
  const lines: string[] = [`a: ${d.a.location} (${d.a.version}, ${d.a.rows} rows, ${d.a.rejects} rejects)`, `b: ${d.b.location} (${d.b.version}, ${d.b.rows} rows, ${d.b.rejects} rejects)`]
  if (d.identical) return [...lines, d.a.version === d.b.version ? 'identical: same version' : 'identical: same rows, ledger and settings (the versions differ only in how they were written)', ''].join('\n')
  const list = (title: string, items: string[]): void => {
    if (items.length === 0) return
    lines.push(`${title} (${items.length}):`)
    for (const item of items.slice(0, limit)) lines.push(`  ${item}`)
    if (items.length > limit) lines.push(`  ... ${items.length - limit} more (--json lists them all)`)
  }
  list('schema', d.schema.map((c) => `${c.path}: ${show(c.a)} -> ${show(c.b)}`))
  list('settings', d.settings.map((c) => `${c.path}: ${show(c.a)} -> ${show(c.b)}`))
  lines.push(`rows: ${d.rows.onlyInA.length} only in a, ${d.rows.onlyInB.length} only in b, ${d.rows.changed.length} changed, ${d.rows.same} the same`)
  list('only in a', d.rows.onlyInA)
  list('only in b', d.rows.onlyInB)
  list('changed', d.rows.changed.map((c) => `${c.key}: ${c.columns.join(', ')}`))
  list('ledger by reason', d.ledger.byCode.map((c) => `${c.code}: ${c.a} -> ${c.b}`))
  const entry = (e: LedgerChange['a']): string => (e === null ? '(none)' : `${e.code} at ${e.stage}`)
  list('ledger lines', d.ledger.changes.map((c) => `${c.key}: ${entry(c.a)} -> ${entry(c.b)}`))
  return lines.join('\n') + '\n'
}
