// BERT WordPiece tokenization, id for id as Hugging Face transformers 4.x `BertTokenizer(vocab_file,
// do_lower_case=True)` (the slow, pure-Python tokenizer; `tokenization_bert.py` and `tokenization_utils.py`),
// checked against it in test/fixtures/bert-tokenizer-reference.json (scripts/tokenizer-reference.py).
// Character classes come from Node's Unicode tables and HF's from Python's unicodedata, so a code point
// assigned after Python's Unicode version (14.0 in Python 3.11) is dropped there as unassigned (Cn) and kept
// here; every assigned character gives the same ids (checked on 50,000 random strings).
import { positiveInt, resolveConfig } from '../config.js'
import { BERT_SPECIAL_TOKENS, type Vocab } from './vocab.js'

/** Settings of createTokenizer; both change the ids, so both belong in a dataset's manifest. */
export interface TokenizerConfig {
  /** Most ids `encode` returns, [CLS] and [SEP] included; word pieces past it are cut. Default 30. */
  maxTokens: number
  /** Lower-case and strip accents, as BertTokenizer(do_lower_case=True). Default true. */
  lowerCase: boolean
}

/** Defaults: 30 ids per caption (TURN's text length), uncased as bert-base-uncased. */
export const TOKENIZER_DEFAULTS: TokenizerConfig = { maxTokens: 30, lowerCase: true }

/** A WordPiece tokenizer bound to one vocabulary and config. */
export interface Tokenizer {
  /** Word pieces of `text` ('##' marks a continuation), without [CLS]/[SEP] and not truncated. */
  tokenize(text: string): string[]
  /** [CLS] + pieces + [SEP] as vocabulary ids, at most `config.maxTokens` long (the pieces are cut). */
  encode(text: string): Int32Array
  /** Ids back to text for debugging: pieces joined with spaces, '##' continuations glued (HF
   * `convert_tokens_to_string`); special tokens stay. Throws on an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string
  /** The resolved settings (defaults filled in). */
  readonly config: Readonly<TokenizerConfig>
  /** `Vocab.hash` of the vocabulary, for manifests: it changes the ids. */
  readonly vocabHash: string
}

// HF WordpieceTokenizer(max_input_chars_per_word=100): a longer word becomes [UNK] whole, counted in code points.
const MAX_INPUT_CHARS_PER_WORD = 100

// The tokenizer's special tokens are "added tokens": HF finds them in raw text first (tokens_trie) and keeps
// them whole, before any cleaning or lower-casing; none is a prefix of another, so a regex finds the same.
const SPECIAL_IN_TEXT = new RegExp(`(${BERT_SPECIAL_TOKENS.map((t) => t.replace(/[[\]]/g, '\\$&')).join('|')})`)

// Python's str.split() (HF whitespace_tokenize) splits on str.isspace(), which is wider than BERT's own
// _is_whitespace: after cleaning, U+2028 and U+2029 still split words although BERT never calls them spaces.
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u
const OTHER = /\p{C}/u // Cc, Cf, Cs, Co, Cn: HF _is_control (minus \t \n \r) drops them
const SPACE_SEPARATOR = /\p{Zs}/u
const PUNCTUATION = /\p{P}/u
const NONSPACING_MARK = /\p{Mn}/gu
const NON_ASCII = /[^\x00-\x7f]/

/**
 * A tokenizer over `vocab`. Throws when a config value is invalid (maxTokens must leave room for
 * [CLS] and [SEP]) or a key is unknown.
 */
export function createTokenizer(vocab: Vocab, config: Partial<TokenizerConfig> = {}): Tokenizer {
  const resolved = Object.freeze(
    resolveConfig('tokenizer', TOKENIZER_DEFAULTS, config, {
      maxTokens: (v) => positiveInt(v) ?? (v < 2 ? 'must be >= 2: [CLS] and [SEP] always stay' : undefined),
      lowerCase: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
    }),
  )
  const { maxTokens, lowerCase } = resolved
  const specialId = (token: string): number => {
    const id = vocab.ids.get(token)
    if (id === undefined) throw new Error(`tokenizer: vocabulary ${vocab.source} has no ${token}`)
    return id
  }
  const unkId = specialId('[UNK]')
  const clsId = specialId('[CLS]')
  const sepId = specialId('[SEP]')
  // No piece longer than the longest vocabulary entry can match, so the greedy search starts there.
  let maxPieceChars = 0
  for (const token of vocab.tokens) maxPieceChars = Math.max(maxPieceChars, codePointLength(token))

  const tokenize = (text: string): string[] => {
    const pieces: string[] = []
    for (const segment of splitSpecialTokens(text, lowerCase)) {
      if (segment.special) {
        pieces.push(segment.text)
        continue
      }
      for (const word of basicTokenize(segment.text, lowerCase)) {
        wordPieces(word, vocab.ids, maxPieceChars, pieces)
      }
    }
    return pieces
  }

  const encode = (text: string): Int32Array => {
    const pieces = tokenize(text)
    // HF truncation=True, max_length=N on one sequence drops pieces from the end, never the specials.
    const kept = Math.min(pieces.length, maxTokens - 2)
    const ids = new Int32Array(kept + 2)
    ids[0] = clsId
    for (let i = 0; i < kept; i++) ids[i + 1] = vocab.ids.get(pieces[i]) ?? unkId
    ids[kept + 1] = sepId
    return ids
  }

  const decode = (ids: ArrayLike<number>): string => {
    const tokens: string[] = []
    for (let i = 0; i < ids.length; i++) {
      const token = vocab.tokens[ids[i]]
      if (!Number.isInteger(ids[i]) || token === undefined) {
        throw new Error(`tokenizer: id ${ids[i]} at position ${i} is outside the vocabulary (${vocab.tokens.length} ids)`)
      }
      tokens.push(token)
    }
    return tokens.join(' ').replaceAll(' ##', '').trim()
  }

  return { tokenize, encode, decode, config: resolved, vocabHash: vocab.hash }
}

