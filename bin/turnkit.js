#!/usr/bin/env node
// The `turnkit` command. The sources are TypeScript, run through tsx (a dependency), so `npm ci` is the
// only install step: no build output to keep in sync.
import { register } from 'tsx/esm/api'

// `turnkit inspect D | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})
register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
