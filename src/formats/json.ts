// Canonical JSON: the one text form of a JSON value that turnkit hashes (settings, listings, manifests), so
// equal values give equal bytes whatever their key order; and the one reader of JSON and JSON Lines files.
import { readTextFile } from './text.js'

/** A JSON value as `canonicalJson` accepts it: plain objects, arrays, strings, finite numbers, booleans, null. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object of settings. */
export type JsonObject = { [key: string]: JsonValue }

/**
 * Canonical JSON text of `value`: object keys sorted by UTF-16 code unit (as RFC 8785 does), recursively, no
 * whitespace, numbers as `JSON.stringify` writes them. Equal values give equal text whatever the key order, so
 * the text can be hashed.
 * Throws naming the path (`$.settings.nFft`) on what JSON cannot carry faithfully: undefined, NaN, ±Infinity,
 * bigint, functions, symbols, and objects that are not plain (Date, Map, typed arrays), whose JSON form hides data.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', '', '')
}

/**
 * The same value checks and key order as `canonicalJson`, pretty-printed with `indent` spaces (default 2) and
 * no trailing newline: for files people read (manifest.json). Written by hand rather than by
 * `JSON.stringify(sorted, null, 2)`, because JS objects put integer-like keys ("10", "2") first whatever the
 * insertion order.
 */
export function sortedJsonPretty(value: unknown, indent = 2): string {
  return encode(value, '$', ' '.repeat(indent), '')
}

function encode(value: unknown, path: string, step: string, pad: string): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${path} is ${value}, which JSON cannot represent`)
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) {
        const parts: string[] = []
        for (let i = 0; i < value.length; i++) {
          // A hole would silently become null in JSON.stringify; refuse it instead.
          if (!(i in value)) throw new Error(`canonicalJson: ${path}[${i}] is a hole in the array`)
          parts.push(encode(value[i], `${path}[${i}]`, step, pad + step))
        }
        return wrap('[', parts, ']', step, pad)
      }
      const proto = Object.getPrototypeOf(value) as unknown
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as object).constructor?.name ?? 'unknown'
        throw new Error(`canonicalJson: ${path} is a ${name}, not a plain object`)
      }
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).sort()
      const colon = step === '' ? ':' : ': '
      const parts = keys.map((k) => `${JSON.stringify(k)}${colon}${encode(record[k], `${path}.${k}`, step, pad + step)}`)
      return wrap('{', parts, '}', step, pad)
    }
    default:
      throw new Error(`canonicalJson: ${path} is ${typeof value}, which JSON cannot represent`)
  }
}

function wrap(open: string, parts: string[], close: string, step: string, pad: string): string {
  if (step === '' || parts.length === 0) return `${open}${parts.join(',')}${close}`
  const inner = pad + step
  return `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${pad}${close}`
}

/**
 * Parse JSON as corpora ship it: Python's json.dump may have written NaN, Infinity and -Infinity
 * (allow_nan=True), which JSON.parse refuses; those tokens (outside strings) become null, so a NaN box reads as
 * [null, ...] and is refused downstream as non-finite. Throws naming `source` when the text is not JSON even so.
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text)
  } catch (first) {
    const patched = text.replace(/"(?:[^"\\]|\\.)*"|-?\bInfinity\b|\bNaN\b/g, (m) => (m.startsWith('"') ? m : 'null'))
    try {
      return JSON.parse(patched)
    } catch {
      throw new Error(`${source}: not valid JSON: ${(first as Error).message}`)
    }
  }
}

/** A line of a JSON Lines text that did not parse: its 1-based number and why. */
export interface BadJsonLine {
  line: number
  message: string
}

/**
 * Parse JSON Lines text (one value per line, as `parseJson` reads them; blank lines skipped). Lines that do not
 * parse are returned in `bad`, not thrown, so a caller can ledger them, skip a torn last line, or fail.
 */
export function parseJsonLines(text: string): { values: unknown[]; lines: number[]; bad: BadJsonLine[] } {
  const values: unknown[] = []
  const lines: number[] = []
  const bad: BadJsonLine[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      values.push(parseJson(line, `line ${i + 1}`))
      lines.push(i + 1)
    } catch (error) {
      bad.push({ line: i + 1, message: (error as Error).message.replace(`line ${i + 1}: `, '') })
    }
  })
  return { values, lines, bad }
}

/**
 * Read and parse a JSON file (text as `readTextFile` decodes it; values as `parseJson` reads them). Throws naming
 * `source` (default: the path) when the file cannot be read or is not JSON.
 */
export async function readJsonFile(path: string, source = path): Promise<unknown> {
  return parseJson(await readNamed(path, source), source)
}

/** Read a JSON Lines file (see `parseJsonLines`). Throws naming `source` when the file cannot be read. */
export async function readJsonLines(path: string, source = path): Promise<ReturnType<typeof parseJsonLines>> {
  return parseJsonLines(await readNamed(path, source))
}

async function readNamed(path: string, source: string): Promise<string> {
  try {
    return (await readTextFile(path)).text
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`${source}: cannot be read (${code ?? String(error)})`, { cause: error })
  }
}
