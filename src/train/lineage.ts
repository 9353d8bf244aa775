// `turnkit lineage`: which exact data a run (or one saved model of it) was made from and evaluated on, and whether
// that data still exists unchanged. A run records every dataset it reads at training start (config.json: location,
// version, rows, the part files' sizes and sha256); every checkpoint and best/ carry the same record in
// datasets.json, and every evaluation its dataset's version in scores.json. Here each is checked against what is at
// its location now: the manifest's version, then every part file and the ledger recomputed (verifyDataset).
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readJsonFile } from '../formats/json.js'
import { readManifest, type Manifest } from '../dataset/manifest.js'
import { verifyDataset } from '../dataset/verify.js'
import { StoreError } from '../dataset/storage.js'
import type { DataOptions } from '../dataset/cache.js'
import { DATASETS_FILE, RunDir, type DatasetRef, type RunDatasets } from './run-dir.js'

/** What became of one dataset the run read. */
export type LineageStatus =
  | 'ok' // the same version is there and every part file and the ledger verify
  | 'changed' // another version is there now (rebuilt, or other data)
  | 'damaged' // the same manifest, but a part file or the ledger no longer matches it
  | 'missing' // nothing readable at the location

export interface LineageEntry {
  /** source, intermediate, dev, or eval:<name> */
  role: string
  location: string
  version: string
  rows: number | null
  parts: number | null
  status: LineageStatus
  /** what differs or fails, one line each (empty when ok) */
  problems: string[]
}

export interface Lineage {
  /** the run folder or saved-model folder that was read */
  path: string
  entries: LineageEntry[]
  ok: boolean
}

/** Part files recorded at training start against the manifest found now. */
function partChanges(recorded: NonNullable<DatasetRef['shards']>, now: Manifest): string[] {
  const current = new Map(now.shards.map((s) => [s.file, s]))
  const lines: string[] = []
  for (const r of recorded) {
    const c = current.get(r.file)
    if (c === undefined) lines.push(`${r.file}: gone`)
    else if (c.sha256 !== r.sha256) lines.push(`${r.file}: other bytes (${r.sha256} -> ${c.sha256})`)
    current.delete(r.file)
  }
  for (const file of current.keys()) lines.push(`${file}: added`)
  return lines
}

async function check(role: string, ref: { dir: string; version: string; rows?: number; shards?: DatasetRef['shards'] }, data: DataOptions): Promise<LineageEntry> {
  const entry = { role, location: ref.dir, version: ref.version, rows: ref.rows ?? null, parts: ref.shards?.length ?? null }
  let manifest: Manifest
  try {
    manifest = await readManifest(ref.dir, data)
  } catch (error) {
    const message = (error as Error).message
    const gone = / not found|ENOENT/.test(message) || (error instanceof StoreError && error.code === 'not-found')
    return { ...entry, status: gone ? 'missing' : 'damaged', problems: [message] }
  }
  if (manifest.version !== ref.version) {
    const changes = ref.shards === undefined ? ['part files were not recorded by the run (made before lineage)'] : partChanges(ref.shards, manifest)
    return { ...entry, status: 'changed', problems: [`version is now ${manifest.version}`, ...changes] }
  }
  const problems = await verifyDataset(ref.dir, data)
  return { ...entry, status: problems.length === 0 ? 'ok' : 'damaged', problems }
}

/**
 * The lineage of `path`: a run folder (config.json and its evaluations) or a saved model of one (a checkpoint
 * folder or best/, through its datasets.json). Throws naming the folder when it is neither.
 */
export async function runLineage(path: string, data: DataOptions = {}): Promise<Lineage> {
  let datasets: RunDatasets
  const evaluations: { role: string; ref: { dir: string; version: string } }[] = []
  const run = new RunDir(path)
  if (existsSync(run.configPath)) {
    datasets = (await run.readConfig()).datasets
    const evalDir = join(path, 'eval')
    const names = existsSync(evalDir) ? (await readdir(evalDir)).sort() : []
    for (const name of names) {
      const scores = join(evalDir, name, 'scores.json')
      if (!existsSync(scores)) continue
      const { dataset } = (await readJsonFile(scores)) as { dataset?: { dir: string; version: string } }
      if (dataset) evaluations.push({ role: `eval:${name}`, ref: dataset })
    }
  } else if (existsSync(join(path, DATASETS_FILE))) {
    datasets = (await readJsonFile(join(path, DATASETS_FILE))) as RunDatasets
  } else {
    throw new Error(`${path} is neither a run folder (no config.json) nor a saved model of one (no ${DATASETS_FILE}): give the --out of turnkit train, one of its checkpoints/step-* folders or its best/`)
  }
  const entries: LineageEntry[] = []
  for (const [role, ref] of Object.entries(datasets)) if (ref !== null) entries.push(await check(role, ref, data))
  for (const { role, ref } of evaluations) entries.push(await check(role, ref, data))
  return { path, entries, ok: entries.every((e) => e.status === 'ok') }
}

/** The lineage for a person: one block per dataset, its status and what differs. */
export function formatLineage(l: Lineage): string {
  const lines = [`lineage of ${l.path}:`]
  for (const e of l.entries) {
    const size = e.rows === null ? '' : `, ${e.rows} rows${e.parts === null ? '' : ` in ${e.parts} part files`}`
    lines.push(`  ${e.role}: ${e.location}`, `    ${e.version}${size}: ${e.status}`)
    for (const p of e.problems.slice(0, 10)) lines.push(`      ${p}`)
    if (e.problems.length > 10) lines.push(`      ... ${e.problems.length - 10} more`)
  }
  lines.push(l.ok ? 'every dataset is there, unchanged' : 'some data this run used is changed, damaged or gone (above): the run cannot be reproduced from what is there now')
  return lines.join('\n') + '\n'
}
