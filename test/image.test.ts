import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp, { type Sharp } from 'sharp'
import { tempDir } from './helpers/temp.js'
import { type BoxXywh, checkBox, clipBox, normalizeBox, orientBox, scaleBox, xywhToXyxy, xyxyToXywh } from '../src/image/boxes.js'
import { type ImageFailure, type PreparedImage, prepareImage, targetSize } from '../src/image/image-stage.js'

// Fixture images are raw RGB(A) buffers drawn here pixel by pixel (exact edges, no SVG anti-aliasing) and
// encoded with sharp. A "red rectangle" fills pixel columns x0..x1-1 and rows y0..y1-1, i.e. box [x0, y0, x1-x0, y1-y0].

interface RawImage { data: Buffer; width: number; height: number; channels: 3 | 4 }

/** A `width` x `height` image, white (or transparent with `alpha`), with an opaque red rectangle `rectXyxy`. */
function drawRect(width: number, height: number, rectXyxy: [number, number, number, number], { alpha = false } = {}): RawImage {
  const channels = alpha ? 4 : 3
  const data = Buffer.alloc(width * height * channels)
  const [x0, y0, x1, y1] = rectXyxy
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= x0 && x < x1 && y >= y0 && y < y1
      const p = (y * width + x) * channels
      data[p] = 255
      data[p + 1] = inside ? 0 : 255
      data[p + 2] = inside ? 0 : 255
      if (alpha) data[p + 3] = inside ? 255 : 0
    }
  }
  return { data, width, height, channels }
}

const fromRaw = ({ data, width, height, channels }: RawImage): Sharp => sharp(data, { raw: { width, height, channels } })

/** Bounding box [x, y, w, h] in pixels of the red pixels of an encoded image, found by thresholding. */
async function findRed(image: Uint8Array): Promise<{ box: BoxXywh; width: number; height: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const p = (y * info.width + x) * info.channels
      if (data[p]! > 128 && data[p + 1]! < 128 && data[p + 2]! < 128) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y)
      }
    }
  }
  return { box: [minX, minY, maxX + 1 - minX, maxY + 1 - minY], width: info.width, height: info.height }
}

function assertOk(result: PreparedImage | ImageFailure): PreparedImage {
  if (!result.ok) assert.fail(`expected success, got ${result.code}: ${result.message}`)
  return result
}

/** Each stored box, scaled to pixels, lies within `tolerancePx` of the red rectangle found in the stored JPEG. */
async function assertBoxMatchesPixels(prepared: PreparedImage, tolerancePx: number): Promise<void> {
  const found = await findRed(prepared.jpeg)
  assert.deepEqual([found.width, found.height], [prepared.width, prepared.height])
  const stored = scaleBox(prepared.boxes[0]!, prepared.width, prepared.height)
  const [fx0, fy0, fx1, fy1] = xywhToXyxy(found.box)
  const [sx0, sy0, sx1, sy1] = xywhToXyxy(stored)
  for (const [a, b] of [[fx0, sx0], [fy0, sy0], [fx1, sx1], [fy1, sy1]] as const) {
    assert.ok(Math.abs(a - b) <= tolerancePx, `red pixels at ${JSON.stringify(found.box)}, stored box says ${JSON.stringify(stored)}`)
  }
}

// Pixel operations that undo EXIF orientation n: the stored grid such that a viewer applying n shows `displayed`.
// Written with sharp's explicit rotate/flip/flop, independently of orientBox. Each step is its own sharp pass,
// because within one pipeline sharp applies flip and flop before rotate, whatever the call order.
type Step = (s: Sharp) => Sharp
const rotate = (angle: number): Step => (s) => s.rotate(angle)
const flop: Step = (s) => s.flop() // mirror left-right
const flip: Step = (s) => s.flip() // mirror top-bottom
const UNDO_ORIENTATION: Record<number, Step[]> = {
  1: [],
  2: [flop], // mirror left-right undoes itself
  3: [rotate(180)],
  4: [flip], // mirror top-bottom undoes itself
  5: [rotate(90), flop], // transpose undoes itself: (x, y) -> (H - y, x) -> (y, x)
  6: [rotate(270)], // shown rotated 90 clockwise, so store it rotated 90 anticlockwise
  7: [rotate(90), flip], // transverse undoes itself: (x, y) -> (H - y, x) -> (H - y, W - x)
  8: [rotate(90)],
}

/** A JPEG whose stored pixels, once EXIF `orientation` is applied, show `displayed`; also its stored raw pixels. */
async function orientedJpeg(displayed: RawImage, orientation: number): Promise<{ jpeg: Buffer; stored: RawImage }> {
  let stored = displayed
  for (const step of UNDO_ORIENTATION[orientation]!) {
    const { data, info } = await step(fromRaw(stored)).removeAlpha().raw().toBuffer({ resolveWithObject: true })
    stored = { data, width: info.width, height: info.height, channels: 3 }
  }
  const jpeg = await fromRaw(stored).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer()
  return { jpeg, stored }
}

