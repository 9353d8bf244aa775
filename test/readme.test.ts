// The README's reference sections are generated from the code (src/cli/reference.ts): every command's flags,
// every reject code and every schema field. This test fails when one is missing or stale; fix it with
//   node --import tsx scripts/readme.ts
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { readmeSections, updateReadme } from '../src/cli/reference.js'
import { REJECT_CODES } from '../src/kinds/reject.js'

const README = fileURLToPath(new URL('../README.md', import.meta.url))

describe('README', () => {
  it('shows every generated section: each command with flags, the reject reasons, the data reference', async () => {
    const readme = await readFile(README, 'utf8')
    const missing = [...(await readmeSections()).keys()].filter((name) => !readme.includes(`<!-- generated: ${name} -->`))
    assert.deepEqual(missing, [])
  })

  it('has every generated section up to date', async () => {
    const readme = await readFile(README, 'utf8')
    assert.equal(await updateReadme(readme), readme, 'README.md is stale: run node --import tsx scripts/readme.ts')
  })

  it('lists every reject code', async () => {
    const readme = await readFile(README, 'utf8')
    assert.deepEqual(REJECT_CODES.filter((code) => !readme.includes(`| \`${code}\` |`)), [])
  })
})
