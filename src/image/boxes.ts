// Box types and pure box transforms. Coordinates are continuous: a box [x, y, w, h] covers x <= u < x + w and
// y <= v < y + h, so the pixel with integer index i spans [i, i + 1). A rectangle filling pixel columns
// 100..259 is therefore x = 100, w = 160, and scaling multiplies all four numbers without +-1 corrections.

/** [x, y, w, h]: top-left corner and size, in pixels or normalized to [0, 1] (the name of the holder says which). */
export type BoxXywh = [x: number, y: number, w: number, h: number]

/** [x0, y0, x1, y1]: top-left and bottom-right corners, same units as the BoxXywh it came from. */
export type BoxXyxy = [x0: number, y0: number, x1: number, y1: number]

/**
 * Which pixel frame annotation boxes are given in.
 * - 'displayed': the image as a viewer shows it, EXIF orientation applied. Browsers and annotation tools
 *   (COCO's, LabelMe, CVAT) show the oriented image, so this is the default and needs no box transform.
 * - 'stored': the raw pixel grid as encoded in the file, before the EXIF orientation is applied.
 */
export const ANNOTATION_FRAMES = ['displayed', 'stored'] as const
export type AnnotationFrame = (typeof ANNOTATION_FRAMES)[number]

/** Why a box was refused; see checkBox. */
export const BOX_PROBLEMS = ['nan', 'degenerate', 'outside'] as const
export type BoxProblem = (typeof BOX_PROBLEMS)[number]

/** [x, y, w, h] -> [x0, y0, x1, y1]. */
export const xywhToXyxy = ([x, y, w, h]: Readonly<BoxXywh>): BoxXyxy => [x, y, x + w, y + h]

/** [x0, y0, x1, y1] -> [x, y, w, h]. A box given with swapped corners gets a negative size (checkBox refuses it). */
export const xyxyToXywh = ([x0, y0, x1, y1]: Readonly<BoxXyxy>): BoxXywh => [x0, y0, x1 - x0, y1 - y0]

/**
 * Map a box from the stored (raw, un-rotated) pixel grid of a `width` x `height` image to the displayed frame
 * that EXIF `orientation` (1..8) produces. `width` and `height` are the STORED dimensions; for orientations 5-8
 * the displayed image is `height` x `width`. Throws on an orientation outside 1..8.
 */
export function orientBox(box: BoxXywh, orientation: number, width: number, height: number): BoxXywh {
  const [x0, y0, x1, y1] = xywhToXyxy(box)
  const [ax, ay] = orientPoint(x0, y0, orientation, width, height)
  const [bx, by] = orientPoint(x1, y1, orientation, width, height)
  // Rotations and flips send the top-left corner to some other corner, so re-sort the two mapped corners.
  return xyxyToXywh([Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)])
}

// The EXIF 2.3 orientation table, as where a stored point lands in the displayed image (W, H: stored size):
//   1 as is; 2 mirror left-right; 3 rotate 180; 4 mirror top-bottom; 5 transpose (mirror along the main
//   diagonal); 6 rotate 90 clockwise; 7 transverse (mirror along the anti-diagonal); 8 rotate 90 anticlockwise.
function orientPoint(x: number, y: number, orientation: number, width: number, height: number): [number, number] {
  switch (orientation) {
    case 1: return [x, y]
    case 2: return [width - x, y]
    case 3: return [width - x, height - y]
    case 4: return [x, height - y]
    case 5: return [y, x]
    case 6: return [height - y, x]
    case 7: return [height - y, width - x]
    case 8: return [y, width - x]
    default: throw new Error(`orientBox: EXIF orientation must be an integer 1..8, got ${orientation}`)
  }
}

/** Multiply x and w by `sx`, y and h by `sy` (unitless factors, e.g. newWidth / oldWidth). */
export const scaleBox = ([x, y, w, h]: BoxXywh, sx: number, sy: number): BoxXywh => [x * sx, y * sy, w * sx, h * sy]

/** Intersect a box with the image rectangle [0, width] x [0, height]; an empty result has w or h <= 0. */
export function clipBox(box: BoxXywh, width: number, height: number): BoxXywh {
  const [x0, y0, x1, y1] = xywhToXyxy(box)
  const cx0 = Math.min(Math.max(x0, 0), width)
  const cy0 = Math.min(Math.max(y0, 0), height)
  const cx1 = Math.min(Math.max(x1, 0), width)
  const cy1 = Math.min(Math.max(y1, 0), height)
  return [cx0, cy0, cx1 - cx0, cy1 - cy0]
}

/** Pixel box of a `width` x `height` image -> the same box as fractions of the image size, in [0, 1] when clipped. */
export const normalizeBox = ([x, y, w, h]: BoxXywh, width: number, height: number): BoxXywh =>
  [x / width, y / height, w / width, h / height]

/** Settings of checkBox. */
export interface CheckBoxOptions {
  /** Smallest width and height a box may have after clipping, in pixels (default 1). */
  minSidePx?: number
  /** Smallest area a box may have after clipping, in square pixels (default 4, i.e. a 2x2 box). */
  minAreaPx?: number
}

/**
 * Validate a pixel box against a `width` x `height` image and clip it to the image.
 * Returns `{ ok: true, box }` with the clipped box, or `{ ok: false, problem }`:
 * - 'nan': a coordinate is NaN or infinite;
 * - 'outside': the box does not overlap the image at all (touching an edge counts as outside);
 * - 'degenerate': a negative or zero size as given, or a clipped side < minSidePx, or clipped area < minAreaPx.
 */
export function checkBox(
  box: BoxXywh,
  width: number,
  height: number,
  { minSidePx = 1, minAreaPx = 4 }: CheckBoxOptions = {},
): { ok: true; box: BoxXywh } | { ok: false; problem: BoxProblem } {
  if (box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) return { ok: false, problem: 'nan' }
  const [x, y, w, h] = box
  // A non-positive size is a broken annotation wherever it sits, so it is degenerate rather than outside.
  if (w <= 0 || h <= 0) return { ok: false, problem: 'degenerate' }
  if (x >= width || y >= height || x + w <= 0 || y + h <= 0) return { ok: false, problem: 'outside' }
  const clipped = clipBox(box, width, height)
  const [, , cw, ch] = clipped
  if (cw < minSidePx || ch < minSidePx || cw * ch < minAreaPx) return { ok: false, problem: 'degenerate' }
  return { ok: true, box: clipped }
}
