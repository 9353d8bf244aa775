// Audio-visual evaluation corpora: listing of each raw layout, the video frame and audio window primitives, and
// end to end through the real `turnkit` command (fixtures -> prepare -> verify) for all five corpus names.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { listVggSound, listVggSs } from '../pipelines/vggsound.js'
import { listMusic, listMusicSolo, parseMusicSoloKey } from '../pipelines/music.js'
import { listFlickrSoundNet } from '../pipelines/flickr-soundnet.js'
import { parseXml } from '../src/formats/xml.js'
import { reject } from '../src/kinds/reject.js'
import { CORPORA, type CorpusName } from '../src/cli/corpora.js'
import { decodeWithFfmpeg, lastErrorLine, resolveDecodeConfig } from '../src/audio/decode.js'
import { ffmpegBinary } from '../src/audio/ffmpeg.js'
import { extractVideoFrame } from '../src/image/video-frame.js'
import { VIDEO_BOXES, VIDEO_SIZE, flickrAnnotationXml, writeObjectVideo } from '../src/fixtures/audio-visual.js'
import { WORLD_OBJECTS } from '../src/fixtures/world.js'
import { runFfmpeg } from '../src/fixtures/synth.js'
import type { FixtureExpectation } from '../src/fixtures/types.js'
import { openDataset } from '../src/dataset/dataset.js'
import { collect, tempTree } from './helpers/tree.js'
import { openCorpus } from '../src/dataset/corpus.js'
import { tempDir } from './helpers/temp.js'
import { runCli } from './helpers/cli.js'
import type { Row } from '../src/kinds/record.js'

const keysAndCodes = (items: readonly ({ key: string } & ({ code: string } | object))[]): string[] =>
  items.map((r) => `${r.key} ${'code' in r ? r.code : 'record'}`)

describe('listVggSound', () => {
  it('reads quoted labels with commas and finds videos in every naming and folder', async () => {
    const root = await tempTree({
      'vggsound.csv': 'aaaaaaaaaaa,30,"cattle, bovinae cowbell",train\nbbbbbbbbbbb,5,dog barking,train\nccccccccccc,7,rain,test\nddddddddddd,12,wind,train\n',
      'video/aaaaaaaaaaa_000030.mp4': '',
      'videos/bbbbbbbbbbb_5.mp4': '',
      'test/ccccccccccc.mkv': '',
      'video/ddddddddddd_12000_22000.mp4': '',
    })
    const out = await collect(listVggSound(await openCorpus(root)))
    assert.deepEqual(out.map((r) => ('label' in r ? [r.key, r.source, r.label] : r)), [
      ['vggsound/train/aaaaaaaaaaa_000030', 'video/aaaaaaaaaaa_000030.mp4', 'cattle, bovinae cowbell'],
      ['vggsound/train/bbbbbbbbbbb_000005', 'videos/bbbbbbbbbbb_5.mp4', 'dog barking'],
      ['vggsound/test/ccccccccccc_000007', 'test/ccccccccccc.mkv', 'rain'],
      ['vggsound/train/ddddddddddd_000012', 'video/ddddddddddd_12000_22000.mp4', 'wind'],
    ])
  })

  it('lists the video as both picture and audio, a 10 s window from 0, the frame at its middle', async () => {
    const root = await tempTree({ 'vggsound.csv': 'aaaaaaaaaaa,30,bell,test\n', 'video/aaaaaaaaaaa_000030.mp4': '' })
    assert.deepEqual(await collect(listVggSound(await openCorpus(root))), [
      {
        key: 'vggsound/test/aaaaaaaaaaa_000030',
        source: 'video/aaaaaaaaaaa_000030.mp4',
        corpus: 'vggsound',
        split: 'test',
        label: 'bell',
        sourceIds: ['youtube_id:aaaaaaaaaaa', 'start_seconds:30'],
        frame: { kind: 'video', timeSec: null },
        audio: 'video/aaaaaaaaaaa_000030.mp4',
        window: { centreSec: null, clipSec: 10 },
        boxes: [],
      },
    ])
  })

  it('turns a row without a video into missing-file and malformed rows into bad-row, naming the line', async () => {
    const root = await tempTree({ 'vggsound.csv': 'aaaaaaaaaaa,30,bell,test\n../../etc/passwd,0,x,train\nbbbbbbbbbbb,1.5,x,train\nccc,1\n' })
    const out = await collect(listVggSound(await openCorpus(root)))
    assert.deepEqual(keysAndCodes(out), ['vggsound/test/aaaaaaaaaaa_000030 missing-file', 'vggsound/line-2 bad-row', 'vggsound/line-3 bad-row', 'vggsound/line-4 bad-row'])
    assert.match((out[1] as { message: string }).message, /line 2: youtube id "..\/..\/etc\/passwd"/)
  })

  it('lists only the requested splits', async () => {
    const root = await tempTree({ 'vggsound.csv': 'aaaaaaaaaaa,1,a,train\nbbbbbbbbbbb,2,b,test\n', 'video/aaaaaaaaaaa_000001.mp4': '', 'video/bbbbbbbbbbb_000002.mp4': '' })
    assert.deepEqual(keysAndCodes(await collect(listVggSound(await openCorpus(root), { splits: ['test'] }))), ['vggsound/test/bbbbbbbbbbb_000002 record'])
  })
})

