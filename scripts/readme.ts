// Regenerate the README's generated sections (flag tables, reject reasons, data reference; src/cli/reference.ts):
//   node --import tsx scripts/readme.ts
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { updateReadme } from '../src/cli/reference.js'

const path = fileURLToPath(new URL('../README.md', import.meta.url))
await writeFile(path, await updateReadme(await readFile(path, 'utf8')))
