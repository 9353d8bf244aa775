// The viewer's static files: a fixed map from URL path to a file inside this package (the page, its script and
// style under assets/view/, and the ES modules of preact, preact/hooks and htm from node_modules). The map is
// built once from resolved paths; a request path is only ever looked up in it, never joined to a directory, so
// no request can name another file.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { packageRoot } from '../config.js'

export interface Asset {
  /** absolute path of the file served */
  file: string
  contentType: string
}

const require = createRequire(import.meta.url)
/** The folder of an installed package: up from its resolved entry point to the package.json naming it. */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`view: the package ${name} is not installed (npm ci installs it)`)
    dir = parent
  }
}

/** The page's import map, inline in index.html: bare specifiers of the modules to the URLs they are served at. */
export const IMPORT_MAP = { imports: { preact: '/vendor/preact.mjs', 'preact/hooks': '/vendor/preact-hooks.mjs', htm: '/vendor/htm.mjs' } }

let built: { assets: Map<string, Asset>; html: string; scriptHashes: string[] } | undefined

/**
 * The allow-list of static files, and the page with its import map inlined; the CSP allows that inline script by
 * its sha256 and nothing else inline. Throws naming the file when one is missing from the installation.
 */
export function viewAssets(): { assets: ReadonlyMap<string, Asset>; html: string; scriptHashes: readonly string[] } {
  if (built !== undefined) return built
  const dir = join(packageRoot(), 'assets', 'view')
  const js = 'text/javascript; charset=utf-8'
  const assets = new Map<string, Asset>([
    ['/app.js', { file: join(dir, 'app.js'), contentType: js }],
    ['/style.css', { file: join(dir, 'style.css'), contentType: 'text/css; charset=utf-8' }],
    ['/vendor/preact.mjs', { file: join(packageDir('preact'), 'dist', 'preact.mjs'), contentType: js }],
    ['/vendor/preact-hooks.mjs', { file: join(packageDir('preact'), 'hooks', 'dist', 'hooks.mjs'), contentType: js }],
    ['/vendor/htm.mjs', { file: join(packageDir('htm'), 'dist', 'htm.mjs'), contentType: js }],
  ])
  for (const { file } of assets.values()) readFileSync(file) // fail at start, naming the file, not on a request
  const importMap = JSON.stringify(IMPORT_MAP)
  const template = readFileSync(join(dir, 'index.html'), 'utf8')
  if (!template.includes('<!--import-map-->')) throw new Error(`${join(dir, 'index.html')}: no <!--import-map--> placeholder`)
  const html = template.replace('<!--import-map-->', `<script type="importmap">${importMap}</script>`)
  const scriptHashes = [`'sha256-${createHash('sha256').update(importMap).digest('base64')}'`]
  built = { assets, html, scriptHashes }
  return built
}