describe('listVggSs', () => {
  it('converts [xmin, ymin, xmax, ymax] fractions to [x, y, w, h] and keeps malformed boxes as null', async () => {
    const root = await tempTree({
      'vggss.json': JSON.stringify([{ file: 'aaaaaaaaaaa_000030', class: 'bell', bbox: [[0.25, 0.5, 0.75, 1], ['x', 0, 1, 1], [0.5, 0.5, 0.25, 0.75]] }]),
      'frames/aaaaaaaaaaa_000030.jpg': '',
      'audio/aaaaaaaaaaa_000030.wav': '',
    })
    assert.deepEqual(await collect(listVggSs(await openCorpus(root))), [
      {
        key: 'vggss/test/aaaaaaaaaaa_000030',
        source: 'frames/aaaaaaaaaaa_000030.jpg',
        corpus: 'vggss',
        split: 'test',
        label: 'bell',
        sourceIds: ['file:aaaaaaaaaaa_000030', 'youtube_id:aaaaaaaaaaa', 'start_seconds:30'],
        frame: { kind: 'image', timeSec: -1 },
        audio: 'audio/aaaaaaaaaaa_000030.wav',
        window: { centreSec: null, clipSec: 10 },
        boxes: [
          { xywh: [0.25, 0.5, 0.5, 0.5], annotator: 0 },
          { xywh: null, annotator: 0 },
          { xywh: [0.5, 0.5, -0.25, 0.25], annotator: 0 },
        ],
      },
    ])
  })

  it('rejects an entry without boxes, a hostile file name and an entry without a file', async () => {
    const root = await tempTree({
      'vggss.json': JSON.stringify([{ file: 'aaaaaaaaaaa_000001', class: 'x', bbox: [] }, { file: '../../etc/passwd', class: 'x', bbox: [[0, 0, 1, 1]] }, { class: 'x' }]),
    })
    assert.deepEqual(await collect(listVggSs(await openCorpus(root))), [
      reject('vggss/test/aaaaaaaaaaa_000001', 'list', 'no-box', 'vggss.json entry 0: no box', 'vggss.json'),
      reject('vggss/test/../../etc/passwd', 'list', 'unsafe-path', 'vggss.json entry 1: file "../../etc/passwd" is not a plain file name; not opened', 'vggss.json'),
      reject('vggss/test/entry-2', 'list', 'bad-annotation', 'vggss.json entry 2: expected {file: string, class, bbox: [[xmin, ymin, xmax, ymax], ...]}', 'vggss.json'),
    ])
  })

  it('finds frames and audio saved under the millisecond naming', async () => {
    const root = await tempTree({
      'vggss.json': JSON.stringify([{ file: 'aaaaaaaaaaa_000030', class: 'x', bbox: [[0, 0, 1, 1]] }]),
      'frames/aaaaaaaaaaa_30000_40000.png': '',
      'audio/aaaaaaaaaaa_30000_40000.flac': '',
    })
    const [record] = await collect(listVggSs(await openCorpus(root)))
    assert.deepEqual(record && 'audio' in record ? [record.source, record.audio] : record, ['frames/aaaaaaaaaaa_30000_40000.png', 'audio/aaaaaaaaaaa_30000_40000.flac'])
  })
})

