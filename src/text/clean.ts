// Text as it is stored: captions and referring expressions come from crowd workers and scrapers, and some carry
// control characters (NUL, BEL), or Unicode bidi controls (U+202E) that make a caption display reversed. They are
// removed before anything is stored or tokenized; whitespace is collapsed.

// C0 controls but tab, newline and carriage return (whitespace, collapsed below), DEL, and the C1 block.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu
// Bidi embedding, override and isolate controls, and the directional marks (LRM, RLM, ALM).
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu

/** The rule as the manifest records it (a byte-affecting setting). */
export const TEXT_CLEANING = 'c0-c1-bidi-controls-removed, whitespace-collapsed'

/**
 * `text` without C0/C1 control characters and bidi controls, whitespace runs collapsed to one space, trimmed.
 * `removed` says whether any control character was removed (whitespace changes do not count).
 */
export function cleanText(text: string): { text: string; removed: boolean } {
  const stripped = text.replace(CONTROL, '').replace(BIDI, '')
  return { text: stripped.replace(/\s+/g, ' ').trim(), removed: stripped.length !== text.length }
}
