// The image stage: decode, orient, resize so the shortest edge is `shortEdge`, re-encode as JPEG, and carry the
// boxes through the same transforms. What it stores is what the model sees at inference (docs/method.md, "Inputs":
// the shortest edge scaled to 384, the whole image kept), with boxes normalized to that stored image.
import { readFile } from 'node:fs/promises'
import sharp, { type Metadata, type SharpOptions } from 'sharp'
import { positiveInt, resolveConfig } from '../config.js'
import {
  ANNOTATION_FRAMES,
  type AnnotationFrame,
  type BoxProblem,
  type BoxXywh,
  checkBox,
  normalizeBox,
  orientBox,
  scaleBox,
} from './boxes.js'

/** Settings of prepareImage. `shortEdge`, `jpegQuality` and `annotationFrame` change output bytes: record them. */
export interface ImageConfig {
  /** Shortest edge of the stored image, pixels; images are scaled up or down to it (default 384, as the paper). */
  shortEdge: number
  /** JPEG quality of the stored image, 1..100 (default 90). */
  jpegQuality: number
  /** Frame the input boxes are given in (default 'displayed': EXIF orientation already applied; see boxes.ts). */
  annotationFrame: AnnotationFrame
  /**
   * Largest input width x height that is decoded, pixels (default 8192 x 8192 = 67 Mpx, about 200 MB of RGB).
   * A decompression bomb (a tiny file declaring huge dimensions) is refused from its header, before decoding.
   */
  maxInputPixels: number
}

export const IMAGE_DEFAULTS: ImageConfig = {
  shortEdge: 384,
  jpegQuality: 90,
  annotationFrame: 'displayed',
  maxInputPixels: 8192 * 8192,
}

/** Input formats the stage decodes; anything else (SVG, GIF, TIFF, HEIF...) is a bad-image reject. */
export const IMAGE_INPUT_FORMATS = ['jpeg', 'png', 'webp'] as const

/**
 * Library versions that determine the output bytes for fixed settings (libvips resampling, mozjpeg encoder):
 * put them in the dataset manifest next to the settings, since an upgrade may change every stored JPEG.
 */
export const IMAGE_ENCODER_VERSIONS: Readonly<Record<'sharp' | 'vips' | 'mozjpeg', string>> = {
  sharp: sharp.versions.sharp ?? 'unknown',
  vips: sharp.versions.vips,
  mozjpeg: sharp.versions.mozjpeg ?? 'unknown',
}

/** The background transparent pixels are flattened onto: white, as browsers and annotation tools show them. */
export const ALPHA_BACKGROUND = '#ffffff'

// JPEG's header stores each dimension in 16 bits.
const JPEG_MAX_SIDE = 65_535

/** A box dropped from an item that kept at least one other box; `index` is its position in the input list. */
export interface DroppedBox {
  index: number
  reason: BoxProblem
}

/** A prepared image: stored JPEG, its size, and the surviving boxes normalized to it. */
export interface PreparedImage {
  ok: true
  /** Baseline JPEG, 8-bit sRGB, 3 channels, 4:2:0 chroma, no metadata. */
  jpeg: Uint8Array
  /** Stored size, pixels. */
  width: number
  height: number
  /** Size of the decoded input after EXIF orientation (the displayed frame), pixels. */
  sourceWidth: number
  sourceHeight: number
  /** Surviving boxes as [x, y, w, h] fractions of the stored image, in input order; x + w <= 1 up to rounding. */
  boxes: BoxXywh[]
  /** Boxes that were refused; empty when all survived. */
  dropped: DroppedBox[]
}

export type ImageRejectCode = 'bad-image' | 'bad-box' | 'missing-file' | 'unreadable'

/** Why an item could not be prepared; the caller turns it into a Reject (the stage does not know the key). */
export interface ImageFailure {
  ok: false
  code: ImageRejectCode
  message: string
}

