// The dataset writer: the one place that decides what lands in a dataset directory and in which order. A
// dataset is built in units (a caller's cut of its inputs, each unit one part file); every unit is written as
// part file first, unit result last, each atomically, so a unit result on disk means its part file is whole.
// When every unit is there, `finish` writes the ledger and then the manifest, last: the dataset appears; then
// the dataset card (README.md), which is derived from it and not part of the version (card.ts).
// Resume (skip finished units), partitioned builds (units j % N == i into separate directories) and `merge`
// follow from that order without any other state. See layout.ts for the file names.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Row } from '../kinds/record.js'
import type { RejectCode } from '../kinds/reject.js'
import { canonicalJson, parseJson, type JsonObject } from '../formats/json.js'
import { TOOL } from '../config.js'
import { makeDir } from './atomic.js'
import { openStore, StoreError, type Store, type StoreOptions } from './storage.js'
import { sha256Bytes, sha256File, sha256Hex } from './hash.js'
import { countedColumns, countRows, datasetCard, type RowCount, sumCounts } from './card.js'
import {
  BUILD_FILE,
  CARD_FILE,
  ENVIRONMENT_FILE,
  isTemporaryName,
  LEDGER_FILE,
  partFileName,
  STATE_DIR,
  unitFileName,
  unitOfFileName,
} from './layout.js'
import { buildManifest, type Manifest, type RejectCounts, type SchemaRef, type SplitLeak, writeManifest } from './manifest.js'
import { checkOutputDir, isOwnCard, lockDir, type DirLock } from './out-dir.js'
import { readParquetRows } from './parquet-reader.js'
import { compareSortKeys, ENCODE_DEFAULTS, encodeShard, type ShardCompression, type ShardEntry } from './parquet-writer.js'
import { loadSchema, type RecordSchema, schemaHash } from './schema.js'

/** One line of rejects.jsonl: an input that did not become a row, and why. */
export interface LedgerLine {
  key: string
  /** the input's file, relative to the corpus root; null when the input has none */
  source: string | null
  /** the stage that refused it (`list`, `decode`, `image`, ...) */
  stage: string
  code: RejectCode
  message: string
}

/** What one unit produced, stored as `.turnkit/unit-NNNNN.json` after its part file is on disk. */
export interface UnitResult {
  unit: number
  inputs: number
  rows: number
  /** null when every input of the unit was rejected: the unit has no part file */
  shard: ShardEntry | null
  rejects: LedgerLine[]
  /**
   * The unit's rows per split and label (card.ts `countRows`), for the dataset card; counted as the rows are
   * written, so neither finish nor merge reads a part again. Absent in results of a turnkit before the card.
   */
  counts?: RowCount[]
}

/**
 * The identity of a build, stored as `.turnkit/run.json`: a resumed or partitioned build, and every directory
 * given to merge, must match it exactly.
 */
export interface BuildIdentity {
  pipeline: string
  schema: SchemaRef
  /** every byte-affecting setting, the writer's own `shards` block included */
  settings: JsonObject
  /** the caller's fingerprint of its whole input listing, and how many inputs it holds */
  source: { fingerprint: string; inputs: number }
  units: number
  shardRows: number
  /** source items the listing has in more than one split (written to the manifest) */
  leaks: SplitLeak[]
}

/** What a build directory holds now. */
export interface BuildStatus {
  dir: string
  /** `complete`: the manifest is written. `partial`: units are missing (other parts of a partitioned build). */
  status: 'complete' | 'partial'
  unitsTotal: number
  /** counts over the units present */
  inputs: number
  rows: number
  rejects: RejectCounts
  manifest?: Manifest
}

