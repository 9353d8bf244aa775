// The trainer refuses a dataset whose record kind or feature settings differ from what the model was built for:
// a model for 128 mel bands fed 64-band log-mels, or token ids from another vocabulary, would train without an
// error and learn nothing useful. Settings are read from manifest.pipeline.settings, where the audio-text stage
// records them (src/kinds/audio-text.ts resolveAudioTextOptions: audio { sampleRate, hopLength, nMels,
// nFft }, text { vocabHash, maxTokens }).

import { basename } from 'node:path'
import { type Manifest, readManifest } from '../dataset/manifest.js'
import type { StoreOptions } from '../dataset/storage.js'
import type { JsonValue } from '../formats/json.js'

/** What the model expects of a dataset. Omitted fields are not checked (an image dataset has no audio). */
export interface ExpectedDataset {
  /** schemas/<id>.json the rows were written with */
  schemaId?: string
  /** Hz */
  sampleRate?: number
  /** samples */
  hopLength?: number
  nMels?: number
  nFft?: number
  /** `sha256:` of the vocabulary the token ids come from */
  vocabHash?: string
  /** ids per text, [CLS] and [SEP] included (model textLength) */
  maxTokens?: number
}

// Each check: the name users know, where the manifest keeps it, and the expected field.
const CHECKS: readonly { name: string; path: readonly string[]; field: Exclude<keyof ExpectedDataset, 'schemaId'> }[] = [
  { name: 'sample rate', path: ['audio', 'sampleRate'], field: 'sampleRate' },
  { name: 'hop length', path: ['audio', 'hopLength'], field: 'hopLength' },
  { name: 'n_mels', path: ['audio', 'nMels'], field: 'nMels' },
  { name: 'n_fft', path: ['audio', 'nFft'], field: 'nFft' },
  { name: 'vocabulary hash', path: ['text', 'vocabHash'], field: 'vocabHash' },
  { name: 'max tokens', path: ['text', 'maxTokens'], field: 'maxTokens' },
]

/**
 * Every way `manifest` differs from `expected`, one message each:
 * `clotho-ds: n_mels is 64 in the dataset, the model expects 128 (pipeline.settings.audio.nMels)`.
 * A setting the model expects but the manifest does not record is a problem too. `dataset` names the dataset
 * in messages (its directory). Empty means compatible.
 */
export function compatibilityProblems(manifest: Manifest, expected: ExpectedDataset, dataset: string): string[] {
  const problems: string[] = []
  if (expected.schemaId !== undefined && manifest.schema.id !== expected.schemaId) {
    problems.push(`${dataset}: schema is ${manifest.schema.id} in the dataset, the model expects ${expected.schemaId} (schema.id)`)
  }
  for (const { name, path, field } of CHECKS) {
    const want = expected[field]
    if (want === undefined) continue
    const where = `pipeline.settings.${path.join('.')}`
    const got = lookup(manifest.pipeline.settings, path)
    if (got === undefined) problems.push(`${dataset}: ${name} is not recorded in the dataset, the model expects ${String(want)} (${where})`)
    else if (got !== want) problems.push(`${dataset}: ${name} is ${JSON.stringify(got)} in the dataset, the model expects ${JSON.stringify(want)} (${where})`)
  }
  return problems
}

/**
 * Throw unless `manifest` matches `expected` (see `compatibilityProblems`); the Error lists every mismatch,
 * each naming the dataset, the setting, the dataset's value and the expected one.
 */
export function checkDatasetCompatibility(manifest: Manifest, expected: ExpectedDataset, dataset: string): void {
  const problems = compatibilityProblems(manifest, expected, dataset)
  if (problems.length > 0) throw new Error(problems.join('; '))
}

/** Read the manifest at `dir` (a location) and check it (see `checkDatasetCompatibility`), naming the dataset by its last path segment. Returns the manifest. */
export async function checkDatasetDir(dir: string, expected: ExpectedDataset, store: StoreOptions = {}): Promise<Manifest> {
  const manifest = await readManifest(dir, store)
  checkDatasetCompatibility(manifest, expected, basename(dir) || dir)
  return manifest
}

function lookup(value: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let at: JsonValue | undefined = value
  for (const key of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined
    at = (at as { [key: string]: JsonValue })[key]
  }
  return at
}
