#!/usr/bin/env node
// The `turnkit` command. In a checkout (src/ present) it runs the TypeScript sources through tsx, so an edit is
// live without a build; the published package ships only the compiled dist/ (built by `npm run build`, which
// `npm ci` and `npm pack` run as the prepare script) and runs that.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// `turnkit inspect D | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})
const sources = new URL('../src/cli/main.ts', import.meta.url)
let main
if (existsSync(fileURLToPath(sources))) {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import(sources.href))
} else {
  ;({ main } = await import('../dist/src/cli/main.js'))
}
process.exitCode = await main(process.argv.slice(2))
