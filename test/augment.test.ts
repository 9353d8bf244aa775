import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import type { BoxXywh } from '../src/image/boxes.js'
import { augmentImage, IMAGENET_MEAN_RGB, letterbox, letterboxTransform, transformBox, unletterboxBox } from '../src/image/augment.js'
import { seededRandom } from '../src/random.js'

// A grey `width` x `height` JPEG with a white rectangle filling pixel columns x0..x1-1 and rows y0..y1-1.
async function rectJpeg(width: number, height: number, [x0, y0, x1, y1]: [number, number, number, number]): Promise<Uint8Array> {
  const data = Buffer.alloc(width * height * 3, 100)
  for (let y = y0; y < y1; y++) data.fill(255, (y * width + x0) * 3, (y * width + x1) * 3)
  return await sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
}

/** Pixel bounding box [x, y, w, h] of the canvas pixels brighter than 0.7 in every channel. */
function findWhite(pixels: Float32Array, size: number): BoxXywh {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 3
      if (pixels[p] > 0.7 && pixels[p + 1] > 0.7 && pixels[p + 2] > 0.7) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y)
      }
    }
  }
  return [minX, minY, maxX + 1 - minX, maxY + 1 - minY]
}

const BOX: BoxXywh = [60 / 300, 40 / 200, 90 / 300, 70 / 200] // the rectangle [60, 40, 150, 110] of a 300 x 200 image

describe('augmentImage', () => {
  it('moves the box exactly as the pixels move (within 1.5 px), for many draws', async () => {
    const jpeg = await rectJpeg(300, 200, [60, 40, 150, 110])
    const size = 128
    let augmented = 0
    for (let seed = 0; seed < 12; seed++) {
      const out = await augmentImage(jpeg, BOX, size, seededRandom(seed))
      augmented += out.augmented ? 1 : 0
      const found = findWhite(out.pixels, size)
      const expected = out.box.map((v) => v * size)
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(found[i] - expected[i]) <= 1.5, `seed ${seed}: found ${found}, box ${expected}`)
    }
    assert.ok(augmented >= 10)
  })

  it('gives the same pixels and box for the same random state', async () => {
    const jpeg = await rectJpeg(300, 200, [60, 40, 150, 110])
    const a = await augmentImage(jpeg, BOX, 64, seededRandom(42))
    const b = await augmentImage(jpeg, BOX, 64, seededRandom(42))
    assert.deepEqual(a.box, b.box)
    assert.deepEqual(a.transform, b.transform)
    assert.deepEqual(a.pixels, b.pixels)
  })

  it('keeps at least minVisible of the box on the canvas', async () => {
    const jpeg = await rectJpeg(300, 200, [0, 0, 40, 40])
    const corner: BoxXywh = [0, 0, 40 / 300, 40 / 200]
    for (let seed = 0; seed < 20; seed++) {
      const out = await augmentImage(jpeg, corner, 64, seededRandom(seed), { minVisible: 0.8 })
      const full = transformBox(corner, out.transform)
      assert.ok((out.box[2] * out.box[3]) / (full[2] * full[3]) >= 0.8 - 1e-9)
    }
  })

  it('falls back to the plain letterbox when no draw keeps enough of the box', async () => {
    const jpeg = await rectJpeg(300, 200, [60, 40, 150, 110])
    const whole: BoxXywh = [0, 0, 1, 1]
    const out = await augmentImage(jpeg, whole, 64, seededRandom(1), { minScale: 3, maxScale: 3, minVisible: 1, maxTries: 4 })
    assert.equal(out.augmented, false)
    assert.equal(out.tries, 4)
    assert.deepEqual(out.transform, letterboxTransform(300, 200, 64))
  })
})

describe('letterbox', () => {
  it('keeps the aspect ratio, centres the image and pads with the mean colour', async () => {
    const jpeg = await rectJpeg(300, 200, [60, 40, 150, 110])
    const { pixels, transform } = await letterbox(jpeg, 60)
    assert.deepEqual(transform, { width: 300, height: 200, size: 60, scaleX: 0.2, scaleY: 0.2, offsetX: 0, offsetY: 10 })
    assert.equal(pixels.length, 60 * 60 * 3)
    assert.deepEqual([...pixels.subarray(0, 3)], [...Float32Array.from(IMAGENET_MEAN_RGB)]) // top padding row
    const found = findWhite(pixels, 60)
    assert.deepEqual(found, [12, 18, 18, 14]) // [60, 40, 90, 70] x 0.2, shifted down by 10
  })

  it('maps a predicted canvas box back to the original image exactly', () => {
    const t = letterboxTransform(640, 427, 384)
    const box: BoxXywh = [0.1, 0.25, 0.5, 0.3]
    const back = unletterboxBox(transformBox(box, t), t)
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(back[i] - box[i]) < 1e-12)
  })
})
