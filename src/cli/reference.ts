// The README's reference sections, generated from the code that defines them, so the documentation cannot drift:
// each command's flag table (from its option table), the reject reasons (REJECT_REASONS) and the data reference
// (schemas/). README.md holds each between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`;
// `node --import tsx scripts/readme.ts` rewrites them, and test/readme.test.ts fails when one is stale.
import { REJECT_REASONS } from '../kinds/reject.js'
import { renderDataReference } from '../dataset/data-reference.js'
import { COMMAND_NAMES, commandOptions, type CommandName } from './main.js'

const cell = (text: string): string => text.replaceAll('|', '\\|')

/** The markdown flag table of a command: flag, default, meaning. */
export function flagTable(name: CommandName): string {
  const rows = Object.entries(commandOptions(name)).map(([flag, spec]) => {
    const head = `\`--${flag}${spec.value ? ` ${spec.value}` : ''}\``
    return `| ${cell(head)} | ${cell(spec.defaultText ?? '')} | ${cell(spec.help)} |`
  })
  return ['| flag | default | meaning |', '| --- | --- | --- |', ...rows].join('\n') + '\n'
}

/** The markdown table of reject codes: code, stage, meaning. */
export function rejectTable(): string {
  const rows = Object.entries(REJECT_REASONS).map(([code, { stage, meaning }]) => `| \`${code}\` | ${stage} | ${cell(meaning)} |`)
  return ['| code | stage | meaning |', '| --- | --- | --- |', ...rows].join('\n') + '\n'
}

/** Every generated section by name: `flags <command>`, `rejects`, `data-reference`. */
export async function readmeSections(): Promise<Map<string, string>> {
  const sections = new Map<string, string>()
  for (const name of COMMAND_NAMES) if (Object.keys(commandOptions(name)).length > 0) sections.set(`flags ${name}`, flagTable(name))
  sections.set('rejects', rejectTable())
  sections.set('data-reference', await renderDataReference())
  return sections
}

/**
 * `readme` with every generated section replaced by its current text. Throws naming a section whose markers are
 * missing or unbalanced, and a marker naming no known section.
 */
export async function updateReadme(readme: string): Promise<string> {
  const sections = await readmeSections()
  let out = readme
  for (const found of readme.matchAll(/<!-- generated: ([^>]+?) -->/g)) {
    if (!sections.has(found[1]!)) throw new Error(`README.md: generated section '${found[1]}' is not one turnkit generates`)
  }
  for (const [name, text] of sections) {
    const begin = `<!-- generated: ${name} -->`
    const end = `<!-- end generated: ${name} -->`
    const start = out.indexOf(begin)
    const stop = out.indexOf(end)
    if (start < 0 || stop < start) continue // a section the README does not show
    out = out.slice(0, start + begin.length) + '\n' + text + out.slice(stop)
  }
  return out
}