const PICTURE = drawRect(640, 480, [100, 50, 260, 170])
const PICTURE_BOX: BoxXywh = [100, 50, 160, 120]

describe('box transforms', () => {
  it('converts between xywh and xyxy both ways', () => {
    assert.deepEqual(xywhToXyxy([10, 20, 30, 40]), [10, 20, 40, 60])
    assert.deepEqual(xyxyToXywh([10, 20, 40, 60]), [10, 20, 30, 40])
  })

  it('maps a stored-frame box to the displayed frame for each EXIF orientation', () => {
    // Stored 640x480, box at the top-left corner region x 0..10, y 0..20.
    const box: BoxXywh = [0, 0, 10, 20]
    const displayed = [1, 2, 3, 4, 5, 6, 7, 8].map((o) => orientBox(box, o, 640, 480))
    assert.deepEqual(displayed, [
      [0, 0, 10, 20], // 1 as is
      [630, 0, 10, 20], // 2 mirrored: now top-right
      [630, 460, 10, 20], // 3 rotated 180: bottom-right
      [0, 460, 10, 20], // 4 flipped: bottom-left
      [0, 0, 20, 10], // 5 transposed (480x640): top-left, sides swapped
      [460, 0, 20, 10], // 6 rotated 90 clockwise: top-right
      [460, 630, 20, 10], // 7 transverse: bottom-right
      [0, 630, 20, 10], // 8 rotated 90 anticlockwise: bottom-left
    ])
  })

  it('refuses an EXIF orientation outside 1..8', () => {
    assert.throws(() => orientBox([0, 0, 1, 1], 9, 10, 10), /orientation must be an integer 1\.\.8, got 9/)
  })

  it('scales, clips and normalizes boxes', () => {
    assert.deepEqual(scaleBox([10, 20, 30, 40], 0.5, 2), [5, 40, 15, 80])
    assert.deepEqual(clipBox([-10, 460, 100, 100], 640, 480), [0, 460, 90, 20])
    assert.deepEqual(normalizeBox([160, 120, 320, 240], 640, 480), [0.25, 0.25, 0.5, 0.5])
  })

  it('checkBox clips a partly outside box and names the problem of a bad one', () => {
    assert.deepEqual(checkBox([600, 400, 100, 100], 640, 480), { ok: true, box: [600, 400, 40, 80] })
    assert.deepEqual(checkBox([NaN, 0, 10, 10], 640, 480), { ok: false, problem: 'nan' })
    assert.deepEqual(checkBox([0, 0, Infinity, 10], 640, 480), { ok: false, problem: 'nan' })
    assert.deepEqual(checkBox([10, 10, 0, 10], 640, 480), { ok: false, problem: 'degenerate' })
    assert.deepEqual(checkBox([10, 10, -5, 10], 640, 480), { ok: false, problem: 'degenerate' })
    assert.deepEqual(checkBox([10, 10, 0.5, 30], 640, 480), { ok: false, problem: 'degenerate' })
    assert.deepEqual(checkBox([639.5, 10, 40, 30], 640, 480), { ok: false, problem: 'degenerate' })
    assert.deepEqual(checkBox([640, 10, 40, 30], 640, 480), { ok: false, problem: 'outside' })
    assert.deepEqual(checkBox([-50, -50, 20, 20], 640, 480), { ok: false, problem: 'outside' })
  })
})

