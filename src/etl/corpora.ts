// The corpora `turnkit prepare` and `turnkit fixtures` know: each names its listing (pipelines/), record
// schema, stage and fixture writer. Adding a corpus is one entry here plus its pipeline module.
import { listAudioCaps, listClotho, type AudioCaptionSource } from '../../pipelines/audio-retrieval.js'
import { writeAudioCapsFixture, writeClothoFixture, type AudioFixtureOptions, type FixtureExpectation } from '../fixtures/audio-retrieval.js'
import type { Reject } from './reject.js'

export interface CorpusEntry<R> {
  /** Record schema id (schemas/<id>.json). */
  schema: string
  /** Pipeline family module, for messages. */
  family: string
  list(root: string, options: { splits?: readonly string[] }): AsyncIterable<R | Reject>
  /** Name of the stage factory in the stage module for this record kind. */
  stage: 'audio-text'
  writeFixture(out: string, options: AudioFixtureOptions): Promise<FixtureExpectation>
}

export const CORPORA = {
  audiocaps: { schema: 'audio-text', family: 'audio-retrieval', list: listAudioCaps, stage: 'audio-text', writeFixture: writeAudioCapsFixture },
  clotho: { schema: 'audio-text', family: 'audio-retrieval', list: listClotho, stage: 'audio-text', writeFixture: writeClothoFixture },
} as const satisfies Record<string, CorpusEntry<AudioCaptionSource>>

export type CorpusName = keyof typeof CORPORA
export const CORPUS_NAMES = Object.keys(CORPORA) as CorpusName[]
export const isCorpusName = (name: string): name is CorpusName => Object.hasOwn(CORPORA, name)
