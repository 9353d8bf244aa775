import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { tempDir } from './helpers/temp.js'
import { resolveAudioTextOptions } from '../src/kinds/audio-text.js'
import type { Manifest } from '../src/dataset/manifest.js'
import { DatasetWriter } from '../src/dataset/writer.js'
import { loadSchema } from '../src/dataset/schema.js'
import { checkDatasetCompatibility, checkDatasetDir, type ExpectedDataset } from '../src/train/compat.js'

/** What the paper's model expects, with the vocabulary hash of the dataset's own settings (bert-base-uncased). */
function paperExpectation(vocabHash: string): ExpectedDataset {
  return { schemaId: 'audio-text', sampleRate: 22_050, hopLength: 1024, nMels: 128, nFft: 2048, vocabHash, maxTokens: 30 }
}

/** A one-row audio-text dataset whose manifest carries the settings the real stage records for `logMel` options. */
async function datasetWith(name: string, nMels: number): Promise<{ dir: string; manifest: Manifest; vocabHash: string }> {
  const dir = `${await tempDir('compat-')}/${name}`
  const { settings } = resolveAudioTextOptions({ logMel: { nMels } })
  const schema = await loadSchema('audio-text')
  const status = await DatasetWriter.write(dir, { pipeline: 'clotho', schema, settings, shardRows: 1, rows: [{
    key: 'clotho/development/a.wav', corpus: 'clotho', split: 'development', source_path: 'development/a.wav',
    duration_sec: 1, num_samples: 22_050, frames: 1, n_mels: nMels, log_mel: new Float32Array(nMels), captions: ['a'],
    token_ids: [Int32Array.from([101, 1037, 102])], rms_dbfs: -20, peak: 0.5, spectral_flatness: 0.1, silent: false, source_ids: [],
  }] })
  const manifest = status.manifest!
  const text = settings.text as { vocabHash: string }
  return { dir, manifest, vocabHash: text.vocabHash }
}

describe('checkDatasetCompatibility', () => {
  it('refuses a shard set built with n_mels 64, naming the dataset, n_mels and both values', async () => {
    const { dir, vocabHash } = await datasetWith('clotho-ds', 64)
    await assert.rejects(
      checkDatasetDir(dir, paperExpectation(vocabHash)),
      { message: 'clotho-ds: n_mels is 64 in the dataset, the model expects 128 (pipeline.settings.audio.nMels)' },
    )
  })

  it('accepts a dataset built with the settings the model expects', async () => {
    const { dir, vocabHash } = await datasetWith('clotho-ok', 128)
    const manifest = await checkDatasetDir(dir, paperExpectation(vocabHash))
    assert.equal(manifest.schema.id, 'audio-text')
  })

  it('names every differing setting, including the schema and the vocabulary', async () => {
    const { manifest, vocabHash } = await datasetWith('clotho-many', 128)
    const expected = { ...paperExpectation(vocabHash), schemaId: 'image-text-box', hopLength: 512, vocabHash: 'sha256:other', maxTokens: 40 }
    assert.throws(() => checkDatasetCompatibility(manifest, expected, 'clotho-many'), (error: Error) => {
      assert.deepEqual(error.message.split('; '), [
        'clotho-many: schema is audio-text in the dataset, the model expects image-text-box (schema.id)',
        'clotho-many: hop length is 1024 in the dataset, the model expects 512 (pipeline.settings.audio.hopLength)',
        `clotho-many: vocabulary hash is "${vocabHash}" in the dataset, the model expects "sha256:other" (pipeline.settings.text.vocabHash)`,
        'clotho-many: max tokens is 30 in the dataset, the model expects 40 (pipeline.settings.text.maxTokens)',
      ])
      return true
    })
  })

  it('refuses a dataset that does not record a setting the model expects', async () => {
    const { manifest } = await datasetWith('clotho-old', 128)
    const bare = { ...manifest, pipeline: { name: 'clotho', settings: {} } }
    assert.throws(() => checkDatasetCompatibility(bare, { nMels: 128 }, 'clotho-old'), /n_mels is not recorded in the dataset, the model expects 128/)
  })
})