interface Segment {
  text: string
  special: boolean
}

// HF PreTrainedTokenizer.tokenize (4.x): with do_lower_case it first lower-cases everything but the special
// tokens, one character at a time (re.sub over `(.+?)`), so a word-final 'Σ' becomes 'σ', not 'ς'; then it
// splits on the special tokens. Lower-casing cannot create or break a special token (they are upper case).
function splitSpecialTokens(text: string, lowerCase: boolean): Segment[] {
  const segments: Segment[] = []
  text.split(SPECIAL_IN_TEXT).forEach((part, i) => {
    if (part === '') return
    const special = i % 2 === 1 // split() with a capture group alternates text, match, text, ...
    segments.push({ text: special || !lowerCase ? part : lowerEachChar(part), special })
  })
  return segments
}

function lowerEachChar(text: string): string {
  // Lower-casing a whole string differs from lower-casing each character only by the Final_Sigma rule.
  if (!text.includes('\u03a3')) return text.toLowerCase()
  let out = ''
  for (const char of text) out += char.toLowerCase()
  return out
}

// HF BasicTokenizer.tokenize: clean, space out CJK, NFC, split on whitespace, lower-case + strip accents,
// split off punctuation. The special tokens pass through whole (never_split = all_special_tokens).
function basicTokenize(text: string, lowerCase: boolean): string[] {
  const cleaned = cleanAndSpaceCjk(text).normalize('NFC')
  const out: string[] = []
  for (let word of whitespaceSplit(cleaned)) {
    const neverSplit = isSpecialToken(word)
    if (!neverSplit && lowerCase) word = stripAccents(word.toLowerCase())
    if (neverSplit) out.push(word)
    else splitOnPunctuation(word, out)
  }
  // HF re-joins with ' ' and splits again; only empty words (all accents, stripped) disappear there.
  return out.filter((word) => word !== '')
}

// HF _clean_text drops NUL, U+FFFD and control/format/unassigned characters (category C*) and turns
// whitespace (' ', \t, \n, \r, Zs) into ' '; _tokenize_chinese_chars puts spaces around CJK ideographs.
function cleanAndSpaceCjk(text: string): string {
  let out = ''
  for (const char of text) {
    const cp = char.codePointAt(0) as number
    if (cp < 0x80) {
      if (cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d) out += ' '
      else if (cp >= 0x20 && cp !== 0x7f) out += char
      continue
    }
    if (cp === 0xfffd || OTHER.test(char)) continue
    if (SPACE_SEPARATOR.test(char)) out += ' '
    else if (isChineseChar(cp)) out += ' ' + char + ' '
    else out += char
  }
  return out
}

// HF BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks only (not Hangul, kana or CJK punctuation).
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  )
}

function whitespaceSplit(text: string): string[] {
  return text.split(PY_SPACE).filter((word) => word !== '')
}

function isSpecialToken(word: string): boolean {
  return (BERT_SPECIAL_TOKENS as readonly string[]).includes(word)
}

// HF _run_strip_accents: NFD, then drop nonspacing marks (Mn). Spacing marks (Mc) stay.
function stripAccents(word: string): string {
  return NON_ASCII.test(word) ? word.normalize('NFD').replace(NONSPACING_MARK, '') : word
}

// HF _is_punctuation: all non-alphanumeric printable ASCII ('$', '^', '`' are symbols in Unicode) plus P*.
function isPunctuation(char: string, cp: number): boolean {
  if (cp < 0x80) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)
  return PUNCTUATION.test(char)
}

// HF _run_split_on_punc: each punctuation character becomes a word of its own.
function splitOnPunctuation(word: string, out: string[]): void {
  let current = ''
  for (const char of word) {
    if (isPunctuation(char, char.codePointAt(0) as number)) {
      if (current !== '') out.push(current)
      out.push(char)
      current = ''
    } else {
      current += char
    }
  }
  if (current !== '') out.push(current)
}

// HF WordpieceTokenizer.tokenize: greedy longest-match-first over code points; '##' marks a piece that
// does not start the word; a word with an unmatchable rest, or over 100 code points, is one [UNK].
function wordPieces(word: string, ids: ReadonlyMap<string, number>, maxPieceChars: number, out: string[]): void {
  // bounds[i] is the UTF-16 offset of code point i, so slices never cut a surrogate pair.
  const bounds: number[] = []
  for (let i = 0; i < word.length; i++) {
    const unit = word.charCodeAt(i)
    if (unit < 0xdc00 || unit > 0xdfff || i === 0 || !isHighSurrogate(word.charCodeAt(i - 1))) bounds.push(i)
  }
  const chars = bounds.length
  bounds.push(word.length)
  if (chars > MAX_INPUT_CHARS_PER_WORD) {
    out.push('[UNK]')
    return
  }
  const pieces: string[] = []
  let start = 0
  while (start < chars) {
    const prefix = start > 0 ? '##' : ''
    let end = Math.min(chars, start + maxPieceChars - (start > 0 ? 2 : 0))
    let match: string | undefined
    for (; end > start; end--) {
      const piece = prefix + word.slice(bounds[start], bounds[end])
      if (ids.has(piece)) {
        match = piece
        break
      }
    }
    if (match === undefined) {
      out.push('[UNK]')
      return
    }
    pieces.push(match)
    start = end
  }
  for (const piece of pieces) out.push(piece)
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function codePointLength(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}