/** What opening a dataset for writing needs. */
export interface DatasetWriterOptions {
  /** pipeline name as the user typed it (`clotho`) */
  pipeline: string
  schema: RecordSchema
  /** every setting of the pipeline that changes bytes; the writer adds its own `shards` block */
  settings: JsonObject
  source: { fingerprint: string; inputs: number }
  /** how many units the whole build has */
  units: number
  /** inputs per unit (a part file holds fewer rows when some inputs are rejected) */
  shardRows: number
  /** source items in more than one split, as the caller found them in its listing; default none */
  leaks?: readonly SplitLeak[]
  /** Parquet codec of every part file; default zstd */
  compression?: ShardCompression
  /**
   * Rows per Parquet row group (the unit a reader loads); default ENCODE_DEFAULTS.rowGroupRows. Recorded in the
   * `shards` settings block, with the codec and the shard rows.
   */
  rowGroupRows?: number
  /** recorded in the manifest, not hashed into the version */
  tool: { name: string; version: string }
  /** how to rebuild it (the prepare command line), shown when a reader finds the dataset damaged */
  command?: string
  /**
   * Which part of a partitioned build this directory holds (`--part i/N`: units j with j % N = i); recorded, not
   * hashed, so that merge can name the parts that are missing. Default the whole build (0/1).
   */
  part?: { index: number; count: number }
  /** where the writer says what it did besides writing (a stale lock taken over); default stderr */
  note?: (line: string) => void
}

/** A whole dataset of the caller's own rows and rejects, for `DatasetWriter.write`. */
export interface WriteDatasetOptions extends Omit<DatasetWriterOptions, 'source' | 'units' | 'shardRows' | 'tool'> {
  rows: readonly Row[]
  /** inputs that did not become rows; default none */
  rejects?: readonly LedgerLine[]
  /** inputs (rows and rejects, in key order) per part file; default 1000 */
  shardRows?: number
  tool?: { name: string; version: string }
}

/**
 * What merge says when units are in none of the given directories: the part indexes they belong to when the parts
 * agree on N (unit j belongs to part j % N), and how to build them.
 */
function missingPartsMessage(missing: readonly number[], partCounts: ReadonlySet<number>): string {
  const list = (xs: readonly number[]): string => `${xs.slice(0, 10).join(', ')}${xs.length > 10 ? `, ... (${xs.length} in all)` : ''}`
  const units = `units ${list(missing)}`
  if (partCounts.size !== 1) return `merge: ${units} are in none of the given directories: build the missing parts first (with --part i/N, unit j belongs to part j % N)`
  const [count] = [...partCounts] as [number]
  const parts = [...new Set(missing.map((u) => u % count))].sort((a, b) => a - b)
  const one = parts.length === 1
  return `merge: part${one ? '' : 's'} ${list(parts)} of ${count} ${one ? 'is' : 'are'} missing or unfinished (${units} are in none of the given directories): ` +
    `build ${one ? 'it' : 'them'} (turnkit prepare ... --part ${parts[0]}/${count}, or resubmit ${one ? 'that array index' : 'those array indexes'}) and merge again with every part`
}

/** A JSON object of a store, or null when it does not exist. */
async function readJson<T>(store: Store, key: string): Promise<T | null> {
  try {
    return parseJson(new TextDecoder().decode(await store.read(key)), store.describe(key)) as T
  } catch (error) {
    if (error instanceof StoreError && error.code === 'not-found') return null
    throw error
  }
}

const stateKey = (name: string): string => `${STATE_DIR}/${name}`

/**
 * Writes one dataset directory unit by unit (see the top of this file). Open with `DatasetWriter.open`; write
 * each unit with `writeUnit`; `finish` writes the ledger and the manifest once every unit is present.
 */
export class DatasetWriter {
  private constructor(
    readonly store: Store,
    readonly identity: BuildIdentity,
    private readonly schema: RecordSchema | null,
    private readonly encoding: { compression: ShardCompression; rowGroupRows: number },
    private readonly tool: { name: string; version: string },
    private readonly lock: DirLock,
    private readonly note: (line: string) => void,
  ) {}

  /** Where the dataset is being written, as a location string. */
  get dir(): string {
    return this.store.location
  }

  /** Let another process build the directory (the lock is released); the writer cannot write afterwards. */
  async close(): Promise<void> {
    await this.lock.release()
  }

