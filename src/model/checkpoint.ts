// TURN checkpoints: the standard tfjs layout (model.json + weight shards, checkpoint-io.ts) holding every
// parameter by name, the codebook EMA state included, with the resolved TurnConfig in userDefinedMetadata.

import * as tf from '@tensorflow/tfjs-core'
import type { FrozenBackbone } from './backbone.js'
import { configDifferences, type TurnConfig } from './config.js'
import { readNamedTensors, writeTfjsArtifacts } from './checkpoint-io.js'
import { createTurn, type TurnModel } from './turn.js'

/** model.json's format field for TURN checkpoints. */
export const TURN_FORMAT = 'turnkit-turn'
/** Version of the checkpoint layout; bumped when parameter names or meanings change. */
export const TURN_CHECKPOINT_VERSION = 1

/** Writes every parameter of `model` (trainable, codebooks, EMA state) and its config to `dir`. */
export async function saveTurn(model: TurnModel, dir: string): Promise<void> {
  const tensors: Record<string, tf.Tensor> = Object.fromEntries(model.parameters)
  await writeTfjsArtifacts(dir, tensors, {
    format: TURN_FORMAT,
    userDefinedMetadata: { turnkitCheckpointVersion: TURN_CHECKPOINT_VERSION, config: model.config },
  })
}

function checkpointConfig(dir: string, format: string | undefined, meta: Record<string, unknown> | undefined): TurnConfig {
  if (format !== TURN_FORMAT || meta?.config === undefined) {
    throw new Error(`model: ${dir} is not a TURN checkpoint (format '${format}', expected '${TURN_FORMAT}')`)
  }
  if (meta.turnkitCheckpointVersion !== TURN_CHECKPOINT_VERSION) {
    throw new Error(`model: ${dir} has checkpoint version ${String(meta.turnkitCheckpointVersion)}, this turnkit reads ${TURN_CHECKPOINT_VERSION}`)
  }
  return meta.config as TurnConfig
}

/**
 * Loads a checkpoint written by saveTurn. With `config`, the stored config must equal it: otherwise throws
 * naming every differing key with both values. Throws on a missing or mis-shaped parameter.
 */
export async function loadTurn(
  dir: string,
  { config, frozenBackbone }: { config?: TurnConfig; frozenBackbone?: FrozenBackbone } = {},
): Promise<TurnModel> {
  const { json, tensors } = await readNamedTensors(dir)
  try {
    const stored = checkpointConfig(dir, json.format, json.userDefinedMetadata)
    if (config !== undefined) {
      const keys = configDifferences(stored, config)
      if (keys.length > 0) {
        const detail = keys.map((k) => `${k}: checkpoint ${JSON.stringify((stored as unknown as Record<string, unknown>)[k])}, requested ${JSON.stringify((config as unknown as Record<string, unknown>)[k])}`)
        throw new Error(`model: checkpoint ${dir} was trained with a different config (${detail.join('; ')})`)
      }
    }
    const model = createTurn(stored, { frozenBackbone })
    for (const [name, variable] of model.parameters) {
      const value = tensors[name]
      if (value === undefined) {
        model.dispose()
        throw new Error(`model: checkpoint ${dir} lacks parameter '${name}'`)
      }
      if (value.shape.join('x') !== variable.shape.join('x')) {
        model.dispose()
        throw new Error(`model: checkpoint ${dir}: '${name}' is [${value.shape.join(', ')}], the model needs [${variable.shape.join(', ')}]`)
      }
      variable.assign(value)
    }
    return model
  } finally {
    tf.dispose(Object.values(tensors))
  }
}
