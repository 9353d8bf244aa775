// The resolved TurnConfig of a preset (+ optional JSON overrides) and turnkit's parameter counts by module, as
// one JSON line for bench/python/turn_step.py: it builds its PyTorch model from `config` and checks that its own
// counts equal `parameters` module by module, so the speed comparison is between models of the same size.
// Run: node --import tsx bench/python/turn-config.ts tiny '{"dModel": 64}'  (prints JSON)
// Output: {"preset", "config": TurnConfig, "parameters": {"modules": [{module, trainable, nonTrainable}],
//          "trainable", "nonTrainable", "total"}}

import { fileURLToPath } from 'node:url'
import { selectBackend } from '../../src/model/backend.js'
import { resolveTurnConfig, TURN_PRESETS, type TurnConfig, type TurnPreset } from '../../src/model/config.js'
import { describeModel, type ModelDescription } from '../../src/model/describe.js'

export interface TurnConfigReport {
  preset: TurnPreset
  config: TurnConfig
  parameters: ModelDescription & { total: number }
}

/** The resolved config of `preset` with `overrides` and describeModel's counts for it. */
export async function turnConfigReport(preset: TurnPreset, overrides: Record<string, unknown> = {}): Promise<TurnConfigReport> {
  const config = resolveTurnConfig(overrides, preset)
  // describeModel allocates the variables once to count them, on the backend `turnkit model` would pick (its
  // log line silenced: stdout carries the JSON line alone).
  await selectBackend({ log: () => {} })
  const description = describeModel(config)
  return { preset, config, parameters: { ...description, total: description.trainable + description.nonTrainable } }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [preset = 'tiny', overrides = '{}'] = process.argv.slice(2)
  if (!(TURN_PRESETS as readonly string[]).includes(preset)) {
    process.stderr.write(`usage: turn-config.ts PRESET [OVERRIDES_JSON]  (PRESET: ${TURN_PRESETS.join(', ')})\n`)
    process.exit(2)
  }
  try {
    console.log(JSON.stringify(await turnConfigReport(preset as TurnPreset, JSON.parse(overrides) as Record<string, unknown>)))
  } catch (error) {
    // One line, not a stack: the wasm backend's rejection handler would otherwise print its whole minified source.
    process.stderr.write(`turn-config: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}