describe('prepareImage', () => {
  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`keeps a displayed-frame box on the drawn rectangle under EXIF orientation ${orientation}`, async () => {
      const { jpeg, stored } = await orientedJpeg(PICTURE, orientation)
      // The fixture itself: the file carries the tag, and a viewer applying it sees the same picture.
      assert.equal((await sharp(jpeg).metadata()).orientation, orientation)
      assert.deepEqual((await findRed(await sharp(jpeg).autoOrient().png().toBuffer())).box, PICTURE_BOX)
      assert.deepEqual([stored.width, stored.height], orientation >= 5 ? [480, 640] : [640, 480])

      const prepared = assertOk(await prepareImage(jpeg, {}, [PICTURE_BOX]))
      assert.deepEqual([prepared.width, prepared.height, prepared.sourceWidth, prepared.sourceHeight], [512, 384, 640, 480])
      assert.deepEqual(prepared.boxes, [[100 / 640, 50 / 480, 160 / 640, 120 / 480]])
      await assertBoxMatchesPixels(prepared, 1.5)
    })

    it(`gives the same stored box for a stored-frame box under EXIF orientation ${orientation}`, async () => {
      const { jpeg, stored } = await orientedJpeg(PICTURE, orientation)
      const storedBox = (await findRed(await fromRaw(stored).png().toBuffer())).box
      const fromStored = assertOk(await prepareImage(jpeg, { annotationFrame: 'stored' }, [storedBox]))
      const fromDisplayed = assertOk(await prepareImage(jpeg, {}, [PICTURE_BOX]))
      assert.deepEqual(fromStored.boxes, fromDisplayed.boxes)
      assert.deepEqual(fromStored.jpeg, fromDisplayed.jpeg)
    })
  }

  it('scales a small image up so its shortest edge is 384', async () => {
    const jpeg = await fromRaw(drawRect(64, 48, [10, 8, 42, 30])).png().toBuffer()
    const prepared = assertOk(await prepareImage(jpeg, {}, [[10, 8, 32, 22]]))
    assert.deepEqual([prepared.width, prepared.height], [512, 384])
    await assertBoxMatchesPixels(prepared, 2)
  })

  it('scales a large image down so its shortest edge is 384', async () => {
    const jpeg = await fromRaw(drawRect(2000, 1500, [300, 200, 900, 700])).jpeg({ quality: 95 }).toBuffer()
    const prepared = assertOk(await prepareImage(jpeg, {}, [[300, 200, 600, 500]]))
    assert.deepEqual([prepared.width, prepared.height], [512, 384])
    await assertBoxMatchesPixels(prepared, 1.5)
  })

  it('uses separate x and y scale factors when the long side rounds', async () => {
    // 500x333 -> 577x384: sx = 1.154, sy = 1.1532
    assert.deepEqual(targetSize(500, 333, 384), { width: 577, height: 384 })
    const jpeg = await fromRaw(drawRect(500, 333, [123, 45, 301, 290])).png().toBuffer()
    const prepared = assertOk(await prepareImage(jpeg, {}, [[123, 45, 178, 245]]))
    assert.deepEqual([prepared.width, prepared.height], [577, 384])
    await assertBoxMatchesPixels(prepared, 1.5)
  })

  it('makes a portrait image 384 wide', () => {
    assert.deepEqual(targetSize(480, 640, 384), { width: 384, height: 512 })
    assert.deepEqual(targetSize(300, 300, 384), { width: 384, height: 384 })
  })

  it('rejects an item whose only box is NaN, degenerate or outside, naming the reason', async () => {
    const jpeg = await fromRaw(PICTURE).jpeg().toBuffer()
    const cases: [BoxXywh, string][] = [[[NaN, 50, 160, 120], 'nan'], [[100, 50, 0.4, 120], 'degenerate'], [[700, 50, 160, 120], 'outside']]
    for (const [box, reason] of cases) {
      const result = await prepareImage(jpeg, {}, [box])
      assert.equal(result.ok, false)
      assert.equal((result as ImageFailure).code, 'bad-box')
      assert.match((result as ImageFailure).message, new RegExp(`^no usable box in 640x480 image \\(displayed frame\\): box 0 .*: ${reason}$`))
    }
  })

  it('keeps the good boxes of an item with several and lists the dropped ones', async () => {
    const jpeg = await fromRaw(PICTURE).jpeg().toBuffer()
    const prepared = assertOk(await prepareImage(jpeg, {}, [[700, 0, 10, 10], PICTURE_BOX, [NaN, 0, 1, 1], [600, 400, 100, 100], [5, 5, 0, 9]]))
    assert.deepEqual(prepared.boxes, [[100 / 640, 50 / 480, 160 / 640, 120 / 480], [600 / 640, 400 / 480, 40 / 640, 80 / 480]])
    assert.deepEqual(prepared.dropped, [{ index: 0, reason: 'outside' }, { index: 2, reason: 'nan' }, { index: 4, reason: 'degenerate' }])
  })

  it('returns no boxes when given none', async () => {
    const prepared = assertOk(await prepareImage(await fromRaw(PICTURE).jpeg().toBuffer()))
    assert.deepEqual([prepared.boxes, prepared.dropped], [[], []])
  })

  it('rejects unreadable bytes as bad-image with the decoder message', async () => {
    assert.deepEqual(await prepareImage(new TextEncoder().encode('not an image at all')), {
      ok: false, code: 'bad-image', message: 'Input buffer contains unsupported image format',
    })
  })

  it('rejects a truncated JPEG as bad-image with the same message every time, however many decode at once', async () => {
    const jpeg = await fromRaw(PICTURE).jpeg().toBuffer()
    const results = await Promise.all(Array.from({ length: 24 }, () => prepareImage(jpeg.subarray(0, 2000), {}, [PICTURE_BOX])))
    for (const result of results) assert.deepEqual(result, { ok: false, code: 'bad-image', message: 'jpeg data cannot be decoded (corrupt or truncated)' })
  })

  it('rejects a decompression bomb from its header before decoding', async () => {
    // A 64x48 JPEG whose SOF0 header is patched to claim 30000x30000 (900 Mpx).
    const jpeg = Buffer.from(await fromRaw(drawRect(64, 48, [0, 0, 1, 1])).jpeg().toBuffer())
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]))
    jpeg.writeUInt16BE(30_000, sof + 5)
    jpeg.writeUInt16BE(30_000, sof + 7)
    assert.deepEqual(await prepareImage(jpeg), {
      ok: false, code: 'bad-image', message: 'Input image exceeds pixel limit (maxInputPixels 67108864)',
    })
  })

  it('rejects formats other than JPEG, PNG and WebP', async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    assert.deepEqual(await prepareImage(svg), {
      ok: false, code: 'bad-image', message: "unsupported image format 'svg' (accepted: jpeg, png, webp)",
    })
  })

  it('reads a path and reports a missing file as missing-file', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'a.jpg'), await fromRaw(PICTURE).jpeg().toBuffer())
    assertOk(await prepareImage(join(dir, 'a.jpg'), {}, [PICTURE_BOX]))
    assert.deepEqual(await prepareImage(join(dir, 'b.jpg')), { ok: false, code: 'missing-file', message: `no such file: ${join(dir, 'b.jpg')}` })
  })

  it('gives identical JPEG bytes for the same input twice', async () => {
    const { jpeg } = await orientedJpeg(PICTURE, 6)
    const first = assertOk(await prepareImage(jpeg, {}, [PICTURE_BOX]))
    const second = assertOk(await prepareImage(Buffer.from(jpeg), {}, [PICTURE_BOX]))
    assert.ok(Buffer.from(first.jpeg).equals(Buffer.from(second.jpeg)))
  })

  it('stores a baseline 4:2:0 sRGB JPEG without metadata', async () => {
    const { jpeg } = await orientedJpeg(PICTURE, 6)
    const meta = await sharp(assertOk(await prepareImage(jpeg)).jpeg).metadata()
    assert.deepEqual(
      [meta.format, meta.space, meta.channels, meta.depth, meta.chromaSubsampling, meta.isProgressive, meta.orientation, meta.exif, meta.icc],
      ['jpeg', 'srgb', 3, 'uchar', '4:2:0', false, undefined, undefined, undefined],
    )
  })

  it('flattens a PNG with alpha onto white', async () => {
    const png = await fromRaw(drawRect(64, 48, [10, 8, 42, 30], { alpha: true })).png().toBuffer()
    const prepared = assertOk(await prepareImage(png, {}, [[10, 8, 32, 22]]))
    await assertBoxMatchesPixels(prepared, 2)
    const { data, info } = await sharp(prepared.jpeg).raw().toBuffer({ resolveWithObject: true })
    assert.equal(info.channels, 3)
    assert.ok(data[0]! > 250 && data[1]! > 250 && data[2]! > 250, `corner pixel ${data[0]},${data[1]},${data[2]} is not white`)
  })

  it('reads WebP input', async () => {
    const webp = await fromRaw(PICTURE).webp({ lossless: true }).toBuffer()
    await assertBoxMatchesPixels(assertOk(await prepareImage(webp, {}, [PICTURE_BOX])), 1.5)
  })

  it('turns a greyscale image into 3-channel sRGB', async () => {
    const grey = await fromRaw(PICTURE).toColourspace('b-w').png().toBuffer()
    assert.equal((await sharp(grey).metadata()).channels, 1)
    assert.equal((await sharp(assertOk(await prepareImage(grey)).jpeg).metadata()).channels, 3)
  })

  it('honours shortEdge and jpegQuality', async () => {
    const jpeg = await fromRaw(PICTURE).jpeg().toBuffer()
    const small = assertOk(await prepareImage(jpeg, { shortEdge: 96, jpegQuality: 50 }))
    const large = assertOk(await prepareImage(jpeg, { shortEdge: 96, jpegQuality: 95 }))
    assert.deepEqual([small.width, small.height], [128, 96])
    assert.ok(small.jpeg.byteLength < large.jpeg.byteLength)
  })

  it('refuses unknown and out-of-range settings', async () => {
    const jpeg = await fromRaw(PICTURE).jpeg().toBuffer()
    await assert.rejects(prepareImage(jpeg, { jpegQuality: 0 }), /image: jpegQuality = 0: must be an integer 1\.\.100/)
    await assert.rejects(prepareImage(jpeg, { shortEdge: 38.4 }), /image: shortEdge = 38\.4: must be a positive integer/)
    await assert.rejects(prepareImage(jpeg, { quality: 90 } as never), /image: unknown setting 'quality'/)
  })
})