describe('listMusic', () => {
  it('finds videos in solo/<instrument>/ and in videos/, labelled by instrument', async () => {
    const root = await tempTree({
      'MUSIC_solo_videos.json': JSON.stringify({ videos: { accordion: ['aaaaaaaaaaa'], erhu: ['bbbbbbbbbbb', 'ccccccccccc'] } }),
      'solo/accordion/aaaaaaaaaaa.mp4': '',
      'videos/bbbbbbbbbbb.mp4': '',
    })
    const out = await collect(listMusic(await openCorpus(root)))
    assert.deepEqual(out.map((r) => ('label' in r ? [r.key, r.source, r.label, r.window] : [r.key, r.code])), [
      ['music/solo/accordion/aaaaaaaaaaa', 'solo/accordion/aaaaaaaaaaa.mp4', 'accordion', { centreSec: null, clipSec: null }],
      ['music/solo/erhu/bbbbbbbbbbb', 'videos/bbbbbbbbbbb.mp4', 'erhu', { centreSec: null, clipSec: null }],
      ['music/solo/erhu/ccccccccccc', 'missing-file'],
    ])
  })
})

describe('listMusicSolo', () => {
  it('parses <vid>_0_1000/frame_XXX/NNNNN.jpg keys', () => {
    assert.deepEqual(parseMusicSoloKey('4Oy5VmaacaI_0_1000/frame_013/00411.jpg'), { vid: '4Oy5VmaacaI_0_1000', ytid: '4Oy5VmaacaI', second: 13, frame: 411 })
    assert.equal(parseMusicSoloKey('frame_013/00411.jpg'), null)
  })

  it('reads normbox, falls back to box / (wdith, height), centres the audio window on frame / 30 fps', async () => {
    const root = await tempTree({
      'solotest.json': JSON.stringify({
        'aaaaaaaaaaa_0_1000/frame_013/00411.jpg': { bbox: [{ box: [224, 0, 239, 358], normbox: [0.35, 0, 0.3734375, 0.9944], category_id: 1 }], wdith: 640, height: 360 },
        'bbbbbbbbbbb_0_1000/frame_002/00090.jpg': { bbox: [{ box: [160, 90, 320, 180], category_id: 3 }, { box: 'broken' }], wdith: 640, height: 360 },
      }),
      'frames/aaaaaaaaaaa_0_1000/frame_013/00411.jpg': '',
      'bbbbbbbbbbb_0_1000/frame_002/00090.jpg': '',
      'audio/aaaaaaaaaaa_0_1000.wav': '',
      'videos/bbbbbbbbbbb.mp4': '',
    })
    const out = await collect(listMusicSolo(await openCorpus(root)))
    assert.deepEqual(out.map((r) => ('boxes' in r ? [r.key, r.source, r.audio, r.label, r.frame, r.window, r.boxes] : r)), [
      [
        'music-solo/test/aaaaaaaaaaa_0_1000/frame_013/00411',
        'frames/aaaaaaaaaaa_0_1000/frame_013/00411.jpg',
        'audio/aaaaaaaaaaa_0_1000.wav',
        'category:1',
        { kind: 'image', timeSec: 13.7 },
        { centreSec: 13.7, clipSec: null },
        [{ xywh: [0.35, 0, 0.3734375, 0.9944], annotator: 0 }],
      ],
      [
        'music-solo/test/bbbbbbbbbbb_0_1000/frame_002/00090',
        'bbbbbbbbbbb_0_1000/frame_002/00090.jpg',
        'videos/bbbbbbbbbbb.mp4',
        'category:3',
        { kind: 'image', timeSec: 2.5 }, // 90 / 30 = 3 s is not in second 2 (another frame rate): its middle
        { centreSec: 2.5, clipSec: null },
        [{ xywh: [0.25, 0.25, 0.5, 0.5], annotator: 0 }, { xywh: null, annotator: 0 }],
      ],
    ])
  })

  it('keeps a frame without a box out with a no-box ledger line, and never opens a hostile key', async () => {
    const root = await tempTree({
      'solotest.json': JSON.stringify({
        'aaaaaaaaaaa_0_1000/frame_000/00014.jpg': { bbox: [], wdith: 640, height: 360 },
        '../../etc/frame_001/00030.jpg': { bbox: [{ normbox: [0, 0, 1, 1] }], wdith: 640, height: 360 },
      }),
    })
    assert.deepEqual(keysAndCodes(await collect(listMusicSolo(await openCorpus(root)))), [
      'music-solo/test/aaaaaaaaaaa_0_1000/frame_000/00014 no-box',
      'music-solo/test/../../etc/frame_001/00030 unsafe-path',
    ])
  })

  it('labels a frame with its instrument when MUSIC_solo_videos.json names the video', async () => {
    const root = await tempTree({
      'solotest.json': JSON.stringify({ 'aaaaaaaaaaa_0_1000/frame_001/00030.jpg': { bbox: [{ normbox: [0, 0, 1, 1], category_id: 4 }], wdith: 64, height: 36 } }),
      'MUSIC_solo_videos.json': JSON.stringify({ videos: { cello: ['aaaaaaaaaaa'] } }),
      'frames/aaaaaaaaaaa_0_1000/frame_001/00030.jpg': '',
      'solo/cello/aaaaaaaaaaa.mp4': '',
    })
    const [record] = await collect(listMusicSolo(await openCorpus(root)))
    assert.deepEqual(record && 'label' in record ? [record.label, record.audio] : record, ['cello', 'solo/cello/aaaaaaaaaaa.mp4'])
  })
})

