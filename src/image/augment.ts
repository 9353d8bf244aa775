// Source-domain images as the model takes them: a `size` x `size` RGB canvas of floats in [0, 1]. Training uses
// random scale, crop and translate (docs/method.md, A.2.1); evaluation letterboxes the whole image. Every geometric
// change is one axis-aligned affine map, original pixel (x, y) -> canvas (scaleX·x + offsetX, scaleY·y + offsetY),
// applied to the pixels (one sharp resize to integer dimensions, then an integer-offset paste) and to the box
// with the very same numbers, so boxes stay exact: the scales are the realised integer sizes over the original
// sizes, not the drawn factor. No horizontal flip: referring expressions say "left" and "right".

import sharp from 'sharp'
import { type BoxXywh, clipBox, normalizeBox, scaleBox } from './boxes.js'

/** Canvas fill: the ImageNet mean RGB (the backbone's normalization maps it to 0, i.e. "no signal"). */
export const IMAGENET_MEAN_RGB: readonly [number, number, number] = [0.485, 0.456, 0.406]

/** The affine map from an original image to the canvas (canvas px = scale · original px + offset). */
export interface ImageTransform {
  /** original image size, pixels */
  width: number
  height: number
  /** canvas side, pixels */
  size: number
  /** canvas pixels per original pixel, per axis (realised: resizedWidth / width) */
  scaleX: number
  scaleY: number
  /** canvas position of the original's top-left corner, pixels (negative when cropped) */
  offsetX: number
  offsetY: number
}

/** Settings of `augmentImage`. */
export interface AugmentConfig {
  /** scale range relative to the letterboxed size (long side = canvas); defaults 0.75 and 1.25 */
  minScale: number
  maxScale: number
  /** a draw is kept when at least this fraction of the box area stays on the canvas (default 0.5) */
  minVisible: number
  /** draws tried before falling back to the plain letterbox (default 10) */
  maxTries: number
  /** canvas colour outside the image, RGB in [0, 1] (default the ImageNet mean) */
  fill: readonly [number, number, number]
}

/** Defaults of `augmentImage`. */
export const AUGMENT_DEFAULTS: AugmentConfig = { minScale: 0.75, maxScale: 1.25, minVisible: 0.5, maxTries: 10, fill: IMAGENET_MEAN_RGB }

/** A canvas and how it was made. */
export interface CanvasImage {
  /** [size][size][3] RGB floats in [0, 1], row-major */
  pixels: Float32Array
  transform: ImageTransform
}

/** An augmented training image with its box. */
export interface AugmentedImage extends CanvasImage {
  /** the box on the canvas, normalized to [0, 1] by `size`, clipped to the canvas */
  box: BoxXywh
  /** false when no draw kept enough of the box and the plain letterbox was used */
  augmented: boolean
  /** draws made (1..maxTries) */
  tries: number
}

/**
 * The evaluation transform of a `width` x `height` image: scaled so its long side is `size` (aspect kept),
 * centred, the rest padded. Throws on non-positive sizes.
 */
export function letterboxTransform(width: number, height: number, size: number): ImageTransform {
  checkSizes(width, height, size)
  const scale = size / Math.max(width, height)
  const w = Math.max(1, Math.round(width * scale))
  const h = Math.max(1, Math.round(height * scale))
  return { width, height, size, scaleX: w / width, scaleY: h / height, offsetX: Math.floor((size - w) / 2), offsetY: Math.floor((size - h) / 2) }
}

/** A normalized box of the original image -> the same box on the canvas, normalized by `size`, not clipped. */
export function transformBox(box: Readonly<BoxXywh>, t: ImageTransform): BoxXywh {
  const [x, y, w, h] = scaleBox([box[0], box[1], box[2], box[3]], t.width, t.height) // to original pixels
  return normalizeBox([x * t.scaleX + t.offsetX, y * t.scaleY + t.offsetY, w * t.scaleX, h * t.scaleY], t.size, t.size)
}

/** A normalized canvas box clipped to the canvas [0, 1] x [0, 1]. */
export const clipToCanvas = (box: Readonly<BoxXywh>): BoxXywh => clipBox([box[0], box[1], box[2], box[3]], 1, 1)

/**
 * A box predicted on the canvas (normalized by `size`) -> the original image's normalized coordinates: the
 * inverse of `transformBox`, clipped to the image. Use with the transform `letterbox` returned.
 */
export function unletterboxBox(box: Readonly<BoxXywh>, t: ImageTransform): BoxXywh {
  const [u, v, w, h] = [box[0] * t.size, box[1] * t.size, box[2] * t.size, box[3] * t.size]
  const original: BoxXywh = [(u - t.offsetX) / t.scaleX, (v - t.offsetY) / t.scaleY, w / t.scaleX, h / t.scaleY]
  return normalizeBox(clipBox(original, t.width, t.height), t.width, t.height)
}

/**
 * Letterbox an encoded image (JPEG, PNG or WebP bytes) for evaluation: see `letterboxTransform`. Returns the
 * canvas and the transform (for `unletterboxBox`). Throws sharp's error on undecodable bytes.
 */
