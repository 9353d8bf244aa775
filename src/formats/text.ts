import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'

/**
 * Decode a metadata text file's bytes as UTF-8, or as ISO-8859-1 when they are not valid UTF-8 (Clotho's metadata
 * CSVs are Latin-1 in some releases). A UTF-8 byte-order mark is dropped.
 */
export function decodeText(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'latin1' } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
    return { text, encoding: 'utf-8' }
  } catch {
    // Not UTF-8: every byte sequence is valid Latin-1, so this cannot fail.
    return { text: new TextDecoder('latin1').decode(bytes), encoding: 'latin1' }
  }
}

/** Read a text file and decode it as `decodeText` does. Throws the fs error. */
export async function readTextFile(path: string): Promise<{ text: string; encoding: 'utf-8' | 'latin1' }> {
  return decodeText(await readFile(path))
}

/** One CSV row as a column -> cell map, with its 1-based line number in the file (header is line 1). */
export interface CsvRow {
  line: number
  cells: Record<string, string>
}

/** Parse CSV text with a header row. Ragged rows are kept (missing cells become ''), so the caller can reject them. */
export function parseCsvWithHeader(text: string): { header: string[]; rows: CsvRow[] } {
  const records = parse(text, { relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as {
    record: string[]
    info: { lines: number }
  }[]
  const header = (records[0]?.record ?? []).map((h) => h.trim())
  const rows = records.slice(1).map(({ record, info }) => ({
    line: info.lines,
    cells: Object.fromEntries(header.map((name, i) => [name, record[i] ?? ''])),
  }))
  return { header, rows }
}

/** Parse CSV text without a header (e.g. vggsound.csv). */
export function parseCsvRows(text: string): { line: number; cells: string[] }[] {
  const records = parse(text, { relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as {
    record: string[]
    info: { lines: number }
  }[]
  return records.map(({ record, info }) => ({ line: info.lines, cells: record }))
}