describe('listFlickrSoundNet', () => {
  it('reads three annotators from the XML, divides the 256 grid, strips .png from the test list', async () => {
    const root = await tempTree({
      'test_list.txt': '10000130166.png\n',
      'Annotations/10000130166.xml': flickrAnnotationXml('10000130166', [[64, 32, 192, 160], [0, 0, 128, 256], [32, 64, 96, 128]]),
      'frames/10000130166.jpg': '',
      'audio/10000130166.mp3': '',
    })
    assert.deepEqual(await collect(listFlickrSoundNet(await openCorpus(root))), [
      {
        key: 'flickr-soundnet/test/10000130166',
        source: 'frames/10000130166.jpg',
        corpus: 'flickr-soundnet',
        split: 'test',
        label: '',
        sourceIds: ['flickr_id:10000130166'],
        frame: { kind: 'image', timeSec: -1 },
        audio: 'audio/10000130166.mp3',
        window: { centreSec: null, clipSec: null },
        boxes: [
          { xywh: [0.25, 0.125, 0.5, 0.5], annotator: 0 },
          { xywh: [0, 0, 0.5, 1], annotator: 1 },
          { xywh: [0.125, 0.25, 0.25, 0.25], annotator: 2 },
        ],
      },
    ])
  })

  it('lists every annotation file when there is no test list, under the Data/ layout', async () => {
    const root = await tempTree({
      'Annotations/2.xml': flickrAnnotationXml('2', [[0, 0, 16, 16]]),
      'Annotations/1.xml': flickrAnnotationXml('1', [[0, 0, 16, 16]]),
      'Data/frames/1.jpg': '',
      'Data/frames/2.jpg': '',
      'Data/audio/1.wav': '',
      'Data/audio/2.wav': '',
    })
    assert.deepEqual(keysAndCodes(await collect(listFlickrSoundNet(await openCorpus(root)))), ['flickr-soundnet/test/1 record', 'flickr-soundnet/test/2 record'])
  })

  it('rejects malformed XML, an XML without boxes and a hostile id', async () => {
    const root = await tempTree({
      'flickr_test.csv': '1\n2\n../x\n',
      'Annotations/1.xml': '<annotation><object><bbox><xmin>1</xmin></object></annotation>',
      'Annotations/2.xml': '<annotation><filename>2.jpg</filename></annotation>',
      'frames/1.jpg': '',
      'frames/2.jpg': '',
      'audio/1.wav': '',
      'audio/2.wav': '',
    })
    assert.deepEqual(await collect(listFlickrSoundNet(await openCorpus(root))), [
      reject('flickr-soundnet/test/1', 'list', 'bad-annotation', "Annotations/1.xml: Expected closing tag 'bbox' (opened in line 1, col 21) instead of closing tag 'object'. (line 1)", 'Annotations/1.xml'),
      reject('flickr-soundnet/test/2', 'list', 'no-box', 'Annotations/2.xml: no <bbox> element', 'Annotations/2.xml'),
      reject('flickr-soundnet/test/../x', 'list', 'unsafe-path', 'flickr_test.csv: id "../x" is not a plain file name; not opened', 'flickr_test.csv'),
    ])
  })

  it('parses XML text with entities, comments and a declaration', () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- c --><a x="1"><b>1 &amp; 2 &#65;</b><c/></a>')
    assert.deepEqual(root, { tag: 'a', text: '', children: [{ tag: 'b', text: '1 & 2 A', children: [] }, { tag: 'c', text: '', children: [] }] })
  })

  it('refuses an external entity and does not expand nested ones', () => {
    assert.throws(() => parseXml('<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'), /External entities are not supported/)
    const nested = parseXml('<!DOCTYPE a [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]><a>&y;&y;&y;&y;</a>')
    assert.ok(nested.text.length < 100, nested.text)
  })
})

