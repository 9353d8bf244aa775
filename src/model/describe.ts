// Parameter counts of TURN by module, computed from the config alone (no tensors are allocated), for
// `turnkit model --preset paper` and docs/model.md.

import type { TurnConfig } from './config.js'
import { createTurn } from './turn.js'

export interface ModuleCount {
  /** First segment of the parameter names: text_encoder, codebook, ... */
  module: string
  /** Trainable parameters (updated by the optimizer). */
  trainable: number
  /** Non-trainable values (codebook codes and their EMA state, updated by updateCodebooks). */
  nonTrainable: number
}

export interface ModelDescription {
  modules: ModuleCount[]
  trainable: number
  nonTrainable: number
}

/**
 * Parameter counts by module for `config`. Builds the model once to count (so the counts cannot drift from the
 * code) and disposes it; the paper preset needs about 0.4 GB for that moment. A frozen backbone is not counted
 * (only its trainable projection would be, and building needs the loaded model): set backbone 'conv'.
 */
export function describeModel(config: TurnConfig): ModelDescription {
  const model = createTurn(config.backbone === 'frozen' ? { ...config, backbone: 'conv' } : config, { seed: 0 })
  try {
    const modules = new Map<string, ModuleCount>()
    for (const [name, variable] of model.parameters) {
      const module = name.split('/')[0] as string
      const entry = modules.get(module) ?? { module, trainable: 0, nonTrainable: 0 }
      if (variable.trainable) entry.trainable += variable.size
      else entry.nonTrainable += variable.size
      modules.set(module, entry)
    }
    const list = [...modules.values()]
    return {
      modules: list,
      trainable: list.reduce((a, m) => a + m.trainable, 0),
      nonTrainable: list.reduce((a, m) => a + m.nonTrainable, 0),
    }
  } finally {
    model.dispose()
  }
}

const MODULE_LABELS: Record<string, string> = {
  token_embedding: 'token embedding (Θ_t, Ω_t inputs)',
  text_encoder: 'Θ_t text encoder',
  audio_encoder: 'Θ_a audio encoder (+ conv stack)',
  codebook: 'codebooks Ψ_g (EMA)',
  visual_backbone: 'visual backbone',
  visual_encoder: 'Θ_v localization encoder',
  box_head: 'box head',
  text_decoder: 'Ω_t text decoder (+ vocab projection)',
  audio_decoder: 'Ω_a audio decoder',
}

/** A text table of describeModel(config): one row per module, then totals. */
export function formatModelDescription(description: ModelDescription, title = 'TURN'): string {
  const rows: [string, string, string][] = [['module', 'trainable', 'non-trainable']]
  const n = (x: number): string => x.toLocaleString('en-US')
  for (const m of description.modules) rows.push([MODULE_LABELS[m.module] ?? m.module, n(m.trainable), n(m.nonTrainable)])
  rows.push(['total', n(description.trainable), n(description.nonTrainable)])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: [string, string, string]): string => `${r[0].padEnd(widths[0]!)}  ${r[1].padStart(widths[1]!)}  ${r[2].padStart(widths[2]!)}`
  const rule = '-'.repeat(widths[0]! + widths[1]! + widths[2]! + 4)
  return [`${title}: ${n(description.trainable + description.nonTrainable)} parameters`, line(rows[0]!), rule, ...rows.slice(1, -1).map(line), rule, line(rows[rows.length - 1]!)].join('\n')
}

