// The `turnkit` command line: parses arguments, calls the library, prints results. Exit codes: 0 success,
// 1 the work failed (verify found a problem, too many rejects), 2 usage error (bad flag, bad value).
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { availableParallelism } from 'node:os'
import { resolve, relative } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { CORPORA, CORPUS_NAMES, isCorpusName } from './corpora.js'
import type { PrepareSummary } from '../etl/prepare.js'
import { prepareCorpus } from './corpora.js'
import { ConfigError } from '../config.js'
import { EXPECTED_SKIP_CODES } from '../kinds/reject.js'
import type { StageInput } from '../kinds/registry.js'
import { DatasetWriter, type BuildStatus } from '../dataset/writer.js'
import { progressReporter } from '../etl/progress.js'
import { runDemo } from './demo.js'
import { scoreDataset } from '../train/score-dataset.js'
import { formatScoreTable } from '../train/score.js'
import { train, type TrainSettings } from '../train/trainer.js'
import { evaluateRun } from '../train/eval-run.js'
import { writeReport } from '../train/report.js'
import { selectBackend } from '../model/backend.js'
import { describeModel, formatModelDescription } from '../model/describe.js'
import { resolveTurnConfig } from '../model/config.js'
import { readManifest } from '../dataset/manifest.js'
import { inspectDataset, formatInspection } from '../dataset/inspect.js'
import { SHARD_COMPRESSIONS, type ShardCompression } from '../dataset/parquet-writer.js'
import { verifyDataset } from '../dataset/verify.js'

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string }
export const TOOL = { name: PACKAGE.name, version: PACKAGE.version }

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>

interface Command {
  summary: string
  usage: string
  options: Options
  run(positionals: string[], values: Record<string, string | boolean | string[] | undefined>): Promise<number>
}

