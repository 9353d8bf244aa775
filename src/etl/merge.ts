// `turnkit merge`: join directories built with --part i/N into one dataset. Part files and unit results are
// copied as they are, so the merged dataset is byte-identical to a single run over the whole listing.
import { mkdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../dataset/atomic.js'
import { STATE_DIR, finishIfComplete, readUnitResults, type PrepareSummary, type RunIdentity } from './prepare.js'
import { canonicalJson } from '../formats/json.js'

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T

/** Copy `from` to `to` through a temporary name and fsync, so `to` is never half-written. */
async function copyAtomic(from: string, to: string): Promise<void> {
  await writeFileAtomic(to, await readFile(from))
}

/**
 * Merge part directories into `outDir`. Throws naming the directory when a part comes from another run
 * (settings or listing differ), when two parts disagree on a unit, or when units are missing.
 */
export async function mergeDatasets(dirs: string[], outDir: string, tool: { name: string; version: string }): Promise<PrepareSummary> {
  let identity: RunIdentity | undefined
  let environment: { tool: { name: string; version: string }; environment: Record<string, string> } | undefined
  await mkdir(join(outDir, STATE_DIR), { recursive: true })
  const seen = new Map<number, { dir: string; sha256: string | null }>()
  for (const dir of dirs) {
    const runPath = join(dir, STATE_DIR, 'run.json')
    if (!existsSync(runPath)) throw new Error(`${dir} is not a turnkit prepare output (no ${STATE_DIR}/run.json)`)
    const run = await readJson<RunIdentity>(runPath)
    identity ??= run
    if (canonicalJson(run) !== canonicalJson(identity)) throw new Error(`${dir} was built from another listing or with other settings than ${dirs[0]}: only parts of one run can be merged`)
    environment ??= await readJson(join(dir, STATE_DIR, 'environment.json'))
    for (const [unit, result] of await readUnitResults(dir)) {
      const sha = result.shard?.sha256 ?? null
      const previous = seen.get(unit)
      if (previous !== undefined) {
        if (previous.sha256 !== sha) throw new Error(`unit ${unit} differs between ${previous.dir} and ${dir}`)
        continue
      }
      seen.set(unit, { dir, sha256: sha })
      if (dir === outDir) continue
      if (result.shard) await copyAtomic(join(dir, result.shard.file), join(outDir, result.shard.file))
      await copyAtomic(join(dir, STATE_DIR, `unit-${String(unit).padStart(5, '0')}.json`), join(outDir, STATE_DIR, `unit-${String(unit).padStart(5, '0')}.json`))
    }
  }
  if (identity === undefined) throw new Error('merge: no directories given')
  const missing = Array.from({ length: identity.units }, (_, u) => u).filter((u) => !seen.has(u))
  if (missing.length > 0) throw new Error(`merge: units ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''} are in none of the given directories: build the missing parts first`)
  await copyAtomic(join(dirs[0]!, STATE_DIR, 'run.json'), join(outDir, STATE_DIR, 'run.json'))
  await copyAtomic(join(dirs[0]!, STATE_DIR, 'environment.json'), join(outDir, STATE_DIR, 'environment.json'))
  const summary = await finishIfComplete(outDir, identity, { tool: environment?.tool ?? tool, environment: environment?.environment ?? {} }, {
    part: { index: 0, count: 1 },
    built: 0,
    skipped: identity.units,
  })
  return { ...summary, processingSec: 0 }
}