  /**
   * Open `location` (a folder or an s3:// prefix) for a build: refuse it when it holds anything but a turnkit build,
   * take its lock, delete temporaries a killed writer left, and record the build's identity (or, when it already
   * holds a build, check that it is this one). Throws when it holds another build, naming every setting that
   * differs.
   */
  static async open(location: string | Store, options: DatasetWriterOptions & StoreOptions): Promise<DatasetWriter> {
    const store = typeof location === 'string' ? openStore(location, options) : location
    const compression = options.compression ?? ENCODE_DEFAULTS.compression
    const rowGroupRows = options.rowGroupRows ?? ENCODE_DEFAULTS.rowGroupRows
    const shards: JsonObject = { shardRows: options.shardRows, compression, rowGroupRows }
    const identity: BuildIdentity = {
      pipeline: options.pipeline,
      schema: { id: options.schema.id, version: options.schema.version, hash: schemaHash(options.schema) },
      settings: { ...options.settings, shards },
      source: options.source,
      units: options.units,
      shardRows: options.shardRows,
      leaks: [...(options.leaks ?? [])],
    }
    const lock = await prepareOutputDir(store, options.note)
    try {
      const existing = await readJson<BuildIdentity>(store, stateKey(BUILD_FILE))
      if (existing !== null) {
        if (canonicalJson(existing) !== canonicalJson(identity)) {
          throw new Error(`${store.location} already holds a different build (${identityDifference(existing, identity)}): use another --out, or delete it to start over`)
        }
      } else {
        await store.write(stateKey(BUILD_FILE), JSON.stringify(identity, null, 2) + '\n')
      }
      // The tool that built the units goes into the manifest, also when another process merges them.
      await store.write(stateKey(ENVIRONMENT_FILE), JSON.stringify({ tool: options.tool, command: options.command ?? null, part: options.part ?? { index: 0, count: 1 } }) + '\n')
      return new DatasetWriter(store, identity, options.schema, { compression, rowGroupRows }, options.tool, lock, options.note ?? defaultNote)
    } catch (error) {
      await lock.release()
      throw error
    }
  }

  /**
   * Write a whole dataset of your own rows in one call (MosaicML's MDSWriter does the same for its format): rows
   * and rejects are sorted by key, cut into units of `shardRows` inputs, written, and the manifest is written
   * last. The source fingerprint is the sha256 of the inputs' keys. Returns the finished build.
   * Throws what `open` and `writeUnit` throw, and on a key that is both a row and a reject.
   */
  static async write(location: string | Store, options: WriteDatasetOptions & StoreOptions): Promise<BuildStatus> {
    const { rows, rejects = [], shardRows = 1000, tool = TOOL, ...rest } = options
    const key = options.schema.sortKey
    const inputs = [...rows.map((row) => ({ key: String(row[key]), row })), ...rejects.map((line) => ({ key: line.key, reject: line }))]
    inputs.sort((a, b) => compareSortKeys(a.key, b.key))
    for (let i = 1; i < inputs.length; i++) if (inputs[i]!.key === inputs[i - 1]!.key) throw new Error(`DatasetWriter.write: key '${inputs[i]!.key}' is given twice`)
    const units = Math.ceil(inputs.length / shardRows)
    const fingerprint = sha256Bytes(inputs.map((input) => input.key).join('\n'))
    const writer = await DatasetWriter.open(location, { ...rest, source: { fingerprint, inputs: inputs.length }, units, shardRows, tool })
    try {
      for (let unit = 0; unit < units; unit++) {
        const part = inputs.slice(unit * shardRows, (unit + 1) * shardRows)
        await writer.writeUnit(unit, { rows: part.flatMap((p) => ('row' in p ? [p.row] : [])), rejects: part.flatMap((p) => ('reject' in p ? [p.reject] : [])), inputs: part.length })
      }
      return await writer.finish()
    } finally {
      await writer.close()
    }
  }

  /**
   * The units a resumed build may keep: those whose result is there and whose part file has the recorded size
   * and sha256 (a local part is hashed again, so a damaged part is never kept; an object store's part is checked
   * by size and the sha256 recorded with it when it was written). `damaged` lists the units whose result is there
   * but whose part file is missing or differs, with the reason: they are rebuilt.
   */
  async finishedUnits(): Promise<{ finished: Set<number>; damaged: { unit: number; file: string; reason: string }[] }> {
    const finished = new Set<number>()
    const damaged: { unit: number; file: string; reason: string }[] = []
    for (const [unit, result] of await readUnitResults(this.store)) {
      if (unit >= this.identity.units) continue
      if (result.shard === null) {
        finished.add(unit)
        continue
      }
      let reason: string | null = null
      const info = await this.store.info(result.shard.file)
      const local = this.store.localPath(result.shard.file)
      if (info === null) reason = 'missing'
      else if (info.size !== result.shard.bytes) reason = `${info.size} bytes, ${result.shard.bytes} expected`
      else if ((local !== null ? await sha256File(local) : info.sha256) !== result.shard.sha256) reason = 'sha256 mismatch'
      if (reason === null) finished.add(unit)
      else damaged.push({ unit, file: result.shard.file, reason })
    }
    return { finished, damaged }
  }

