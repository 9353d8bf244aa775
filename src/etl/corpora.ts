// The corpora `turnkit prepare` and `turnkit fixtures` know: each names its listing (pipelines/), record kind
// (schema + stage) and fixture writer. Adding a corpus is one entry here plus its pipeline module.
import { listAudioCaps, listClotho } from '../../pipelines/audio-retrieval.js'
import { writeAudioCapsFixture, writeClothoFixture } from '../fixtures/audio-retrieval.js'
import type { FixtureExpectation, FixtureOptions } from '../fixtures/types.js'
import type { Reject } from './reject.js'
import type { SourceRecord } from './record.js'
import type { RecordKindName } from './record-kinds.js'

export interface CorpusEntry {
  /** Record kind: its schema id (schemas/<kind>.json) and stage. */
  kind: RecordKindName
  /** Pipeline module under pipelines/, for messages and docs. */
  family: string
  list(root: string, options: { splits?: readonly string[] }): AsyncIterable<SourceRecord | Reject>
  writeFixture(out: string, options: FixtureOptions): Promise<FixtureExpectation>
}

export const CORPORA = {
  audiocaps: { kind: 'audio-text', family: 'audio-retrieval', list: listAudioCaps, writeFixture: writeAudioCapsFixture },
  clotho: { kind: 'audio-text', family: 'audio-retrieval', list: listClotho, writeFixture: writeClothoFixture },
} as const satisfies Record<string, CorpusEntry>

export type CorpusName = keyof typeof CORPORA
export const CORPUS_NAMES = Object.keys(CORPORA) as CorpusName[]
export const isCorpusName = (name: string): name is CorpusName => Object.hasOwn(CORPORA, name)
