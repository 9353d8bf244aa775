// `turnkit <args>` as the installed package runs it: the compiled dist/ (a checkout's bin runs the sources through
// tsx, whose start-up in each worker thread would count against short runs). buildDist() compiles it first.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST_MAIN = pathToFileURL(join(ROOT, 'dist', 'src', 'cli', 'main.js')).href

/** node arguments that run `turnkit <args>` from dist/ */
export const installedArgs = (args: readonly string[]): string[] =>
  ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(DIST_MAIN)}); process.exitCode = await main(process.argv.slice(1))`, ...args]

/** npm run build, so dist/ is the code under test. */
export function buildDist(): void {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`)
}
