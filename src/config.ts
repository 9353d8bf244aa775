// Configs are typed objects with defaults, checked once: unknown keys and bad values are errors that name
// the field, before a byte is written (as MosaicML's Writer does with its kwargs).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A setting that is unknown or out of range: the caller's input is wrong (the CLI exits 2 on it). */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Validator<T> = { [K in keyof T]?: (value: T[K]) => string | undefined }

/**
 * Merge `overrides` into `defaults`, refusing keys that `defaults` does not have and values that a
 * validator rejects. Throws a ConfigError naming `what`, the field and the value.
 */
export function resolveConfig<T extends object>(
  what: string,
  defaults: T,
  overrides: Partial<T> = {},
  validate: Validator<T> = {},
): T {
  for (const key of Object.keys(overrides)) {
    if (!(key in defaults)) {
      throw new ConfigError(`${what}: unknown setting '${key}' (known: ${Object.keys(defaults).join(', ')})`)
    }
  }
  const merged = { ...defaults }
  for (const [key, value] of Object.entries(overrides) as [keyof T, T[keyof T]][]) {
    if (value !== undefined) merged[key] = value
  }
  for (const key of Object.keys(validate) as (keyof T)[]) {
    const problem = validate[key]?.(merged[key])
    if (problem !== undefined) throw new ConfigError(`${what}: ${String(key)} = ${JSON.stringify(merged[key])}: ${problem}`)
  }
  return merged
}

export const positiveInt = (v: unknown): string | undefined =>
  Number.isInteger(v) && (v as number) > 0 ? undefined : 'must be a positive integer'
export const positiveNumber = (v: unknown): string | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'must be a positive number'
export const nonNegativeNumber = (v: unknown): string | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'must be a number >= 0'

/**
 * The folder of turnkit's own package.json, found by walking up from this file: the same from the TypeScript
 * sources (src/config.ts) and from the compiled package (dist/src/config.js).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'turnkit') return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`turnkit: no package.json of turnkit above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

/** This turnkit's name and version (package.json), as manifests and runs record them. */
export const TOOL: { name: string; version: string } = (() => {
  const { name, version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name: string; version: string }
  return { name, version }
})()
