import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { listAudioCaps, listClotho } from '../pipelines/audio-retrieval.js'
import { reject } from '../src/kinds/reject.js'
import { collect, tempTree } from './helpers/tree.js'
import { openCorpus } from '../src/dataset/corpus.js'

describe('listClotho', () => {
  it('lists one record per clip with its captions in column order', async () => {
    const root = await tempTree({
      'clotho_captions_validation.csv': 'file_name,caption_1,caption_2\nrain.wav,Rain falls,"Drops, on a roof"\n',
      'validation/rain.wav': '',
    })
    assert.deepEqual(await collect(listClotho(await openCorpus(root), { splits: ['validation'] })), [
      { key: 'clotho/validation/rain.wav', source: 'validation/rain.wav', corpus: 'clotho', split: 'validation', captions: ['Rain falls', 'Drops, on a roof'], sourceIds: ['file_name:rain.wav'] },
    ])
  })

  it('rejects a row whose captions are all empty', async () => {
    const root = await tempTree({ 'clotho_captions_validation.csv': 'file_name,caption_1\nhum.wav,  \n' })
    assert.deepEqual(await collect(listClotho(await openCorpus(root), { splits: ['validation'] })), [
      reject('clotho/validation/hum.wav', 'list', 'no-captions', 'clotho_captions_validation.csv line 2: all caption cells empty', 'validation/hum.wav'),
    ])
  })

  it('never opens a file_name that leaves the split folder', async () => {
    const root = await tempTree({ 'clotho_captions_development.csv': 'file_name,caption_1\n../../secret.wav,x\n/etc/passwd,y\n' })
    const out = await collect(listClotho(await openCorpus(root), { splits: ['development'] }))
    assert.deepEqual(out.map((r) => ('code' in r ? r.code : 'record')), ['unsafe-path', 'unsafe-path'])
  })

  it('reads an ISO-8859-1 captions file', async () => {
    const csv = Buffer.from('file_name,caption_1\ncafé.wav,A café with chatter\n', 'latin1')
    const root = await tempTree({ 'clotho_captions_evaluation.csv': csv, 'evaluation/café.wav': '' })
    const [record] = await collect(listClotho(await openCorpus(root), { splits: ['evaluation'] }))
    assert.deepEqual(record && 'captions' in record ? [record.key, record.captions] : record, ['clotho/evaluation/café.wav', ['A café with chatter']])
  })
})

describe('listAudioCaps', () => {
  it('groups caption rows by YouTube id, captions ordered by audiocap_id', async () => {
    const root = await tempTree({
      'val.csv': 'audiocap_id,youtube_id,start_time,caption\n12,abc123,30,second\n11,abc123,30,first\n',
      'audio/val/abc123.wav': '',
    })
    assert.deepEqual(await collect(listAudioCaps(await openCorpus(root), { splits: ['val'] })), [
      { key: 'audiocaps/val/abc123', source: 'audio/val/abc123.wav', corpus: 'audiocaps', split: 'val', captions: ['first', 'second'], sourceIds: ['youtube_id:abc123', 'audiocap_id:11', 'audiocap_id:12'] },
    ])
  })

  it('finds audio in the common layouts: Y-prefixed, id_start, by audiocap id, split folder', async () => {
    const root = await tempTree({
      'train.csv': 'audiocap_id,youtube_id,start_time,caption\n1,aaa,0,a\n2,bbb,30,b\n3,ccc,0,c\n4,ddd,0,d\n',
      'audio/train/Yaaa.wav': '',
      'train/bbb_30.flac': '',
      'audio/3.m4a': '',
      'waveforms/train/ddd.mp3': '',
    })
    const out = await collect(listAudioCaps(await openCorpus(root), { splits: ['train'] }))
    assert.deepEqual(out.map((r) => r.source), ['audio/train/Yaaa.wav', 'train/bbb_30.flac', 'audio/3.m4a', 'waveforms/train/ddd.mp3'])
  })

  it('turns a clip without audio into a missing-file reject, not an error', async () => {
    const root = await tempTree({ 'test.csv': 'audiocap_id,youtube_id,start_time,caption\n5,gone,0,a sound\n' })
    const [out] = await collect(listAudioCaps(await openCorpus(root), { splits: ['test'] }))
    assert.equal(out && 'code' in out ? out.code : 'record', 'missing-file')
  })

  it('rejects a row with a malformed youtube_id naming the CSV line', async () => {
    const root = await tempTree({ 'train.csv': 'audiocap_id,youtube_id,start_time,caption\n7,../x,0,a\n' })
    assert.deepEqual(await collect(listAudioCaps(await openCorpus(root), { splits: ['train'] })), [
      reject('audiocaps/train/line-2', 'list', 'bad-row', 'train.csv line 2: youtube_id or audiocap_id missing or malformed', 'train.csv'),
    ])
  })
})
