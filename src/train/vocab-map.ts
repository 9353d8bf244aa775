// A compact vocabulary for small models. bert-base-uncased has 30,522 ids, but a small corpus uses a few
// thousand; a `tiny` model with a 30,522-row embedding and output layer would spend most of its step there.
// When the model's vocabSize is below the tokenizer's, the trainer maps the ids the training data uses (plus
// the specials) onto 0..n-1, stores the map in the run, and applies it to every batch and at inference.
import { writeFileAtomic } from '../dataset/atomic.js'
import { readJsonFile } from '../formats/json.js'

/** BERT specials kept at fixed compact ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4. */
export const BERT_SPECIAL_IDS = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 } as const

export interface VocabMap {
  /** compact id -> original tokenizer id, sorted after the five specials. */
  original: Int32Array
  /** original id -> compact id ([UNK]'s compact id for ids not in the map). */
  lookup: Map<number, number>
}

/** Build the map from every token id sequence of the training data. */
export function buildVocabMap(sequences: Iterable<ArrayLike<number>>): VocabMap {
  const specials = [BERT_SPECIAL_IDS.pad, BERT_SPECIAL_IDS.unk, BERT_SPECIAL_IDS.cls, BERT_SPECIAL_IDS.sep, BERT_SPECIAL_IDS.mask]
  const seen = new Set<number>()
  for (const ids of sequences) for (let i = 0; i < ids.length; i++) seen.add(ids[i]!)
  for (const s of specials) seen.delete(s)
  const original = Int32Array.from([...specials, ...[...seen].sort((a, b) => a - b)])
  return { original, lookup: new Map([...original].map((id, compact) => [id, compact])) }
}

/** Map token ids in place (a batch's [B, L] array). Unknown ids become [UNK]. */
export function applyVocabMap(map: VocabMap, ids: Int32Array): Int32Array {
  const unk = map.lookup.get(BERT_SPECIAL_IDS.unk)!
  for (let i = 0; i < ids.length; i++) ids[i] = map.lookup.get(ids[i]!) ?? unk
  return ids
}

export async function saveVocabMap(path: string, map: VocabMap): Promise<void> {
  await writeFileAtomic(path, JSON.stringify({ format: 'turnkit-vocab-map/1', original: [...map.original] }) + '\n')
}

export async function loadVocabMap(path: string): Promise<VocabMap> {
  const parsed = (await readJsonFile(path)) as { format?: string; original?: number[] }
  if (parsed.format !== 'turnkit-vocab-map/1' || !Array.isArray(parsed.original)) throw new Error(`${path} is not a turnkit vocabulary map`)
  const original = Int32Array.from(parsed.original)
  return { original, lookup: new Map([...original].map((id, compact) => [id, compact])) }
}