describe('video frames and audio windows', () => {
  let video = ''
  let work = ''
  before(async () => {
    work = await tempDir()
    video = join(work, 'moving.mp4')
    await writeObjectVideo(video, WORLD_OBJECTS[0]!, 3, 0)
  })

  it('takes the frame at the requested time: the object is where the video draws it then', async () => {
    const scale = 1
    const middle = await extractVideoFrame(video, 1.5, ffmpegBinary())
    const early = await extractVideoFrame(video, 0.5, ffmpegBinary())
    assert.ok(middle.ok && early.ok)
    assert.deepEqual(await objectBounds(middle.png, VIDEO_BOXES.middle, scale), roundBox(VIDEO_BOXES.middle))
    assert.deepEqual(await objectBounds(early.png, VIDEO_BOXES.early, scale), roundBox(VIDEO_BOXES.early))
  })

  it('reports truncated when the video ends before the requested time, ffmpeg-failed on a non-video', async () => {
    const late = await extractVideoFrame(video, 5, ffmpegBinary())
    assert.deepEqual(late.ok ? late : [late.code, /no video frame at or after 5\.000 s \(the video is 3\.\d\d s long\)/.test(late.message)], ['truncated', true])
    const notVideo = join(work, 'tone.wav')
    await runFfmpeg(['-f', 'lavfi', '-i', 'aevalsrc=exprs=0.1*sin(2*PI*440*t):s=8000:d=1', notVideo])
    const failed = await extractVideoFrame(notVideo, 0, ffmpegBinary())
    assert.equal(failed.ok ? 'ok' : failed.code, 'ffmpeg-failed')
  })

  it('decodes an audio window from startSeconds for durationSeconds', async () => {
    // Silence for 1 s, then a full-scale DC offset of 0.5: the window from 1 s holds only the offset.
    const wav = join(work, 'step.wav')
    await runFfmpeg(['-f', 'lavfi', '-i', 'aevalsrc=exprs=0.5*gte(t\\,1):s=8000:d=3', wav])
    const ffmpeg = ffmpegBinary()
    const config = resolveDecodeConfig({ sampleRate: 8000 })
    const decoded = await decodeWithFfmpeg(wav, config, ffmpeg, { startSeconds: 1, durationSeconds: 1.5 })
    assert.ok(decoded.ok)
    assert.equal(decoded.samples.length, 12_000)
    assert.deepEqual([Math.min(...decoded.samples), Math.max(...decoded.samples)], [0.5, 0.5])
    const whole = await decodeWithFfmpeg(wav, config, ffmpeg)
    assert.equal(whole.ok ? whole.samples.length : 0, 24_000)
  })
})

