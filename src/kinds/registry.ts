// Record kinds: for each schema, the stage that turns a listed record into a row (run in worker threads) and
// how its options resolve into the byte-affecting settings of the manifest. Corpora (corpora.ts) name a kind.
import { resolveAudioTextOptions } from './audio-text.js'
import { resolveImageTextBoxOptions } from './image-text-box.js'
import { resolveAudioImageBoxesOptions } from './audio-image-boxes.js'
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
  resolve(root: string, input: StageInput): { resolved: unknown; settings: JsonObject }
}

export const RECORD_KINDS = {
  'audio-text': {
    stage: { module: new URL('./audio-text.js', import.meta.url).href, factory: 'createAudioTextStage' },
    resolve: (root, input) =>
      resolveAudioTextOptions(root, { decode: input.decode ?? {}, logMel: input.logMel ?? {}, tokenizer: input.tokenizer ?? {}, vocabPath: input.vocabPath ?? null }),
  },
  'audio-image-boxes': {
    stage: { module: new URL('./audio-image-boxes.js', import.meta.url).href, factory: 'createAudioImageBoxesStage' },
    resolve: (root, input) => resolveAudioImageBoxesOptions(root, { decode: input.decode ?? {}, logMel: input.logMel ?? {}, image: input.image ?? {} }),
  },
  'image-text-box': {
    stage: { module: new URL('./image-text-box.js', import.meta.url).href, factory: 'createImageTextBoxStage' },
    resolve: (root, input) => resolveImageTextBoxOptions(root, { image: input.image ?? {}, tokenizer: input.tokenizer ?? {}, vocabPath: input.vocabPath ?? null }),
  },
} as const satisfies Record<string, RecordKind>

export type RecordKindName = keyof typeof RECORD_KINDS
