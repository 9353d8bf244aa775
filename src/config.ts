// Configs are typed objects with defaults, checked once: unknown keys and bad values are errors that name
// the field, before a byte is written (as MosaicML's Writer does with its kwargs).

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