  /**
   * Write unit `unit`: its rows (sorted by the schema's sort key) as its part file, then its result record.
   * `inputs` is how many inputs the unit had; it must equal rows + rejects. Returns the unit's result.
   * Throws what `encodeShard` throws (a row that does not fit the schema) or the fs error.
   */
  async writeUnit(unit: number, { rows, rejects, inputs }: { rows: readonly Row[]; rejects: readonly LedgerLine[]; inputs: number }): Promise<UnitResult> {
    if (this.schema === null) throw new Error(`DatasetWriter: ${this.store.location} was opened to merge, not to write units`)
    if (!Number.isInteger(unit) || unit < 0 || unit >= this.identity.units) throw new Error(`DatasetWriter: unit ${unit} is not in [0, ${this.identity.units})`)
    if (rows.length + rejects.length !== inputs) throw new Error(`DatasetWriter: unit ${unit}: ${rows.length} rows + ${rejects.length} rejects is not its ${inputs} inputs`)
    const file = partFileName(unit)
    let shard: ShardEntry | null = null
    if (rows.length > 0) {
      const bytes = await encodeShard(this.schema, rows, this.encoding)
      // Part file first, unit result last: a result on disk means its part file is complete.
      await this.store.write(file, bytes)
      shard = { file, rows: rows.length, bytes: bytes.length, sha256: `sha256:${sha256Hex(bytes)}` }
    } else {
      if ((await this.store.info(file)) !== null) await this.store.remove(file) // every input of this unit was rejected
    }
    const result: UnitResult = { unit, inputs, rows: rows.length, shard, rejects: [...rejects], counts: countRows(this.schema, rows) }
    await this.store.write(stateKey(unitFileName(unit)), JSON.stringify(result) + '\n')
    return result
  }

  /**
   * When every unit is present, write rejects.jsonl and then manifest.json (atomically): the dataset becomes
   * visible; then its card, README.md (see `writeCard`). Otherwise report the partial build. Returns the
   * directory's status.
   */
  async finish(): Promise<BuildStatus> {
    const results = await readUnitResults(this.store)
    const counts = totals(results.values())
    const base = { dir: this.store.location, unitsTotal: this.identity.units, ...counts }
    for (let unit = 0; unit < this.identity.units; unit++) if (!results.has(unit)) return { ...base, status: 'partial' }
    const ordered = [...results.values()].sort((a, b) => a.unit - b.unit)
    const lines = ordered.flatMap((r) => r.rejects)
    const ledger = lines.map((line) => JSON.stringify(line) + '\n').join('')
    await this.store.write(LEDGER_FILE, ledger)
    const manifest = buildManifest({
      schema: this.identity.schema,
      pipeline: { name: this.identity.pipeline, settings: this.identity.settings },
      source: this.identity.source,
      tool: this.tool,
      shards: ordered.flatMap((r) => (r.shard ? [r.shard] : [])),
      inputs: counts.inputs,
      rejects: counts.rejects,
      ledger: { sha256: sha256Bytes(ledger), lines: lines.length },
      leaks: this.identity.leaks,
    })
    await writeManifest(this.store, manifest)
    await this.writeCard(manifest, ordered)
    return { ...base, status: 'complete', manifest }
  }

  /**
   * Write README.md, the dataset card (card.ts), after the manifest: a card is never there before its dataset,
   * and a build killed in between gets it from the rerun, which finishes again. Rows are counted from the unit
   * results; a unit written by a turnkit before the card has none, and its part's split and label columns are
   * read instead. Leaves a README.md of the user's as it is, and writes no card when this turnkit's schemas/
   * no longer has the build's schema (a merge by another version), saying so through `note`.
   */
  private async writeCard(manifest: Manifest, units: readonly UnitResult[]): Promise<void> {
    if (!(await isOwnCard(this.store))) {
      this.note(`${this.store.location}: ${CARD_FILE} is not a card turnkit wrote: left as it is, no dataset card written`)
      return
    }
    const schema = this.schema ?? (await buildSchema(this.identity.schema))
    if (schema === null) {
      this.note(`${this.store.location}: schema ${this.identity.schema.id} v${this.identity.schema.version} (${this.identity.schema.hash}) is not this turnkit's: no dataset card written`)
      return
    }
    const counts: RowCount[][] = []
    for (const unit of units) {
      if (unit.shard === null) continue
      counts.push(unit.counts ?? countRows(schema, await this.partRows(unit.shard.file, countedColumns(schema))))
    }
    await this.store.write(CARD_FILE, datasetCard({ manifest, schema, counts: sumCounts(counts) }))
  }