/** Check and complete a partial ImageConfig; throws naming the field and value (unknown keys included). */
export function resolveImageConfig(config: Partial<ImageConfig> = {}): ImageConfig {
  return resolveConfig('image', IMAGE_DEFAULTS, config, {
    shortEdge: positiveInt,
    jpegQuality: (v) => (Number.isInteger(v) && v >= 1 && v <= 100 ? undefined : 'must be an integer 1..100'),
    annotationFrame: (v) => ((ANNOTATION_FRAMES as readonly string[]).includes(v) ? undefined : `must be one of ${ANNOTATION_FRAMES.join(', ')}`),
    maxInputPixels: positiveInt,
  })
}

/**
 * Target size for a `width` x `height` image whose shortest edge becomes `shortEdge`: the short side is exactly
 * `shortEdge`, the long side is round(long * shortEdge / short) (Math.round: halves round up), at least 1. A square
 * image becomes shortEdge x shortEdge. Example: 640x480 -> 512x384; 500x333 -> 577x384.
 */
export function targetSize(width: number, height: number, shortEdge: number): { width: number; height: number } {
  if (width <= height) return { width: shortEdge, height: Math.max(1, Math.round((height * shortEdge) / width)) }
  return { width: Math.max(1, Math.round((width * shortEdge) / height)), height: shortEdge }
}

/**
 * Decode a JPEG, PNG or WebP image (bytes or a file path), apply its EXIF orientation, flatten any alpha onto
 * white, convert to 8-bit sRGB, resize with Lanczos-3 so the shortest edge is `shortEdge` (see targetSize), and
 * encode a metadata-free baseline JPEG. The same input and settings give the same bytes (for one sharp/libvips
 * build: see IMAGE_ENCODER_VERSIONS).
 *
 * `boxes` are [x, y, w, h] pixels of the original image in `annotationFrame`. Each is checked in the displayed
 * frame at the original resolution (checkBox: NaN, degenerate, outside), clipped, then scaled with the same
 * factors as the pixels (sx = newWidth / sourceWidth, sy = newHeight / sourceHeight) and normalized. When every
 * given box fails, the item fails with 'bad-box' (with `keepWithoutBoxes`, it is prepared with no boxes and every
 * box listed in `dropped`); otherwise failing boxes are listed in `dropped`. No boxes in, no boxes out.
 *
 * Returns an ImageFailure for data problems: 'missing-file' / 'unreadable' (path input), 'bad-image' (corrupt,
 * truncated, unsupported format, over maxInputPixels), 'bad-box'. Throws on a bad config.
 */
