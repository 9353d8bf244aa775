// Command-line options, declared once: each flag has its type, its default (taken from the library's typed
// `*_DEFAULTS` objects, never retyped here) and its help. The parser, the values' TypeScript types and the
// usage text all come from that one declaration. A value of the wrong type or out of range is a ConfigError
// (exit 2) naming the flag; an unknown flag, command or corpus gets a "did you mean".
import { parseArgs } from 'node:util'
import { ConfigError } from '../config.js'

/** A usage error (missing argument, unknown command or flag): printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

type Raw = string | boolean | string[] | undefined

/** One flag: how it reads, what it defaults to, and its line of help. */
export interface OptionSpec<T> {
  /** how node:util parseArgs takes it */
  kind: 'string' | 'boolean'
  multiple?: boolean
  /** the value's name in help (`N`, `DIR`); absent for boolean flags */
  value?: string
  help: string
  /** the default as help shows it; absent when there is none to show */
  defaultText?: string
  /** the flag's value from what parseArgs gave (undefined when absent); throws ConfigError naming `flag` */
  read(raw: Raw, flag: string): T
}

export type OptionTable = Record<string, OptionSpec<unknown>>
/** The parsed values of a table, typed by its specs. */
export type OptionValues<T extends OptionTable> = { [K in keyof T]: T[K] extends OptionSpec<infer V> ? V : never }

const bad = (flag: string, raw: unknown, expected: string): never => {
  throw new ConfigError(`--${flag} ${String(raw)}: expected ${expected}`)
}

