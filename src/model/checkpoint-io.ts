// The tfjs model format on a local disk: model.json (topology + weightsManifest) and binary weight shards of at
// most 4 MB ('group1-shard1of3.bin'), as tensorflowjs_converter and tf.io write them. tfjs-node's file://
// handler is absent when tfjs-node is, so this module reads and writes the files itself.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readJsonFile } from '../formats/json.js'
import * as tf from '@tensorflow/tfjs-core'

/** model.json as tfjs writes it. */
export interface TfjsModelJson {
  format?: string
  generatedBy?: string
  convertedBy?: string | null
  modelTopology?: unknown
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
  userDefinedMetadata?: Record<string, unknown>
  signature?: unknown
  modelInitializer?: unknown
}

const SHARD_BYTES = 4 * 1024 * 1024 // tfjs's default shard size

/**
 * Writes `tensors` (name -> tensor) into `dir` as model.json + weight shards. Shards first, model.json last
 * (written to a temporary name and renamed), so a directory with a model.json is complete.
 */
export async function writeTfjsArtifacts(
  dir: string,
  tensors: Record<string, tf.Tensor>,
  { format, modelTopology = null, userDefinedMetadata = {} }: { format: string; modelTopology?: unknown; userDefinedMetadata?: Record<string, unknown> },
): Promise<void> {
  await mkdir(dir, { recursive: true })
  const { data, specs } = await tf.io.encodeWeights(tensors)
  const bytes = new Uint8Array(data)
  const shards = Math.max(1, Math.ceil(bytes.length / SHARD_BYTES))
  const paths: string[] = []
  for (let i = 0; i < shards; i++) {
    const path = `group1-shard${i + 1}of${shards}.bin`
    await writeFile(join(dir, path), bytes.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES))
    paths.push(path)
  }
  const json: TfjsModelJson = {
    format,
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core}`,
    convertedBy: 'turnkit',
    modelTopology,
    weightsManifest: [{ paths, weights: specs }],
    userDefinedMetadata,
  }
  await writeFile(join(dir, 'model.json.tmp'), `${JSON.stringify(json, null, 1)}\n`)
  await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'))
}

/** model.json of `dir` and all its weight files concatenated in manifest order. Throws naming a missing file. */
export async function readTfjsArtifacts(dir: string): Promise<{ json: TfjsModelJson; weightData: ArrayBuffer }> {
  let json: TfjsModelJson
  try {
    json = (await readJsonFile(join(dir, 'model.json'))) as TfjsModelJson
  } catch (error) {
    throw new Error(`model: cannot read ${join(dir, 'model.json')}: ${(error as Error).message}`)
  }
  if (!Array.isArray(json.weightsManifest)) throw new Error(`model: ${join(dir, 'model.json')} has no weightsManifest`)
  const parts: Uint8Array[] = []
  for (const group of json.weightsManifest) {
    for (const path of group.paths) parts.push(new Uint8Array(await readFile(join(dir, path))))
  }
  const total = parts.reduce((a, p) => a + p.length, 0)
  const joined = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    joined.set(p, at)
    at += p.length
  }
  return { json, weightData: joined.buffer }
}

/** model.json of `dir` and its weights decoded to tensors (the caller disposes them). */
export async function readNamedTensors(dir: string): Promise<{ json: TfjsModelJson; tensors: tf.NamedTensorMap }> {
  const { json, weightData } = await readTfjsArtifacts(dir)
  const specs = json.weightsManifest.flatMap((group) => group.weights)
  return { json, tensors: tf.io.decodeWeights(weightData, specs) }
}
