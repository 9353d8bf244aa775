// Regenerate the README's data reference from schemas/ (the single source of record definitions):
//   node --import tsx scripts/data-reference.ts          rewrite README.md between the markers
//   node --import tsx scripts/data-reference.ts --check  exit 1 when README.md is out of date
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { renderDataReference, README_BEGIN, README_END } from '../src/dataset/data-reference.js'

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url))
const readme = await readFile(readmePath, 'utf8')
const start = readme.indexOf(README_BEGIN)
const end = readme.indexOf(README_END)
if (start < 0 || end < start) throw new Error(`README.md lacks the ${README_BEGIN} ... ${README_END} markers`)
const updated = readme.slice(0, start + README_BEGIN.length) + '\n' + (await renderDataReference()) + readme.slice(end)
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    process.stderr.write('README.md data reference is out of date: run node --import tsx scripts/data-reference.ts\n')
    process.exitCode = 1
  }
} else {
  await writeFile(readmePath, updated)
}