export async function letterbox(image: Uint8Array, size: number, fill: readonly [number, number, number] = IMAGENET_MEAN_RGB): Promise<CanvasImage> {
  const { width, height } = await imageSize(image)
  const transform = letterboxTransform(width, height, size)
  return { pixels: await render(image, transform, fill), transform }
}

/**
 * Training augmentation of one image and its box (normalized [x, y, w, h] of the original image): scale by a
 * factor uniform in [minScale, maxScale] of the letterbox scale, then place the image at an offset uniform over
 * every integer position where it either fits inside the canvas or covers it (translate and crop in one draw).
 * A draw that keeps less than `minVisible` of the box area is redrawn, up to `maxTries`; then the plain
 * letterbox is used. Deterministic for the same `random` state (3 draws per try).
 * Throws on a bad setting or undecodable bytes.
 */
export async function augmentImage(
  image: Uint8Array,
  box: Readonly<BoxXywh>,
  size: number,
  random: () => number,
  config: Partial<AugmentConfig> = {},
): Promise<AugmentedImage> {
  const c = { ...AUGMENT_DEFAULTS, ...config }
  if (!(c.minScale > 0 && c.maxScale >= c.minScale)) throw new Error(`augmentImage: scale range [${c.minScale}, ${c.maxScale}] must satisfy 0 < min <= max`)
  if (!(c.minVisible >= 0 && c.minVisible <= 1)) throw new Error(`augmentImage: minVisible ${c.minVisible} must be in [0, 1]`)
  if (!Number.isInteger(c.maxTries) || c.maxTries < 1) throw new Error(`augmentImage: maxTries ${c.maxTries} must be a positive integer`)
  const { width, height } = await imageSize(image)
  const base = letterboxTransform(width, height, size)
  for (let tries = 1; tries <= c.maxTries; tries++) {
    const factor = c.minScale + (c.maxScale - c.minScale) * random()
    const scale = (size / Math.max(width, height)) * factor
    const w = Math.max(1, Math.round(width * scale))
    const h = Math.max(1, Math.round(height * scale))
    const offsetX = Math.min(0, size - w) + Math.floor(random() * (Math.abs(size - w) + 1))
    const offsetY = Math.min(0, size - h) + Math.floor(random() * (Math.abs(size - h) + 1))
    const transform: ImageTransform = { width, height, size, scaleX: w / width, scaleY: h / height, offsetX, offsetY }
    const moved = transformBox(box, transform)
    const clipped = clipToCanvas(moved)
    const area = moved[2] * moved[3]
    const visible = area > 0 ? (Math.max(0, clipped[2]) * Math.max(0, clipped[3])) / area : 0
    if (visible >= c.minVisible && clipped[2] > 0 && clipped[3] > 0) {
      return { pixels: await render(image, transform, c.fill), transform, box: clipped, augmented: true, tries }
    }
  }
  return { pixels: await render(image, base, c.fill), transform: base, box: clipToCanvas(transformBox(box, base)), augmented: false, tries: c.maxTries }
}

/** Width and height of encoded image bytes, from the header. Throws when sharp cannot read them. */
export async function imageSize(image: Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(image).metadata()
  if (meta.width === undefined || meta.height === undefined) throw new Error('augment: image has no dimensions')
  return { width: meta.width, height: meta.height }
}

/** Decode, resize to the transform's integer size, and paste at its offset onto a filled canvas. */
async function render(image: Uint8Array, t: ImageTransform, fill: readonly [number, number, number]): Promise<Float32Array> {
  const w = Math.round(t.width * t.scaleX)
  const h = Math.round(t.height * t.scaleY)
  const { data, info } = await sharp(image)
    .removeAlpha()
    .toColourspace('srgb')
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  const channels = info.channels
  const size = t.size
  const pixels = new Float32Array(size * size * 3)
  for (let i = 0; i < size * size; i++) {
    pixels[i * 3] = fill[0]
    pixels[i * 3 + 1] = fill[1]
    pixels[i * 3 + 2] = fill[2]
  }
  const x0 = Math.max(0, t.offsetX)
  const x1 = Math.min(size, t.offsetX + w)
  const y0 = Math.max(0, t.offsetY)
  const y1 = Math.min(size, t.offsetY + h)
  for (let y = y0; y < y1; y++) {
    let src = ((y - t.offsetY) * w + (x0 - t.offsetX)) * channels
    let dst = (y * size + x0) * 3
    for (let x = x0; x < x1; x++) {
      // Grey images decode to one channel; repeat it.
      pixels[dst] = data[src] / 255
      pixels[dst + 1] = data[channels >= 3 ? src + 1 : src] / 255
      pixels[dst + 2] = data[channels >= 3 ? src + 2 : src] / 255
      src += channels
      dst += 3
    }
  }
  return pixels
}

function checkSizes(width: number, height: number, size: number): void {
  for (const [name, v] of [['width', width], ['height', height], ['size', size]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`augment: ${name} = ${v} must be a positive integer`)
  }
}