export async function prepareImage(
  input: Uint8Array | string,
  config: Partial<ImageConfig> = {},
  boxes: readonly BoxXywh[] = [],
  { keepWithoutBoxes = false }: { keepWithoutBoxes?: boolean } = {},
): Promise<PreparedImage | ImageFailure> {
  const { shortEdge, jpegQuality, annotationFrame, maxInputPixels } = resolveImageConfig(config)
  const bytes = typeof input === 'string' ? await readInput(input) : input
  if ('ok' in bytes) return bytes
  const options: SharpOptions = {
    limitInputPixels: maxInputPixels,
    // 'error' aborts on decode errors and truncation but lets libjpeg warnings through (e.g. "extraneous bytes
    // before marker"), which real corpora contain in images that decode fine.
    failOn: 'error',
  }

  let meta: Metadata
  try {
    // Reads the header only; sharp checks limitInputPixels here, so a decompression bomb stops before decoding.
    meta = await sharp(bytes, options).metadata()
  } catch (error) {
    const message = errorMessage(error)
    return { ok: false, code: 'bad-image', message: /pixel limit/.test(message) ? `${message} (maxInputPixels ${maxInputPixels})` : message }
  }
  if (!(IMAGE_INPUT_FORMATS as readonly string[]).includes(meta.format)) {
    return { ok: false, code: 'bad-image', message: `unsupported image format '${meta.format}' (accepted: ${IMAGE_INPUT_FORMATS.join(', ')})` }
  }
  const sourceWidth = meta.autoOrient.width
  const sourceHeight = meta.autoOrient.height
  // libvips ignores an orientation tag outside 1..8, so boxes in the stored frame must too.
  const orientation = meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1

  const kept: BoxXywh[] = []
  const dropped: DroppedBox[] = []
  boxes.forEach((given, index) => {
    const box = annotationFrame === 'stored' ? orientBox(given, orientation, meta.width, meta.height) : given
    const checked = checkBox(box, sourceWidth, sourceHeight)
    if (checked.ok) kept.push(checked.box)
    else dropped.push({ index, reason: checked.problem })
  })
  if (boxes.length > 0 && kept.length === 0 && !keepWithoutBoxes) {
    const detail = dropped.map((d) => `box ${d.index} ${JSON.stringify(boxes[d.index])}: ${d.reason}`).join('; ')
    return { ok: false, code: 'bad-box', message: `no usable box in ${sourceWidth}x${sourceHeight} image (${annotationFrame} frame): ${detail}` }
  }

  const { width, height } = targetSize(sourceWidth, sourceHeight, shortEdge)
  if (width > JPEG_MAX_SIDE || height > JPEG_MAX_SIDE) {
    return { ok: false, code: 'bad-image', message: `${sourceWidth}x${sourceHeight} resized to ${width}x${height} exceeds the JPEG limit of ${JPEG_MAX_SIDE} px per side` }
  }

  let jpeg: Buffer
  try {
    const out = await sharp(bytes, options)
      .autoOrient()
      // fit 'fill' with the exact target keeps sx and sy the ones the boxes use; fastShrinkOnLoad off so a
      // large JPEG is not first shrunk by DCT scaling, which rounds its size and shifts content by a pixel.
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3', fastShrinkOnLoad: false })
      .flatten({ background: ALPHA_BACKGROUND })
      .toColourspace('srgb') // also turns greyscale into 3 channels, so every stored image has the same layout
      // Every encoder switch is spelt out so the bytes do not depend on sharp's defaults changing.
      .jpeg({
        quality: jpegQuality,
        chromaSubsampling: '4:2:0',
        progressive: false,
        optimiseCoding: true,
        trellisQuantisation: false,
        overshootDeringing: false,
        optimiseScans: false,
        quantisationTable: 0,
        mozjpeg: false,
      })
      .toBuffer({ resolveWithObject: true })
    if (out.info.width !== width || out.info.height !== height) {
      throw new Error(`prepareImage: sharp produced ${out.info.width}x${out.info.height}, expected ${width}x${height}`)
    }
    jpeg = out.data
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('prepareImage:')) throw error
    // The header parsed, the pixels did not. libvips' own text for this is not reproducible: with several of its
    // threads decoding at once the same truncated JPEG reads "premature end of JPEG image" in one run and
    // "Unknown error" in the next, and the ledger line must be the same bytes in every run.
    return { ok: false, code: 'bad-image', message: `${meta.format} data cannot be decoded (corrupt or truncated)` }
  }

  const sx = width / sourceWidth
  const sy = height / sourceHeight
  return {
    ok: true,
    jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
    width,
    height,
    sourceWidth,
    sourceHeight,
    boxes: kept.map((box) => clampUnit(normalizeBox(scaleBox(box, sx, sy), width, height))),
    dropped,
  }
}

// Scaling then dividing can land one ulp outside [0, 1]; stored boxes promise fractions of the image.
const clampUnit = (box: BoxXywh): BoxXywh => box.map((v) => Math.min(Math.max(v, 0), 1)) as BoxXywh

async function readInput(path: string): Promise<Uint8Array | ImageFailure> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { ok: false, code: 'missing-file', message: `no such file: ${path}` }
    if (code === 'EACCES' || code === 'EISDIR' || code === 'EPERM') return { ok: false, code: 'unreadable', message: `${code}: ${path}` }
    throw error
  }
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))
