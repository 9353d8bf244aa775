// Record kinds: for each schema, the stage that turns a listed record into a row (run in worker threads) and
// how its options resolve into the byte-affecting settings of the manifest. Corpora (corpora.ts) name a kind.
import { resolveAudioTextOptions, type AudioCaptionSource } from './audio-text.js'
import { cleanText } from '../text/clean.js'
import { resolveImageTextBoxOptions, type GroundingSource } from './image-text-box.js'
import { resolveAudioImageBoxesOptions, type AudioVisualSource } from './audio-image-boxes.js'
import type { SourceRecord } from './record.js'
import type { DecodeConfig } from '../audio/decode.js'
import type { LogMelConfig } from '../audio/log-mel.js'
import type { TokenizerConfig } from '../text/wordpiece.js'
import type { ImageConfig } from '../image/image-stage.js'
import type { JsonObject } from '../formats/json.js'

/** Stage options as a user gives them (CLI flags, demo defaults); each kind reads the parts it needs. */
export interface StageInput {
  decode?: Partial<DecodeConfig>
  logMel?: Partial<LogMelConfig>
  tokenizer?: Partial<TokenizerConfig>
  /** A BERT vocab.txt, or null/undefined for bert-base-uncased. */
  vocabPath?: string | null
  /** Image stage settings (shortest edge, JPEG quality, ...), for kinds with images. */
  image?: Partial<ImageConfig>
}

export interface RecordKind {
  /** Module (file URL) and factory export of the stage, loaded in each worker. */
  stage: { module: string; factory: string }
  /** Validate options (throws naming a bad one) and list every byte-affecting setting. */
  resolve(input: StageInput): { resolved: unknown; settings: JsonObject }
  /** The corpus files a record names, which the runner checks and resolves before the stage runs. */
  files(record: SourceRecord): string[]
  /** The record with its stored texts (captions, expressions) cleaned (text/clean.ts), and how many changed. */
  cleanTexts(record: SourceRecord): { record: SourceRecord; removed: number }
}

/** Clean every text of `texts`; `removed` counts those that lost a control character. */
function cleanAll(texts: readonly string[]): { texts: string[]; removed: number } {
  let removed = 0
  const out = texts.map((t) => {
    const cleaned = cleanText(t)
    if (cleaned.removed) removed++
    return cleaned.text
  })
  return { texts: out, removed }
}

export const RECORD_KINDS = {
  'audio-text': {
    stage: { module: new URL('./audio-text.js', import.meta.url).href, factory: 'createAudioTextStage' },
    files: (record) => [record.source],
    cleanTexts: (record) => {
      const { texts, removed } = cleanAll((record as AudioCaptionSource).captions)
      return { record: { ...record, captions: texts } as AudioCaptionSource, removed }
    },
    resolve: (input) =>
      resolveAudioTextOptions({ decode: input.decode ?? {}, logMel: input.logMel ?? {}, tokenizer: input.tokenizer ?? {}, vocabPath: input.vocabPath ?? null }),
  },
  'audio-image-boxes': {
    stage: { module: new URL('./audio-image-boxes.js', import.meta.url).href, factory: 'createAudioImageBoxesStage' },
    files: (record) => [...new Set([record.source, (record as AudioVisualSource).audio])],
    cleanTexts: (record) => ({ record, removed: 0 }), // no stored text of its own
    resolve: (input) => resolveAudioImageBoxesOptions({ decode: input.decode ?? {}, logMel: input.logMel ?? {}, image: input.image ?? {} }),
  },
  'image-text-box': {
    stage: { module: new URL('./image-text-box.js', import.meta.url).href, factory: 'createImageTextBoxStage' },
    files: (record) => [record.source],
    cleanTexts: (record) => {
      const { texts, removed } = cleanAll((record as GroundingSource).expressions)
      return { record: { ...record, expressions: texts } as GroundingSource, removed }
    },
    resolve: (input) => resolveImageTextBoxOptions({ image: input.image ?? {}, tokenizer: input.tokenizer ?? {}, vocabPath: input.vocabPath ?? null }),
  },
} as const satisfies Record<string, RecordKind>

export type RecordKindName = keyof typeof RECORD_KINDS