const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} ${value}: expected an integer >= ${min}`)
  return n
}
const num = (name: string, value: string | undefined, fallback: number, min = 0): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} ${value}: expected a number >= ${min}`)
  return n
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** `--part i/N`, or `--parts N` with i from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID. */
export function resolvePart(part: string | undefined, parts: string | undefined, env: NodeJS.ProcessEnv): { index: number; count: number } {
  if (part !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(part)
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--part ${part}: expected i/N with 0 <= i < N`)
    return { index: Number(m[1]), count: Number(m[2]) }
  }
  if (parts !== undefined) {
    const count = int('parts', parts, 1)
    const fromEnv = env.JOB_COMPLETION_INDEX ?? env.SLURM_ARRAY_TASK_ID
    if (fromEnv === undefined) throw new UsageError('--parts N needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID to pick this part (or pass --part i/N)')
    const index = Number(fromEnv)
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new UsageError(`part index ${fromEnv} from the environment is not in [0, ${count})`)
    return { index, count }
  }
  return { index: 0, count: 1 }
}

const formatCounts = (byCode: Record<string, number | undefined>): string =>
  Object.entries(byCode)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0) || (a[0] < b[0] ? -1 : 1))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')

function printSummary(corpus: string, s: BuildStatus & Partial<PrepareSummary>, maxRejectRatio: number, asJson: boolean): number {
  // Expected skips (corpus-marked, e.g. no-box) are in the ledger but not a sign of a broken copy.
  const skips = EXPECTED_SKIP_CODES.reduce((n, code) => n + (s.rejects.byCode[code] ?? 0), 0)
  const ratio = s.inputs === 0 ? 0 : (s.rejects.total - skips) / s.inputs
  const tooMany = ratio > maxRejectRatio
  if (asJson) {
    const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024) // this process and its worker threads
    process.stdout.write(JSON.stringify({ ...s, manifest: undefined, version: s.manifest?.version ?? null, rejectRatio: ratio, ok: !tooMany, peakRssMb }) + '\n')
  } else {
    const rel = relative(process.cwd(), s.dir)
    const where = rel === '' ? '.' : rel.startsWith('..') ? s.dir : rel
    const rejects = s.rejects.total > 0 ? ` (${formatCounts(s.rejects.byCode)})` : ''
    process.stdout.write(`prepare ${corpus}: ${s.inputs} inputs = ${s.rows} rows + ${s.rejects.total} rejects${rejects}\n`)
    if (s.part !== undefined) process.stdout.write(`units: ${s.unitsBuilt} built, ${s.unitsSkipped} already done, ${s.unitsTotal} in the dataset (part ${s.part.index}/${s.part.count})\n`)
    else process.stdout.write(`units: ${s.unitsTotal} merged\n`)
    if (s.status === 'complete') {
      process.stdout.write(`version ${s.manifest!.version}\n${where}/manifest.json, ${s.manifest!.shards.length} part files; rejects in ${where}/rejects.jsonl\n`)
    } else {
      process.stdout.write(`part ${s.part?.index}/${s.part?.count} done; the dataset is complete once every part is built: turnkit merge <part dirs...> --out D\n`)
    }
  }
  if (tooMany) {
    process.stderr.write(
      `turnkit: ${(ratio * 100).toFixed(1)}% of inputs rejected, more than --max-reject-ratio ${maxRejectRatio}: top reasons ${formatCounts(s.rejects.byCode)}. ` +
        `See rejects.jsonl in ${s.dir} for each file and reason.\n`,
    )
    return 1
  }
  return 0
}

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'the whole system on a generated world (no download): corpora -> datasets -> training -> evaluation -> report',
    usage: `turnkit demo [--out DIR] [--small] [--seed N]
  --out DIR   where raw corpora, datasets and the run go (default ./turnkit-demo); an earlier demo there is resumed
  --small     a smaller world and schedule (what the test suite runs)
  --seed N    seed of the world and of training (default 0)`,
    options: { out: { type: 'string' }, small: { type: 'boolean' }, seed: { type: 'string' } },
    async run(rest, v) {
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
      const backend = await selectBackend()
      await runDemo({ out: resolve(str(v.out) ?? 'turnkit-demo'), tool: TOOL, backend: backend.name, scale: v.small === true ? 'small' : 'full', seed: int('seed', str(v.seed), 0, 0) })
      return 0
    },
  },
  fixtures: {
    summary: 'write a small raw corpus in its real distributed layout',
    usage: `turnkit fixtures <corpus> --out DIR [--clips N] [--seed S] [--corrupt] [--seconds S] [--format wav|flac|m4a|mp3]
  corpora: ${CORPUS_NAMES.join(', ')}
  --clips N       good items (clips, images, videos) to write (default 12)
  --seed S        seed for captions, objects and durations (default 0)
  --corrupt       add defective inputs: random bytes, empty, truncated, too short, missing files, bad captions, hostile paths
  --seconds S     duration of every good clip (default: the corpus' own: AudioCaps 10 s, Clotho 15-30 s)
  --format F      container of good clips (default wav)`,
    options: { out: { type: 'string' }, clips: { type: 'string' }, seed: { type: 'string' }, corrupt: { type: 'boolean' }, seconds: { type: 'string' }, format: { type: 'string' } },
    async run([corpus, ...rest], v) {
      if (corpus === undefined || !isCorpusName(corpus) || rest.length > 0) throw new UsageError(`expected one corpus: ${CORPUS_NAMES.join(', ')}`)
      const out = str(v.out)
      if (out === undefined) throw new UsageError('--out DIR is required')
      const format = str(v.format) ?? 'wav'
      if (!['wav', 'flac', 'm4a', 'mp3'].includes(format)) throw new UsageError(`--format ${format}: expected wav, flac, m4a or mp3`)
      const seconds = str(v.seconds) === undefined ? undefined : num('seconds', str(v.seconds), 0, 0.01)
      const expected = await CORPORA[corpus].writeFixture(resolve(out), {
        clips: int('clips', str(v.clips), 12),
        seed: int('seed', str(v.seed), 0, 0),
        corrupt: v.corrupt === true,
        ...(seconds === undefined ? {} : { seconds }),
        extension: `.${format}` as '.wav',
      })
      process.stdout.write(`wrote ${corpus} fixture to ${out}: ${expected.inputs} inputs, expect ${expected.rows} rows` + (Object.keys(expected.rejects).length ? ` and rejects ${formatCounts(expected.rejects)}` : '') + '\n')
      return 0
    },
  },
  prepare: {
    summary: 'turn a raw corpus into a versioned Parquet dataset',
    usage: `turnkit prepare <corpus> --src DIR --out DIR [options]
  corpora: ${CORPUS_NAMES.join(', ')}
  --split S             only this split (repeat or comma-separate; default all)
  --workers N           worker threads (default: cores = ${availableParallelism()}); never changes bytes
  --shard-rows N        inputs per part file (default 1000)
  --part i/N            build only units j with j % N == i; combine parts with turnkit merge
  --parts N             as --part, with i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID
  --max-reject-ratio R  exit 1 when more than this fraction of inputs is rejected (default 0.05; corpus-marked
                        skips such as no-box are in the ledger but do not count toward it)
  --max-seconds S       keep at most S seconds from the clip start (default 30)
  --min-seconds S       reject clips shorter than S seconds after decoding (default 1)
  --sample-rate HZ      decode rate (default 22050)
  --resampler R         auto | soxr | swr (default auto: soxr when ffmpeg has it)
  --n-fft N --hop N --n-mels N --fmin HZ --fmax HZ --top-db DB
                        log-mel settings (defaults 2048, 1024, 128, 0, sr/2, 80: TURN's)
  --vocab FILE          a BERT vocab.txt (default: bert-base-uncased)
  --max-tokens N        ids per caption including [CLS] and [SEP] (default 30)
  --short-edge PX       images: shortest edge of the stored image (default 384, the paper's)
  --jpeg-quality Q      images: JPEG quality of the stored image, 1-100 (default 90)
  --compression C       ${SHARD_COMPRESSIONS.join(' | ')} (default zstd)
  --json                print the summary as one JSON line
  --quiet               no progress output`,
    options: {
      src: { type: 'string' }, out: { type: 'string' }, split: { type: 'string', multiple: true }, workers: { type: 'string' },
      'shard-rows': { type: 'string' }, part: { type: 'string' }, parts: { type: 'string' }, 'max-reject-ratio': { type: 'string' },
      'max-seconds': { type: 'string' }, 'min-seconds': { type: 'string' }, 'sample-rate': { type: 'string' }, resampler: { type: 'string' },
      'n-fft': { type: 'string' }, hop: { type: 'string' }, 'n-mels': { type: 'string' }, fmin: { type: 'string' }, fmax: { type: 'string' },
      'top-db': { type: 'string' }, vocab: { type: 'string' }, 'short-edge': { type: 'string' }, 'jpeg-quality': { type: 'string' }, 'max-tokens': { type: 'string' }, compression: { type: 'string' },
      json: { type: 'boolean' }, quiet: { type: 'boolean' },
    },
    async run([corpus, ...rest], v) {
      if (corpus === undefined || !isCorpusName(corpus) || rest.length > 0) throw new UsageError(`expected one corpus: ${CORPUS_NAMES.join(', ')}`)
      const src = str(v.src)
      const out = str(v.out)
      if (src === undefined || out === undefined) throw new UsageError('--src DIR and --out DIR are required')
      const compression = (str(v.compression) ?? 'zstd') as ShardCompression
      if (!SHARD_COMPRESSIONS.includes(compression)) throw new UsageError(`--compression ${compression}: expected ${SHARD_COMPRESSIONS.join(', ')}`)
      const resampler = str(v.resampler) ?? 'auto'
      if (!['auto', 'soxr', 'swr'].includes(resampler)) throw new UsageError(`--resampler ${resampler}: expected auto, soxr or swr`)
      const splits = (v.split as string[] | undefined)?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '')
      const maxRejectRatio = num('max-reject-ratio', str(v['max-reject-ratio']), 0.05)
      const sampleRate = int('sample-rate', str(v['sample-rate']), 22_050)
      const stage: StageInput = {
        decode: {
          sampleRate,
          maxSeconds: num('max-seconds', str(v['max-seconds']), 30, 0.01),
          minSeconds: num('min-seconds', str(v['min-seconds']), 1),
          resampler: resampler as 'auto',
        },
        logMel: {
          sampleRate,
          nFft: int('n-fft', str(v['n-fft']), 2048),
          hopLength: int('hop', str(v.hop), 1024),
          nMels: int('n-mels', str(v['n-mels']), 128),
          fmin: num('fmin', str(v.fmin), 0),
          fmax: str(v.fmax) === undefined ? null : num('fmax', str(v.fmax), 0),
          topDb: num('top-db', str(v['top-db']), 80),
        },
        tokenizer: { maxTokens: int('max-tokens', str(v['max-tokens']), 30, 2) },
        vocabPath: str(v.vocab) === undefined ? null : resolve(str(v.vocab)!),
        image: { shortEdge: int('short-edge', str(v['short-edge']), 384), jpegQuality: int('jpeg-quality', str(v['jpeg-quality']), 90) },
      }
      const summary = await prepareCorpus(corpus, {
        src,
        out,
        stage,
        ...(splits ? { splits } : {}),
        shardRows: int('shard-rows', str(v['shard-rows']), 1000),
        compression,
        part: resolvePart(str(v.part), str(v.parts), process.env),
        workers: int('workers', str(v.workers), availableParallelism(), 0),
        tool: TOOL,
        ...(v.quiet === true ? {} : { progress: progressReporter(process.stderr) }),
      })
      return printSummary(corpus, summary, maxRejectRatio, v.json === true)
    },
  },
  merge: {
    summary: 'join datasets built with --part i/N into one dataset',
    usage: `turnkit merge <dir> [<dir> ...] --out DIR
  The parts must come from the same corpus listing and settings; the result is byte-identical to a single run.`,
    options: { out: { type: 'string' } },
    async run(dirs, v) {
      const out = str(v.out)
      if (out === undefined || dirs.length === 0) throw new UsageError('expected part directories and --out DIR')
      const summary = await DatasetWriter.merge(dirs.map((d) => resolve(d)), resolve(out))
      return printSummary(summary.manifest?.pipeline.name ?? 'merge', summary, Infinity, false)
    },
  },
  verify: {
    summary: 'recompute every hash and row count of a dataset',
    usage: `turnkit verify <dir>
  Exit 0 when every part file matches the manifest (size, sha256, rows), counts add up and the version recomputes; else exit 1 naming each bad file.`,
    options: {},
    async run([dir, ...rest]) {
      if (dir === undefined || rest.length > 0) throw new UsageError('expected one dataset directory')
      const problems = await verifyDataset(resolve(dir))
      if (problems.length > 0) {
        for (const p of problems) process.stderr.write(`verify: ${p}\n`)
        process.stderr.write(`verify: ${dir} FAILED (${problems.length} problem${problems.length > 1 ? 's' : ''}); rebuild the named files with the same prepare command\n`)
        return 1
      }
      const manifest = await readManifest(resolve(dir))
      process.stdout.write(`verify: ${dir} OK: ${manifest.shards.length} part files, ${manifest.rows} rows, version ${manifest.version}\n`)
      return 0
    },
  },
  train: {
    summary: 'train TURN on prepared datasets (both stages), or resume a run',
    usage: `turnkit train --source DIR --intermediate DIR --out RUN [options]
turnkit train --resume RUN
  --source DIR             image-text-box dataset (refcoco, refcoco+, refcocog, referitgame, flickr30k-entities)
  --intermediate DIR       audio-text dataset (audiocaps, clotho)
  --dev DIR                audio-image-boxes dataset to choose best/ on (e.g. flickr-soundnet); else best/ = last
  --preset P               paper | tiny (default paper)
  --config FILE            JSON object overriding model numbers of the preset (unknown keys are an error)
  --epochs N               default 30;  --classifier-epochs N  default 2
  --batch N                source batch b_s (default 64); the intermediate batch is balanced to the corpus sizes
  --intermediate-batch N   fix the intermediate batch instead
  --micro-batch N          at most N items of each domain per forward/backward pass, gradients summed: the same
                           step in less memory (the paper's batch 64 on the wasm backend needs 4 or less)
  --lr X                   peak learning rate (default 1e-4);  --weight-decay X (default 1e-5);  --clip-norm X (default off)
  --seed N                 default 0: every random choice derives from it
  --checkpoint-steps N     also checkpoint every N steps (default: every epoch only)
  --no-adaptive-sampling   uniform draws (the ablation)
  --no-spec-augment --no-augment
  --max-steps N            stop after N steps of stage 2 (the schedule is unchanged; smoke runs)
  --max-non-finite N       stop after N non-finite losses in a row (default 5)
  Backend: tfjs-node-gpu, tfjs-node, wasm, cpu, first that loads; TURNKIT_BACKEND=node-gpu|node|wasm|cpu forces one.`,
    options: {
      source: { type: 'string' }, intermediate: { type: 'string' }, dev: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
      preset: { type: 'string' }, config: { type: 'string' }, epochs: { type: 'string' }, 'classifier-epochs': { type: 'string' },
      batch: { type: 'string' }, 'intermediate-batch': { type: 'string' }, 'micro-batch': { type: 'string' }, lr: { type: 'string' }, 'weight-decay': { type: 'string' },
      'clip-norm': { type: 'string' }, seed: { type: 'string' }, 'checkpoint-steps': { type: 'string' }, 'no-adaptive-sampling': { type: 'boolean' },
      'no-spec-augment': { type: 'boolean' }, 'no-augment': { type: 'boolean' }, 'max-steps': { type: 'string' }, 'max-non-finite': { type: 'string' },
    },
    async run(rest, v) {
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
      const resumeDir = str(v.resume)
      const backend = await selectBackend()
      if (resumeDir !== undefined) {
        const result = await train({ runDir: resolve(resumeDir), datasets: { source: '', intermediate: '', dev: null }, settings: {}, backend: backend.name, tool: TOOL })
        process.stdout.write(`train: ${result.run} at step ${result.steps}${result.best ? `, best dev cIoU@0.5 ${(100 * result.best.ciouAt05).toFixed(1)} at step ${result.best.step}` : ''}\n`)
        return 0
      }
      const source = str(v.source)
      const intermediate = str(v.intermediate)
      const out = str(v.out)
      if (source === undefined || intermediate === undefined || out === undefined) throw new UsageError('--source DIR --intermediate DIR --out RUN are required (or --resume RUN)')
      if (existsSync(resolve(out, 'config.json'))) throw new UsageError(`${out} already holds a run: continue it with --resume ${out}, or choose another --out`)
      const preset = str(v.preset) ?? 'paper'
      if (preset !== 'paper' && preset !== 'tiny') throw new UsageError(`--preset ${preset}: expected paper or tiny`)
      const configPath = str(v.config)
      const model = configPath === undefined ? {} : (JSON.parse(readFileSync(resolve(configPath), 'utf8')) as Record<string, unknown>)
      const settings: Partial<TrainSettings> = {
        preset,
        model,
        epochs: int('epochs', str(v.epochs), 30),
        classifierEpochs: int('classifier-epochs', str(v['classifier-epochs']), 2, 0),
        sourceBatch: int('batch', str(v.batch), 64),
        intermediateBatch: str(v['intermediate-batch']) === undefined ? null : int('intermediate-batch', str(v['intermediate-batch']), 1),
        microBatch: str(v['micro-batch']) === undefined ? null : int('micro-batch', str(v['micro-batch']), 1),
        peakLr: num('lr', str(v.lr), 1e-4, 0),
        weightDecay: num('weight-decay', str(v['weight-decay']), 1e-5, 0),
        clipNorm: num('clip-norm', str(v['clip-norm']), 0, 0),
        seed: int('seed', str(v.seed), 0, 0),
        checkpointSteps: int('checkpoint-steps', str(v['checkpoint-steps']), 0, 0),
        adaptiveSampling: v['no-adaptive-sampling'] !== true,
        specAugment: v['no-spec-augment'] !== true,
        augment: v['no-augment'] !== true,
        maxSteps: str(v['max-steps']) === undefined ? null : int('max-steps', str(v['max-steps']), 1),
        maxNonFinite: int('max-non-finite', str(v['max-non-finite']), 5),
      }
      const result = await train({
        runDir: resolve(out),
        datasets: { source: resolve(source), intermediate: resolve(intermediate), dev: str(v.dev) === undefined ? null : resolve(str(v.dev)!) },
        settings,
        backend: backend.name,
        tool: TOOL,
      })
      process.stdout.write(`train: ${result.run} at step ${result.steps}${result.best ? `, best dev cIoU@0.5 ${(100 * result.best.ciouAt05).toFixed(1)} at step ${result.best.step}` : ''}\n`)
      return 0
    },
  },
  model: {
    summary: 'show a TURN preset: parameter count by module',
    usage: `turnkit model [--preset paper|tiny] [--config FILE]`,
    options: { preset: { type: 'string' }, config: { type: 'string' } },
    async run(rest, v) {
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
      const preset = str(v.preset) ?? 'paper'
      if (preset !== 'paper' && preset !== 'tiny') throw new UsageError(`--preset ${preset}: expected paper or tiny`)
      const overrides = str(v.config) === undefined ? {} : (JSON.parse(readFileSync(resolve(str(v.config)!), 'utf8')) as Record<string, unknown>)
      await selectBackend()
      process.stdout.write(formatModelDescription(describeModel(resolveTurnConfig(overrides, preset)), `TURN preset '${preset}'`))
      return 0
    },
  },
  eval: {
    summary: 'evaluate the best checkpoint of a run on an audio-image-boxes dataset (audio query -> box)',
    usage: `turnkit eval --run RUN --data EVAL_DIR [--vis OUT] [--name NAME] [--json]
  Writes RUN/eval/<name>/preds.jsonl (turnkit score format), scores.json and scores.txt; prints the table with
  the centre-box and random-box baselines. --vis OUT draws overlays (ground truth green, prediction red) of the
  8 best, 8 worst and 8 random items and a contact sheet into OUT/vis/.`,
    options: { run: { type: 'string' }, data: { type: 'string' }, vis: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
    async run(rest, v) {
      const runDir = str(v.run)
      const data = str(v.data)
      if (rest.length > 0 || runDir === undefined || data === undefined) throw new UsageError('expected --run RUN --data EVAL_DIR')
      await selectBackend()
      const result = await evaluateRun(resolve(runDir), resolve(data), { name: str(v.name), vis: str(v.vis) === undefined ? undefined : resolve(str(v.vis)!) })
      process.stdout.write(v.json === true ? JSON.stringify({ overall: result.report.overall, baselines: result.baselines, dir: result.dir }) + '\n' : result.table)
      return 0
    },
  },
  report: {
    summary: 'write an HTML training report (loss curves, lr, throughput, evaluation) for a run',
    usage: `turnkit report RUN [--out DIR]   (default RUN/report/index.html; readable offline)`,
    options: { out: { type: 'string' } },
    async run([runDir, ...rest], v) {
      if (runDir === undefined || rest.length > 0) throw new UsageError('expected one run directory')
      const out = str(v.out)
      const written = await writeReport(resolve(runDir), out === undefined ? {} : { out: resolve(out) })
      process.stdout.write(`report: ${written.html} (${written.pngs.length} charts)\n`)
      return 0
    },
  },
  score: {
    summary: 'score predicted boxes against an evaluation dataset (cIoU@0.5, AUC, mean cIoU)',
    usage: `turnkit score --pred PREDS.jsonl --data EVAL_DIR [--json]
  PREDS.jsonl  one line per item: {"key": "<dataset key>", "box": [x, y, w, h]} normalized to the item's image
  EVAL_DIR     an audio-image-boxes dataset (vggss, music-solo, flickr-soundnet)
  Ground truth as the literature: VGG-SS union of boxes, Flickr-SoundNet consensus of annotators (c = 2),
  MUSIC-Solo normalized boxes; masks on a 224x224 grid. Items without a prediction count as cIoU 0.`,
    options: { pred: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' } },
    async run(rest, v) {
      const pred = str(v.pred)
      const data = str(v.data)
      if (rest.length > 0 || pred === undefined || data === undefined) throw new UsageError('expected --pred PREDS.jsonl --data EVAL_DIR')
      const report = await scoreDataset(resolve(pred), resolve(data))
      process.stdout.write(v.json === true ? JSON.stringify({ ...report, perItem: undefined }) + '\n' : formatScoreTable(report))
      return 0
    },
  },
  inspect: {
    summary: 'show a dataset: schema, version, counts, rejects by reason, a few rows',
    usage: `turnkit inspect <dir> [--rows N] [--json]`,
    options: { rows: { type: 'string' }, json: { type: 'boolean' } },
    async run([dir, ...rest], v) {
      if (dir === undefined || rest.length > 0) throw new UsageError('expected one dataset directory')
      const report = await inspectDataset(resolve(dir), { rows: int('rows', str(v.rows), 3, 0) })
      process.stdout.write(v.json === true ? JSON.stringify(report) + '\n' : formatInspection(report))
      return 0
    },
  },
}

const HELP = `turnkit ${TOOL.version}: raw corpora -> versioned Parquet datasets -> TURN

usage: turnkit <command> [options]   (turnkit <command> --help for its options)

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

exit codes: 0 success, 1 the work failed (see the message), 2 usage error
`

/** Run the CLI with `argv` (without node and script). Returns the exit code; never calls process.exit. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP)
    return name === undefined ? 2 : 0
  }
  if (name === '--version') {
    process.stdout.write(`${TOOL.version}\n`)
    return 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`turnkit: unknown command '${name}'\n\n${HELP}`)
    return 2
  }
  try {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${command.usage}\n`)
      return 0
    }
    const { values, positionals } = parseArgs({ args, options: command.options, allowPositionals: true, strict: true })
    return await command.run(positionals, values as Record<string, string | boolean | string[] | undefined>)
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`turnkit ${name}: ${(err as Error).message}\n\n${command.usage}\n`)
      return 2
    }
    process.stderr.write(`turnkit ${name}: ${err instanceof Error ? err.message : String(err)}\n`)
    if (process.env.TURNKIT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`)
    return 1
  }
}
