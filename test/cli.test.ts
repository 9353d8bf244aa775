// The command line as a user meets it: mistyped commands, corpora and flags get a suggestion, bad values are
// refused with exit 2 naming the flag, and the help text shows the library's own defaults.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { runCli } from './helpers/cli.js'
import { commandUsage } from '../src/cli/main.js'
import { parseOptions, intOption, numberOption, suggest, UsageError } from '../src/cli/options.js'
import { ConfigError } from '../src/config.js'
import { TRAIN_DEFAULTS, resolveTrainSettings } from '../src/train/settings.js'
import { LOG_MEL_DEFAULTS } from '../src/audio/log-mel.js'
import { PREPARE_DEFAULTS } from '../src/cli/corpora.js'

describe('turnkit command line', () => {
  it('suggests the command meant by a misspelt one and exits 2', async () => {
    const run = await runCli(['prepar', 'clotho'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /unknown command 'prepar' \(did you mean prepare\?\)/)
  })

  it('suggests the corpus meant by a misspelt one and exits 2', async () => {
    const run = await runCli(['prepare', 'cloto', '--src', 'a', '--out', 'b'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /unknown corpus 'cloto' \(did you mean clotho\?\)/)
  })

  it('suggests the flag meant by a misspelt one and exits 2', async () => {
    const run = await runCli(['prepare', 'clotho', '--src', 'a', '--out', 'b', '--shard-row', '4'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /unknown option --shard-row \(did you mean --shard-rows\?\)/)
  })

  it('refuses --workers 0, --max-reject-ratio 2 and --jpeg-quality 101 with exit 2, naming the flag and the range', async () => {
    const cases: [string[], RegExp][] = [
      [['--workers', '0'], /--workers 0: expected an integer >= 1/],
      [['--max-reject-ratio', '2'], /--max-reject-ratio 2: expected a number >= 0 and <= 1/],
      [['--jpeg-quality', '101'], /--jpeg-quality 101: expected an integer >= 1 and <= 100/],
      [['--n-mels', '12.5'], /--n-mels 12\.5: expected an integer >= 1/],
      [['--compression', 'zst'], /--compression zst: expected zstd, snappy, gzip, brotli, lz4, none \(did you mean zstd\?\)/],
    ]
    const runs = await Promise.all(cases.map(([flags]) => runCli(['prepare', 'clotho', '--src', 'a', '--out', 'b', ...flags])))
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, run.stderr)
      assert.match(run.stderr, cases[i]![1])
    }
  })

  it('shows the defaults of the library in the help text', () => {
    const train = commandUsage('train')
    assert.match(train, new RegExp(`--epochs N +epochs of stage 2 \\(default ${TRAIN_DEFAULTS.epochs}\\)`))
    assert.match(train, new RegExp(`--batch N .*\\(default ${TRAIN_DEFAULTS.sourceBatch}\\)`))
    const prepare = commandUsage('prepare')
    assert.match(prepare, new RegExp(`--n-mels N +mel bands \\(default ${LOG_MEL_DEFAULTS.nMels}\\)`))
    assert.match(prepare, new RegExp(`--shard-rows N .*\\(default ${PREPARE_DEFAULTS.shardRows}\\)`))
  })
})

describe('option parsing', () => {
  const table = { rows: intOption({ help: 'rows', default: 3, min: 0 }), ratio: numberOption({ help: 'ratio', default: 0.5, min: 0, max: 1 }) }

  it('gives defaults for absent flags and typed values for given ones', () => {
    assert.deepEqual(parseOptions(['x', '--rows', '7'], table), { positionals: ['x'], values: { rows: 7, ratio: 0.5 } })
  })

  it('refuses a value of the wrong type as a ConfigError and an unknown flag as a UsageError', () => {
    assert.throws(() => parseOptions(['--rows', 'seven'], table), (e: Error) => e instanceof ConfigError && /--rows seven: expected an integer >= 0/.test(e.message))
    assert.throws(() => parseOptions(['--ratio', '1.5'], table), (e: Error) => e instanceof ConfigError && /expected a number >= 0 and <= 1/.test(e.message))
    assert.throws(() => parseOptions(['--row', '1'], table), (e: Error) => e instanceof UsageError && /did you mean --rows/.test(e.message))
  })

  it('suggests only what is close enough to be a typo', () => {
    assert.equal(suggest('musc-solo', ['music', 'music-solo', 'clotho']), 'music-solo')
    assert.equal(suggest('vggss', ['vggsound', 'vggss']), 'vggss')
    assert.equal(suggest('banana', ['refcoco', 'clotho']), undefined)
  })
})

describe('train settings', () => {
  it('are refused as a ConfigError when unknown or out of range', () => {
    assert.throws(() => resolveTrainSettings({ epochs: 0 }), (e: Error) => e instanceof ConfigError && /epochs = 0: must be an integer >= 1/.test(e.message))
    assert.throws(() => resolveTrainSettings({ epoch: 3 } as never), (e: Error) => e instanceof ConfigError && /unknown setting 'epoch'/.test(e.message))
    assert.deepEqual(resolveTrainSettings({}), TRAIN_DEFAULTS)
  })
})
