import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ciou, groundTruthMap, parsePredictions, predictionMask, scoreItems, summarizeCiou, MASK_SIZE } from '../src/train/score.js'

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`)

describe('cIoU on the 224 grid', () => {
  it('uses the union of an item\'s boxes for VGG-SS (two overlapping boxes)', () => {
    // GT: [0,0,112,112) ∪ [56,56,168,168) = 12544 + 12544 - 3136 = 21952 cells; prediction = the first box.
    const gt = groundTruthMap([[0, 0, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5]], 'union')
    close(gt.reduce((a, b) => a + b, 0), 21952, 'ΣG')
    close(ciou(predictionMask([0, 0, 0.5, 0.5]), gt), 12544 / 21952, 'cIoU') // = 4/7
  })

  it('uses the consensus of three Flickr-SoundNet annotators with c = 2', () => {
    // Two annotators agree on the top-left quarter (1.0), one marks the bottom-right quarter (0.5).
    const gt = groundTruthMap([[0, 0, 0.5, 0.5], [0, 0, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]], 'consensus')
    assert.equal(gt[0], 1)
    assert.equal(gt[MASK_SIZE * MASK_SIZE - 1], 0.5)
    // Whole-image prediction: Σ(P·G) = 12544 + 6272 = 18816; Σ(P·[G=0]) = 50176 - 25088 = 25088.
    close(ciou(predictionMask([0, 0, 1, 1]), gt), 18816 / (18816 + 25088), 'cIoU') // = 3/7
  })

  it('uses the normalized box for MUSIC-Solo and counts false positives outside it', () => {
    // GT x,y in [56,168); prediction x in [112,224), y in [56,168): overlap 56 x 112 = 6272, outside 6272.
    const gt = groundTruthMap([[0.25, 0.25, 0.5, 0.5]], 'normbox')
    close(ciou(predictionMask([0.5, 0.25, 0.5, 0.5]), gt), 6272 / (12544 + 6272), 'cIoU') // = 1/3
  })

  it('truncates box corners like int(v * 224), not rounding', () => {
    const mask = predictionMask([0.1, 0.1, 0.1, 0.1]) // 22.4 -> 22, 44.8 -> 44: 22 x 22 cells
    close(mask.reduce((a, b) => a + b, 0), 22 * 22, 'area')
  })

  it('clips boxes that reach outside the image', () => {
    close(predictionMask([-0.5, 0.5, 2, 2]).reduce((a, b) => a + b, 0), 224 * 112, 'area')
  })
})

describe('summarizeCiou', () => {
  it('gives cIoU@0.5, trapezoidal AUC over 0, 0.05, ..., 1 and the mean', () => {
    const s = summarizeCiou([4 / 7, 3 / 7, 1 / 3])
    close(s.ciouAt05, 1 / 3, 'cIoU@0.5')
    // Curve: 1 for t <= 0.30, 2/3 at 0.35 and 0.40, 1/3 at 0.45..0.55, 0 from 0.60 (hand-summed trapezoids).
    close(s.auc, 0.3 + 0.05 * ((1 + 2 / 3) / 2 + 2 / 3 + (2 / 3 + 1 / 3) / 2 + 1 / 3 + 1 / 3 + 1 / 6), 'AUC')
    close(s.meanCiou, (4 / 7 + 3 / 7 + 1 / 3) / 3, 'mean')
  })

  it('scores a perfect set at cIoU@0.5 1 and AUC 1', () => {
    assert.deepEqual(summarizeCiou([1, 1]), { items: 2, ciouAt05: 1, auc: 1, meanCiou: 1 })
  })
})

describe('scoreItems', () => {
  it('counts an item without a prediction as cIoU 0 and lists it', () => {
    const items = [
      { key: 'a', corpus: 'vggss', label: 'dog', boxes: [[0, 0, 0.5, 0.5]] },
      { key: 'b', corpus: 'vggss', label: 'cat', boxes: [[0, 0, 0.5, 0.5]] },
    ]
    const report = scoreItems(items, new Map([['a', [0, 0, 0.5, 0.5]], ['zzz', [0, 0, 1, 1]]]))
    assert.deepEqual(report.perItem.map((p) => p.ciou), [1, 0])
    assert.deepEqual(report.missing, ['b'])
    assert.deepEqual(report.unknown, ['zzz'])
    assert.equal(report.overall.ciouAt05, 0.5)
    assert.deepEqual(Object.keys(report.perClass), ['cat', 'dog'])
  })

  it('refuses a predictions line without four numbers, naming the file and line', () => {
    assert.throws(() => parsePredictions('{"key":"a","box":[0,0,1,1]}\n{"key":"b","box":[0,0,1]}\n', 'preds.jsonl'), /preds\.jsonl line 2: expected/)
  })
})