// ---- end to end through the CLI ----

/** Bounds [x, y, w, h] of the non-grey pixels in `png`/`jpeg` within `box * scale` grown by `margin` px. */
async function objectBounds(image: Uint8Array, box: readonly number[], scale: number, margin = 6): Promise<number[] | null> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const [bx, by, bw, bh] = box.map((v) => v * scale) as [number, number, number, number]
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (let y = Math.max(0, Math.floor(by - margin)); y < Math.min(info.height, Math.ceil(by + bh + margin)); y++) {
    for (let x = Math.max(0, Math.floor(bx - margin)); x < Math.min(info.width, Math.ceil(bx + bw + margin)); x++) {
      const i = (y * info.width + x) * info.channels
      // Far from the fixtures' #808080 background (L1 distance): every world colour is at least 119 away.
      if (Math.abs(data[i]! - 128) + Math.abs(data[i + 1]! - 128) + Math.abs(data[i + 2]! - 128) > 80) {
        x0 = Math.min(x0, x)
        y0 = Math.min(y0, y)
        x1 = Math.max(x1, x + 1)
        y1 = Math.max(y1, y + 1)
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0, y1 - y0]
}

const roundBox = (box: readonly number[]): number[] => box.map((v) => Math.round(v))

/** Assert two [x, y, w, h] pixel boxes have their four edges within `tolerance` px of each other. */
function assertNear(actual: readonly number[] | null, expected: readonly number[], tolerance: number, what: string): void {
  assert.ok(actual !== null, `${what}: object not found`)
  const edges = ([x, y, w, h]: readonly number[]): number[] => [x!, y!, x! + w!, y! + h!]
  const off = edges(actual).map((v, k) => Math.abs(v - edges(expected)[k]!))
  assert.ok(off.every((d) => d <= tolerance), `${what}: found ${JSON.stringify(actual)}, stored box says ${JSON.stringify(expected.map((v) => +v.toFixed(1)))}`)
}

interface Prepared {
  expected: FixtureExpectation
  rows: Row[]
  manifest: { inputs: number; rows: number; rejects: { total: number; byCode: Record<string, number> }; shards: { file: string }[] }
  verify: { code: number | null; stderr: string }
}

async function prepareFixture(corpus: CorpusName, extra: string[] = []): Promise<Prepared> {
  const work = await tempDir()
  const src = join(work, 'src')
  const out = join(work, 'out')
  const expected = await CORPORA[corpus].writeFixture(src, { clips: 3, seed: 1, corrupt: true, seconds: 3 })
  const run = await runCli(['prepare', corpus, '--src', src, '--out', out, '--workers', '2', '--max-reject-ratio', '1', '--quiet', ...extra])
  assert.equal(run.code, 0, run.stderr)
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Prepared['manifest']
  const rows = await collect((await openDataset(out)).rows())
  const verify = await runCli(['verify', out])
  return { expected, rows, manifest, verify }
}

function assertAccounted(p: Prepared): void {
  assert.equal(p.verify.code, 0, p.verify.stderr)
  assert.equal(p.manifest.inputs, p.expected.inputs)
  assert.equal(p.manifest.rows, p.expected.rows)
  assert.equal(p.manifest.inputs, p.manifest.rows + p.manifest.rejects.total)
  assert.deepEqual(p.manifest.rejects.byCode, Object.fromEntries(Object.entries(p.expected.rejects).sort()))
}

/** Every stored box lines up with the drawn object in the stored JPEG (annotator 0 only: the others are offset). */
async function assertBoxesLineUp(rows: readonly Row[]): Promise<void> {
  for (const row of rows) {
    const width = row.width as number
    const height = row.height as number
    const annotators = row.box_annotators as Int32Array
    for (const [k, box] of (row.boxes as Float32Array[]).entries()) {
      if (annotators[k] !== 0) continue
      const px = [box[0]! * width, box[1]! * height, box[2]! * width, box[3]! * height]
      assertNear(await objectBounds(row.image_jpeg as Uint8Array, px, 1), px, 3, `${String(row.key)} box ${k}`)
    }
  }
}

/** The frame shows the object where the fixture video draws it at the middle of the clip only. */
async function assertFrameAtWindowMiddle(rows: readonly Row[]): Promise<void> {
  for (const row of rows) {
    const middle = (row.audio_start_sec as number) + (row.duration_sec as number) / 2
    assert.ok(Math.abs((row.frame_time_sec as number) - middle) < 1e-3, `${String(row.key)}: frame at ${String(row.frame_time_sec)} s, window middle ${middle} s`)
    const scale = (row.width as number) / VIDEO_SIZE[0]
    const expected = VIDEO_BOXES.middle.map((v) => v * scale)
    assertNear(await objectBounds(row.image_jpeg as Uint8Array, [0, 0, VIDEO_SIZE[0], VIDEO_SIZE[1]], scale, 0), expected, 4, String(row.key))
  }
}

describe('turnkit prepare on corrupt audio-visual fixtures', () => {
  it('vggsound: every input is a row or a ledger line, verify passes, the frame is the window middle', async () => {
    const p = await prepareFixture('vggsound')
    assertAccounted(p)
    assert.deepEqual(p.rows.map((r) => [r.corpus, (r.boxes as unknown[]).length, r.audio_start_sec]), Array.from({ length: 3 }, () => ['vggsound', 0, 0]))
    await assertFrameAtWindowMiddle(p.rows)
  })

  it('vggss: boxes line up with the drawn objects; a degenerate and a malformed box are dropped, the rows kept', async () => {
    const p = await prepareFixture('vggss')
    assertAccounted(p)
    assert.deepEqual(p.rows.map((r) => r.dropped_boxes).flat().sort(), ['0:outside', '1:degenerate', '1:degenerate', '2:nan'])
    await assertBoxesLineUp(p.rows)
  })

  it('vggss: keeps an item whose every box is unusable, with no boxes and no_usable_box, as the public evaluation does', async () => {
    const p = await prepareFixture('vggss')
    const flagged = p.rows.filter((r) => r.no_usable_box === true)
    assert.deepEqual(flagged.map((r) => [(r.boxes as unknown[]).length, r.dropped_boxes]), [[0, ['0:outside', '1:degenerate']]])
    assert.ok(p.rows.filter((r) => r.no_usable_box === false).every((r) => (r.boxes as unknown[]).length > 0))
  })

  it('music: every input is a row or a ledger line, verify passes, the frame is the window middle', async () => {
    const p = await prepareFixture('music')
    assertAccounted(p)
    await assertFrameAtWindowMiddle(p.rows)
  })

  it('music-solo: boxes line up; the audio window is centred on the frame time', async () => {
    const p = await prepareFixture('music-solo', ['--max-seconds', '1', '--min-seconds', '0.5'])
    assertAccounted(p)
    await assertBoxesLineUp(p.rows)
    assert.deepEqual(
      p.rows.map((r) => [r.frame_time_sec, r.audio_start_sec, +(r.duration_sec as number).toFixed(2)]).sort(),
      [[0.699999988079071, 0.20000000298023224, 1], [1.5, 1, 1], [1.5, 1, 1], [1.5, 1, 1]], // the last: the frame whose only box is outside, kept
    )
  })

  it('flickr-soundnet: three annotators per image, annotator 0 lines up, a degenerate annotator box is dropped', async () => {
    const p = await prepareFixture('flickr-soundnet')
    assertAccounted(p)
    assert.deepEqual(p.rows.map((r) => [Array.from(r.box_annotators as Int32Array), r.dropped_boxes]).sort(), [[[0, 1, 2], []], [[0, 1, 2], []], [[0, 1], ['2:degenerate']]])
    await assertBoxesLineUp(p.rows)
  })
})

describe('lastErrorLine', () => {
  it("keeps ffmpeg's last error line without its level tag or the run-dependent component address", () => {
    const stderr = '[info] Input #0\n[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c8a2c040] [error] moov atom not found\n[info] done\n'
    assert.equal(lastErrorLine(stderr), '[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found')
  })
})
