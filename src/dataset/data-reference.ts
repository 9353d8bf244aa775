// The README's data reference, rendered from schemas/: one section per record kind (see src/cli/reference.ts).
import { readdir } from 'node:fs/promises'
import { SCHEMAS_DIR, loadSchema, markdownReference } from './schema.js'

/** Markdown for every schema in schemas/, in id order. */
export async function renderDataReference(): Promise<string> {
  const ids = (await readdir(SCHEMAS_DIR)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort()
  const sections = await Promise.all(ids.map(async (id) => markdownReference(await loadSchema(id))))
  return sections.map((s) => s.trimEnd() + '\n').join('\n')
}