  /** Every row of part `file` with only `columns` read (in place when local, else its bytes fetched). */
  private async partRows(file: string, columns: readonly string[]): Promise<Row[]> {
    const rows: Row[] = []
    const source = this.store.localPath(file) ?? (await this.store.read(file))
    for await (const row of readParquetRows(source, { columns, form: 'json' })) rows.push(row)
    return rows
  }

  /**
   * Merge the directories of a partitioned build (`--part i/N`) into `out` (folders or s3:// prefixes): part files
   * and unit results are copied as they are (server-side within one S3 endpoint), so the result is byte-identical
   * to a single build over the whole listing. `out` may be one of the parts. Throws naming the location when one
   * is not a build, comes from another build (settings or listing differ), disagrees with another on a unit, or
   * when units are missing from all of them, naming the missing units.
   */
  static async merge(parts: readonly string[], out: string, { note = defaultNote, ...options }: StoreOptions & { note?: (line: string) => void } = {}): Promise<BuildStatus> {
    if (parts.length === 0) throw new Error('merge: no directories given')
    const target = openStore(out, options)
    let identity: BuildIdentity | undefined
    let tool: { name: string; version: string } | undefined
    const partCounts = new Set<number>()
    const seen = new Map<number, { from: string; sha256: string | null }>()
    const copies: { from: Store; key: string }[] = []
    for (const part of parts) {
      const store = openStore(part, options)
      const build = await readJson<BuildIdentity>(store, stateKey(BUILD_FILE))
      if (build === null) throw new Error(`${store.location} is not a turnkit prepare output (no ${STATE_DIR}/${BUILD_FILE})`)
      identity ??= build
      if (canonicalJson(build) !== canonicalJson(identity)) throw new Error(`${store.location} was built from another listing or with other settings than ${parts[0]}: only parts of one build can be merged`)
      const environment = await readJson<{ tool: { name: string; version: string }; part?: { index: number; count: number } }>(store, stateKey(ENVIRONMENT_FILE))
      tool ??= environment?.tool
      if (environment?.part) partCounts.add(environment.part.count)
      for (const [unit, result] of await readUnitResults(store)) {
        const sha = result.shard?.sha256 ?? null
        const previous = seen.get(unit)
        if (previous !== undefined) {
          if (previous.sha256 !== sha) throw new Error(`merge: unit ${unit} differs between ${previous.from} and ${store.location}`)
          continue
        }
        seen.set(unit, { from: store.location, sha256: sha })
        if (store.location === target.location) continue
        if (result.shard) copies.push({ from: store, key: result.shard.file })
        copies.push({ from: store, key: stateKey(unitFileName(unit)) })
      }
    }
    const build = identity as BuildIdentity
    const missing = Array.from({ length: build.units }, (_, u) => u).filter((u) => !seen.has(u))
    if (missing.length > 0) throw new Error(missingPartsMessage(missing, partCounts))
    const lock = await prepareOutputDir(target, note)
    try {
      const existing = await readJson<BuildIdentity>(target, stateKey(BUILD_FILE))
      if (existing !== null && canonicalJson(existing) !== canonicalJson(build)) {
        throw new Error(`${target.location} already holds a different build: merge into a new folder or into one of the parts`)
      }
      await target.write(stateKey(BUILD_FILE), JSON.stringify(build, null, 2) + '\n')
      await target.write(stateKey(ENVIRONMENT_FILE), JSON.stringify({ tool, command: null, part: { index: 0, count: 1 } }) + '\n')
      // Part file before its unit result, as writeUnit does, so a merge killed midway leaves a resumable directory.
      for (const { from, key } of copies) await target.copyFrom(from, key, key)
      return await new DatasetWriter(target, build, null, ENCODE_DEFAULTS, tool as { name: string; version: string }, lock, note).finish()
    } finally {
      await lock.release()
    }
  }
}

