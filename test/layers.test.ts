// The folders are the architecture: every import in src/ and pipelines/ runs from a higher layer to a lower one
// (or within one), never upwards. Layers, lowest first (docs/architecture.md):
//   formats, random, config < audio, text, image < kinds < dataset < etl < pipelines (+ fixtures) < model
//   < train < view < cli (+ the library's front door, src/index.ts)
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The layer of a source file (repo-relative path), by its folder; undefined for a file no layer claims. */
export function layerOf(file: string): number | undefined {
  const rules: [RegExp, number][] = [
    [/^src\/(formats\/|random\.ts$|config\.ts$)/, 0],
    [/^src\/(audio|text|image)\//, 1],
    [/^src\/kinds\//, 2],
    [/^src\/dataset\//, 3],
    [/^src\/etl\//, 4],
    [/^(pipelines|src\/fixtures)\//, 5],
    [/^src\/model\//, 6],
    [/^src\/train\//, 7],
    [/^src\/view\//, 8],
    [/^src\/(cli\/|index\.ts$)/, 9],
  ]
  return rules.find(([pattern]) => pattern.test(file))?.[1]
}
const LAYER_NAMES = ['formats/random/config', 'audio/text/image', 'kinds', 'dataset', 'etl', 'pipelines', 'model', 'train', 'view', 'cli']

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(ROOT, path)).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Repo-relative paths of the project files `file` imports (static, dynamic, and worker module URLs). */
export function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"\n;]*?(?:from\s*)?['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+\.js)['"]\s*,\s*import\.meta\.url\s*\)/g),
  ].map((m) => m[1]!)
  return specs.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, '.ts'))
}

describe('layers', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('pipelines')].sort()

  it('place every source file in src/ and pipelines/ in a layer', () => {
    assert.deepEqual(files.filter((f) => layerOf(f) === undefined), [])
  })

  it('have no import from a lower layer to a higher one', () => {
    const upward: string[] = []
    for (const file of files) {
      const from = layerOf(file)!
      for (const target of importsOf(file, readFileSync(join(ROOT, file), 'utf8'))) {
        const to = layerOf(target)
        if (to !== undefined && to > from) upward.push(`${file} (${LAYER_NAMES[from]}) imports ${relative('.', target)} (${LAYER_NAMES[to]})`)
      }
    }
    assert.deepEqual(upward, [])
  })

  it('find an upward import when there is one', () => {
    assert.deepEqual(importsOf('src/audio/x.ts', "import { train } from '../train/trainer.js'\nconst m = await import('../cli/main.js')\n"), ['src/train/trainer.ts', 'src/cli/main.ts'])
    assert.equal(layerOf('src/train/trainer.ts')! > layerOf('src/audio/x.ts')!, true)
  })
})
