// `turnkit inspect`: what a dataset is, at a glance: schema, version, counts, rejects by reason, a few rows.
import { type DataOptions, openDataset } from './dataset.js'
import { ensureIntact } from './verify.js'
import type { Manifest } from './manifest.js'

export interface Inspection {
  dir: string
  manifest: Manifest
  /** First rows, arrays summarised (`Float32Array(27648) [-23.1, ...]`). */
  rows: Record<string, unknown>[]
  /** First ledger lines. */
  rejects: Record<string, unknown>[]
}

/** Summarise one value for display: long arrays become their type, length and first items. */
function summarise(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const items = Array.from(value as unknown as ArrayLike<number>).slice(0, 4).map((x) => (typeof x === 'number' ? Number(x.toFixed(3)) : String(x)))
    return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length}) [${items.join(', ')}${(value as unknown as ArrayLike<number>).length > 4 ? ', ...' : ''}]`
  }
  if (Array.isArray(value)) return value.length > 6 ? [...value.slice(0, 6).map(summarise), `... ${value.length - 6} more`] : value.map(summarise)
  if (typeof value === 'bigint') return value.toString()
  return value
}

/** Read a dataset's manifest, its first `rows` rows and first ledger lines. Throws naming the file when unreadable. */
export async function inspectDataset(
  dir: string,
  { rows = 3, verifyData = true, data = {}, log = (line) => process.stderr.write(`${line}\n`) }: { rows?: number; verifyData?: boolean; data?: DataOptions; log?: (line: string) => void } = {},
): Promise<Inspection> {
  if (verifyData) await ensureIntact(dir, (line) => log(`inspect: ${line}`), data)
  else log('inspect: --no-verify-data: the dataset is read without checking its part files against the manifest')
  const dataset = await openDataset(dir, data)
  const sample: Record<string, unknown>[] = []
  if (rows > 0) {
    for await (const row of dataset.rows()) {
      sample.push(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, summarise(v)])))
      if (sample.length >= rows) break
    }
  }
  const rejects = (await dataset.rejects()).slice(0, 5) as unknown as Record<string, unknown>[]
  return { dir, manifest: dataset.manifest, rows: sample, rejects }
}

/** The inspection as text for a terminal. */
export function formatInspection({ dir, manifest: m, rows, rejects }: Inspection): string {
  const lines = [
    `dataset   ${dir}`,
    `version   ${m.version}`,
    `schema    ${m.schema.id} v${m.schema.version} (${m.schema.hash})`,
    `pipeline  ${m.pipeline.name}, ${m.tool.name} ${m.tool.version}`,
    `counts    ${m.inputs} inputs = ${m.rows} rows + ${m.rejects.total} rejects, ${m.shards.length} part files, ${(m.shards.reduce((n, s) => n + s.bytes, 0) / 1e6).toFixed(1)} MB`,
    `rejects   ${Object.entries(m.rejects.byCode).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`,
    `settings  ${JSON.stringify(m.pipeline.settings)}`,
  ]
  for (const [i, row] of rows.entries()) lines.push(`row ${i}`, ...Object.entries(row).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`))
  for (const r of rejects) lines.push(`reject  ${JSON.stringify(r)}`)
  return lines.join('\n') + '\n'
}