/** Every unit result present in `store`, by unit number. */
export async function readUnitResults(store: Store): Promise<Map<number, UnitResult>> {
  const results = new Map<number, UnitResult>()
  for (const { name } of (await store.list(STATE_DIR)).files) {
    const unit = unitOfFileName(name)
    if (unit === undefined) continue
    const result = await readJson<UnitResult>(store, stateKey(name))
    if (result !== null) results.set(unit, result)
  }
  return results
}

/** Inputs, rows and rejects by code over unit results. */
function totals(results: Iterable<UnitResult>): { inputs: number; rows: number; rejects: RejectCounts } {
  let inputs = 0
  let rows = 0
  const byCode: Partial<Record<RejectCode, number>> = {}
  for (const r of results) {
    inputs += r.inputs
    rows += r.rows
    for (const line of r.rejects) byCode[line.code] = (byCode[line.code] ?? 0) + 1
  }
  return { inputs, rows, rejects: { total: inputs - rows, byCode } }
}

const defaultNote = (line: string): void => void process.stderr.write(`turnkit: ${line}\n`)

/** The schema a build was written with, from this turnkit's schemas/, or null when schemas/ has another one. */
async function buildSchema(ref: SchemaRef): Promise<RecordSchema | null> {
  try {
    const schema = await loadSchema(ref.id)
    return schema.version === ref.version && schemaHash(schema) === ref.hash ? schema : null
  } catch {
    return null // no such schema here
  }
}

/**
 * Make `store` ready to be written: refuse it when it holds anything but a turnkit build (checkOutputDir), create
 * it, take its lock, and delete temporaries a killed local writer left. Returns the lock.
 */
async function prepareOutputDir(store: Store, note: (line: string) => void = defaultNote): Promise<DirLock> {
  await checkOutputDir(store)
  const local = store.localPath('')
  if (local !== null) await makeDir(join(local, STATE_DIR))
  const lock = await lockDir(store, note)
  try {
    if (local !== null) await removeTemporaries(local)
  } catch (error) {
    await lock.release()
    throw error
  }
  return lock
}

/**
 * Delete `*.tmp-*` files a killed writer left behind (writeFileAtomic's temporary names): they were never
 * renamed into place, so no reader saw them, and the unit they belong to is rebuilt.
 */
async function removeTemporaries(dir: string): Promise<void> {
  for (const at of [dir, join(dir, STATE_DIR)]) {
    for (const name of await readdir(at)) if (isTemporaryName(name)) await rm(join(at, name), { force: true })
  }
}

/** How two build identities differ, naming settings, for the "different build" error. */
function identityDifference(a: BuildIdentity, b: BuildIdentity): string {
  const diffs: string[] = []
  if (a.pipeline !== b.pipeline) diffs.push(`pipeline ${a.pipeline} vs ${b.pipeline}`)
  if (a.schema.hash !== b.schema.hash) diffs.push(`schema ${a.schema.id}@${a.schema.hash} vs ${b.schema.id}@${b.schema.hash}`)
  diffs.push(...settingDifferences(a.settings, b.settings).map(({ path, a: x, b: y }) => `${path} ${x} vs ${y}`))
  if (a.source.fingerprint !== b.source.fingerprint) diffs.push(`source listing ${a.source.fingerprint} vs ${b.source.fingerprint} (the corpus changed)`)
  return diffs.join('; ')
}

/**
 * Every leaf setting that differs between two settings objects: its dotted path (`audio.nMels`) and both values as
 * canonical JSON (`null` where one side lacks it). Arrays and scalars are leaves.
 */
export function settingDifferences(a: JsonObject, b: JsonObject, prefix = ''): { path: string; a: string; b: string }[] {
  const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)
  const out: { path: string; a: string; b: string }[] = []
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[key] ?? null
    const y = b[key] ?? null
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (isObject(x) && isObject(y)) out.push(...settingDifferences(x, y, path))
    else if (canonicalJson(x) !== canonicalJson(y)) out.push({ path, a: canonicalJson(x), b: canonicalJson(y) })
  }
  return out
}