function numeric(raw: string, flag: string, { integer, min, max, minExclusive }: { integer: boolean; min?: number; max?: number; minExclusive?: boolean }): number {
  const n = raw.trim() === '' ? NaN : Number(raw)
  const range = [min === undefined ? '' : `${minExclusive ? '>' : '>='} ${min}`, max === undefined ? '' : `<= ${max}`].filter((s) => s !== '').join(' and ')
  const expected = `${integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) return bad(flag, raw, expected)
  if (min !== undefined && (minExclusive ? n <= min : n < min)) return bad(flag, raw, expected)
  if (max !== undefined && n > max) return bad(flag, raw, expected)
  return n
}

interface NumberSpec {
  help: string
  value?: string
  min?: number
  max?: number
  /** min itself is refused (a positive number: min 0, minExclusive) */
  minExclusive?: boolean
}

/** An integer flag with a default. */
export const intOption = (spec: NumberSpec & { default: number; defaultText?: string }): OptionSpec<number> => numericOption(spec, true, 'N')
/** An integer flag without a default (undefined when absent). */
export const optionalIntOption = (spec: NumberSpec & { defaultText?: string }): OptionSpec<number | undefined> => numericOption(spec, true, 'N')
/** A number flag with a default. */
export const numberOption = (spec: NumberSpec & { default: number; defaultText?: string }): OptionSpec<number> => numericOption(spec, false, 'X')
/** A number flag without a default (undefined when absent). */
export const optionalNumberOption = (spec: NumberSpec & { defaultText?: string }): OptionSpec<number | undefined> => numericOption(spec, false, 'X')

function numericOption<T extends number | undefined>(spec: NumberSpec & { default?: T; defaultText?: string }, integer: boolean, value: string): OptionSpec<T> {
  const defaultText = spec.defaultText ?? (spec.default === undefined ? undefined : String(spec.default))
  return {
    kind: 'string', value: spec.value ?? value, help: spec.help, ...(defaultText === undefined ? {} : { defaultText }),
    read: (raw, flag) => (raw === undefined ? (spec.default as T) : (numeric(String(raw), flag, { integer, ...spec }) as T)),
  }
}

/** Bytes as people write them: 5000000, 500M, 20G, 1.5T (powers of 1000), 8GiB (powers of 1024). NaN when malformed. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text)
  if (m === null) return NaN
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase())
  return Math.round(Number(m[1]) * (m[3] ? 1024 : 1000) ** power)
}

/** A size in bytes with a default (see parseByteSize). */
export function byteSizeOption(spec: { help: string; default: number; defaultText?: string }): OptionSpec<number> {
  return {
    kind: 'string', value: 'BYTES', help: spec.help, defaultText: spec.defaultText ?? String(spec.default),
    read: (raw, flag) => {
      if (raw === undefined) return spec.default
      const n = parseByteSize(String(raw))
      return Number.isFinite(n) && n > 0 ? n : bad(flag, raw, 'a size in bytes > 0 (5000000, 500M, 20G, 8GiB)')
    },
  }
}

/** A string flag (a path, a name); `required` makes its absence a usage error. */
export function stringOption(spec: { help: string; value?: string; required: true }): OptionSpec<string>
export function stringOption(spec: { help: string; value?: string; required?: false; defaultText?: string }): OptionSpec<string | undefined>
export function stringOption(spec: { help: string; value?: string; required?: boolean; defaultText?: string }): OptionSpec<string | undefined> {
  return {
    kind: 'string', value: spec.value ?? 'S', help: spec.help, ...(spec.required ? { defaultText: 'required' } : spec.defaultText ? { defaultText: spec.defaultText } : {}),
    read: (raw, flag) => {
      if (raw === undefined && spec.required) throw new UsageError(`--${flag} ${spec.value ?? 'S'} is required`)
      if (raw === '') return bad(flag, "''", 'a non-empty value')
      return raw as string | undefined
    },
  }
}

/** A flag whose value is one of `choices`. */
export function choiceOption<const C extends string>(spec: { help: string; choices: readonly C[]; default: C; value?: string }): OptionSpec<C> {
  return {
    kind: 'string', value: spec.value ?? spec.choices.join('|'), help: spec.help, defaultText: spec.default,
    read: (raw, flag) => {
      if (raw === undefined) return spec.default
      if (!(spec.choices as readonly string[]).includes(raw as string)) {
        const hint = suggest(String(raw), spec.choices)
        throw new ConfigError(`--${flag} ${String(raw)}: expected ${spec.choices.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`)
      }
      return raw as C
    },
  }
}

/** A flag that may repeat and take comma-separated values; [] when absent. */
export function listOption(spec: { help: string; value?: string; defaultText?: string }): OptionSpec<string[]> {
  return {
    kind: 'string', multiple: true, value: spec.value ?? 'S', help: spec.help, ...(spec.defaultText ? { defaultText: spec.defaultText } : {}),
    read: (raw) => ((raw as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== ''),
  }
}

/** A boolean switch (present = true). */
export function switchOption(spec: { help: string }): OptionSpec<boolean> {
  return { kind: 'boolean', help: spec.help, read: (raw) => raw === true }
}

/**
 * Parse `args` against `table`: positionals and typed values. Throws UsageError on an unknown flag (with the
 * closest known one), a missing value or a missing required flag, and ConfigError on a bad value.
 */
export function parseOptions<T extends OptionTable>(args: readonly string[], table: T): { positionals: string[]; values: OptionValues<T> } {
  const config = Object.fromEntries(Object.entries(table).map(([flag, spec]) => [flag, { type: spec.kind, ...(spec.multiple ? { multiple: true } : {}) }]))
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: [...args], options: config, allowPositionals: true, strict: true })
  } catch (error) {
    const e = error as Error & { code?: string }
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'(-{1,2}[^']+)'/.exec(e.message)?.[1] ?? ''
      const hint = suggest(given.replace(/^-+/, '').split('=')[0]!, Object.keys(table))
      throw new UsageError(`unknown option ${given}${hint ? ` (did you mean --${hint}?)` : ''}`)
    }
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(e.message)
    throw error
  }
  const values = Object.fromEntries(Object.entries(table).map(([flag, spec]) => [flag, spec.read(parsed.values[flag] as Raw, flag)]))
  return { positionals: parsed.positionals, values: values as OptionValues<T> }
}

/** Help lines for `table`: `  --flag VALUE   help (default X)`, aligned. */
export function formatOptions(table: OptionTable): string {
  const heads = Object.entries(table).map(([flag, spec]) => `--${flag}${spec.value ? ` ${spec.value}` : ''}`)
  const width = Math.min(26, Math.max(0, ...heads.map((h) => h.length)) + 2)
  return Object.values(table)
    .map((spec, i) => {
      const head = heads[i]!
      const text = `${spec.help}${spec.defaultText !== undefined ? ` (default ${spec.defaultText})` : ''}`
      return head.length + 2 > width ? `  ${head}\n  ${' '.repeat(width)}${text}` : `  ${head.padEnd(width)}${text}`
    })
    .join('\n')
}

/** The candidate closest to `given` by edit distance, when close enough to be a typo (or a unique prefix). */
export function suggest(given: string, candidates: readonly string[]): string | undefined {
  if (given === '') return undefined
  const prefixed = candidates.filter((c) => c.startsWith(given))
  if (prefixed.length === 1) return prefixed[0]
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = editDistance(given.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(1, Math.floor(given.length / 3)) ? best : undefined
}

/** Levenshtein distance (insert, delete, substitute, each 1). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length]!
}
