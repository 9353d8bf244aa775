// The `turnkit` command line: parses arguments against each command's option table (options.ts), calls the
// library, prints results. Exit codes: 0 success, 1 the work failed (verify found a problem, too many rejects),
// 2 usage error (unknown command or flag, bad value).
import { availableParallelism } from 'node:os'
import { relative, resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { readJsonFile } from '../formats/json.js'
import { ConfigError, TOOL } from '../config.js'
import { CORPORA, CORPUS_NAMES, isCorpusName, PREPARE_DEFAULTS, prepareCorpus, type CorpusName } from './corpora.js'
import { describeLeaks, SPLIT_LEAK_POLICIES, type PrepareSummary } from '../etl/prepare.js'
import { EXPECTED_SKIP_CODES } from '../kinds/reject.js'
import { DatasetWriter, type BuildStatus } from '../dataset/writer.js'
import { releaseHeldLocksSync } from '../dataset/out-dir.js'
import { progressReporter } from '../etl/progress.js'
import { runDemo, DEMO_DEFAULTS } from './demo.js'
import { scoreDataset } from '../train/score-dataset.js'
import { formatScoreTable } from '../train/score.js'
import { train } from '../train/trainer.js'
import { TRAIN_DEFAULTS, type TrainSettings } from '../train/settings.js'
import { evaluateRun } from '../train/eval-run.js'
import { writeReport } from '../train/report.js'
import { selectBackend } from '../model/backend.js'
import { describeModel, formatModelDescription } from '../model/describe.js'
import { resolveTurnConfig, TURN_PRESETS } from '../model/config.js'
import { readManifest } from '../dataset/manifest.js'
import { isRemote, resolveLocation, type StoreOptions } from '../dataset/storage.js'
import { CACHE_DEFAULTS, type DataOptions } from '../dataset/cache.js'
import { verifyDataset } from '../dataset/verify.js'
import { inspectDataset, formatInspection } from '../dataset/inspect.js'
import { diffDatasets, formatDiff } from '../dataset/diff.js'
import { findOverlap, formatOverlapReport, OVERLAP_MODES, type OverlapInput, type OverlapMode } from '../dataset/overlap.js'
import { formatLineage, runLineage } from '../train/lineage.js'
import { DEFAULT_VIEW_PORT, runView } from '../view/run.js'
import { SHARD_COMPRESSIONS } from '../dataset/parquet-writer.js'
import { DECODE_DEFAULTS } from '../audio/decode.js'
import { LOG_MEL_DEFAULTS } from '../audio/log-mel.js'
import { TOKENIZER_DEFAULTS } from '../text/wordpiece.js'
import { IMAGE_DEFAULTS } from '../image/image-stage.js'
import { FIXTURE_DEFAULTS } from '../fixtures/types.js'
import {
  byteSizeOption,
  choiceOption,
  formatOptions,
  intOption,
  listOption,
  numberOption,
  optionalIntOption,
  optionalNumberOption,
  parseOptions,
  stringOption,
  suggest,
  switchOption,
  UsageError,
  type OptionTable,
  type OptionValues,
} from './options.js'

interface Command<T extends OptionTable> {
  summary: string
  /** the synopsis line(s); option lines are generated from `options` */
  synopsis: string
  /** text between the synopsis and the options (corpora, formats) */
  notes?: string
  options: T
  /** `args` is the command's raw arguments, as given */
  run(positionals: string[], values: OptionValues<T>, args: readonly string[]): Promise<number>
}

const command = <T extends OptionTable>(c: Command<T>): Command<T> => c

/** The full help of a command: synopsis, notes, one line per option. */
function usageOf(c: Command<OptionTable>): string {
  return [c.synopsis, ...(c.notes ? [c.notes] : []), formatOptions(c.options)].filter((s) => s !== '').join('\n')
}

/** The one corpus named by `positionals`, with a suggestion when it is misspelt. */
function corpusArgument(positionals: string[]): CorpusName {
  const [corpus, ...rest] = positionals
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
  if (corpus === undefined) throw new UsageError(`expected a corpus: ${CORPUS_NAMES.join(', ')}`)
  if (!isCorpusName(corpus)) {
    const hint = suggest(corpus, CORPUS_NAMES)
    throw new UsageError(`unknown corpus '${corpus}'${hint ? ` (did you mean ${hint}?)` : ''}; corpora: ${CORPUS_NAMES.join(', ')}`)
  }
  return corpus
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`)
}

function onePositional(positionals: string[], what: string): string {
  const [one, ...rest] = positionals
  if (one === undefined || rest.length > 0) throw new UsageError(`expected one ${what}`)
  return one
}

/** `--part i/N`, or `--parts N` with i from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID. */
export function resolvePart(part: string | undefined, parts: number | undefined, env: NodeJS.ProcessEnv): { index: number; count: number } {
  if (part !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(part)
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new ConfigError(`--part ${part}: expected i/N with 0 <= i < N`)
    return { index: Number(m[1]), count: Number(m[2]) }
  }
  if (parts !== undefined) {
    const fromEnv = env.JOB_COMPLETION_INDEX ?? env.SLURM_ARRAY_TASK_ID
    if (fromEnv === undefined) throw new UsageError('--parts N needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID to pick this part (or pass --part i/N)')
    const index = Number(fromEnv)
    if (!Number.isInteger(index) || index < 0 || index >= parts) throw new ConfigError(`part index ${fromEnv} from the environment is not in [0, ${parts})`)
    return { index, count: parts }
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
    const rel = isRemote(s.dir) ? s.dir : relative(process.cwd(), s.dir)
    const where = rel === '' ? '.' : rel.startsWith('..') ? s.dir : rel
    const rejects = s.rejects.total > 0 ? ` (${formatCounts(s.rejects.byCode)})` : ''
    process.stdout.write(`prepare ${corpus}: ${s.inputs} inputs = ${s.rows} rows + ${s.rejects.total} rejects${rejects}\n`)
    for (const { file, reason } of s.rebuilt ?? []) process.stdout.write(`rebuilt ${file}: ${reason}\n`)
    if ((s.cleanedTexts ?? 0) > 0) process.stdout.write(`texts: control or bidi characters removed from ${s.cleanedTexts} caption${s.cleanedTexts === 1 ? '' : 's'} or expression${s.cleanedTexts === 1 ? '' : 's'}\n`)
    const leaks = s.manifest?.leaks ?? []
    if (leaks.length > 0) process.stdout.write(`split leaks: ${leaks.length} source item${leaks.length > 1 ? 's' : ''} in more than one split (${describeLeaks(leaks)}); all listed in the manifest's leaks\n`)
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

/**
 * `turnkit <name> <positionals> --flag value ...` as a shell line, with the flags the user gave (paths made
 * absolute, so the line works from any folder): what rebuilds a dataset.
 */
function commandLine(name: string, positionals: string[], values: Record<string, unknown>, args: readonly string[]): string {
  const quote = (text: string): string => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`)
  const given = new Set(args.flatMap((arg) => /^--([\w-]+)/.exec(arg)?.[1] ?? []))
  const flags = Object.entries(values).flatMap(([flag, value]) => {
    if (!given.has(flag) || value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return []
    const shown = flag === 'src' || flag === 'out' || flag === 'vocab' ? resolveLocation(String(value)) : Array.isArray(value) ? value.join(',') : String(value)
    return value === true ? [`--${flag}`] : [`--${flag}`, quote(shown)]
  })
  return ['turnkit', name, ...positionals.map(quote), ...flags].join(' ')
}

const readConfigFile = async (path: string): Promise<Record<string, unknown>> => (await readJsonFile(resolve(path))) as Record<string, unknown>
const FIXTURE_FORMATS = ['wav', 'flac', 'm4a', 'mp3'] as const

// How s3:// and http(s):// locations are reached, and where remote part files are cached (storage.ts, cache.ts).
const STORE_OPTIONS = {
  's3-endpoint': stringOption({ help: 'S3-compatible endpoint for s3:// locations (MinIO, Ceph RGW, R2, GCS interoperability); credentials come from the AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance and container roles)', value: 'URL', defaultText: 'AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS' }),
}
const CACHE_OPTIONS = {
  'cache-dir': stringOption({ help: 'where part files of s3:// and http(s):// datasets are cached (shared safely by concurrent runs; a warm cache is reused)', value: 'DIR', defaultText: '$TURNKIT_CACHE_DIR, $XDG_CACHE_HOME/turnkit, ~/.cache/turnkit' }),
  'cache-limit': byteSizeOption({ help: 'bytes the cache may hold, least recently used parts evicted first; must hold the parts a reader is using (its current and next windows)', default: CACHE_DEFAULTS.cacheLimit, defaultText: '20G' }),
}
type DataFlags = OptionValues<typeof STORE_OPTIONS & typeof CACHE_OPTIONS>
const storeOptions = (v: OptionValues<typeof STORE_OPTIONS>): StoreOptions => (v['s3-endpoint'] === undefined ? {} : { s3Endpoint: v['s3-endpoint'] })
const dataOptions = (v: DataFlags): DataOptions => ({ ...storeOptions(v), ...(v['cache-dir'] === undefined ? {} : { cacheDir: resolve(v['cache-dir']) }), cacheLimit: v['cache-limit'] })

const PRESET_OPTIONS = {
  preset: choiceOption({ help: 'TURN preset', choices: TURN_PRESETS, default: TRAIN_DEFAULTS.preset }),
  config: stringOption({ help: 'JSON object overriding model numbers of the preset (unknown keys are an error)', value: 'FILE' }),
}

const COMMANDS = {
  demo: command({
    summary: 'the whole system on a generated world (no download): corpora -> datasets -> training -> evaluation -> report',
    synopsis: 'turnkit demo [--out DIR] [--small] [--seed N]',
    options: {
      out: stringOption({ help: 'where raw corpora, datasets and the run go; an earlier demo there is resumed', value: 'DIR', defaultText: DEMO_DEFAULTS.out }),
      small: switchOption({ help: 'a smaller world and schedule (what the test suite runs)' }),
      seed: intOption({ help: 'seed of the world and of training', default: DEMO_DEFAULTS.seed, min: 0 }),
    },
    async run(positionals, v) {
      noPositionals(positionals)
      const backend = await selectBackend()
      await runDemo({ out: resolve(v.out ?? DEMO_DEFAULTS.out), tool: TOOL, backend: backend.name, scale: v.small ? 'small' : 'full', seed: v.seed })
      return 0
    },
  }),
  fixtures: command({
    summary: 'write a small raw corpus in its real distributed layout',
    synopsis: 'turnkit fixtures <corpus> --out DIR [options]',
    notes: `  corpora: ${CORPUS_NAMES.join(', ')}`,
    options: {
      out: stringOption({ help: 'where to write the corpus', value: 'DIR', required: true }),
      clips: intOption({ help: 'good items (clips, images, videos) to write', default: FIXTURE_DEFAULTS.clips, min: 1 }),
      seed: intOption({ help: 'seed for captions, objects and durations', default: FIXTURE_DEFAULTS.seed, min: 0 }),
      corrupt: switchOption({ help: 'add defective inputs: random bytes, empty, truncated, too short, missing files, bad captions, hostile paths' }),
      seconds: optionalNumberOption({ help: "duration of every good clip, seconds", value: 'S', min: 0, minExclusive: true, defaultText: "the corpus' own: AudioCaps 10, Clotho 15-30" }),
      format: choiceOption({ help: 'container of good clips', choices: FIXTURE_FORMATS, default: 'wav', value: 'F' }),
    },
    async run(positionals, v) {
      const corpus = corpusArgument(positionals)
      const expected = await CORPORA[corpus].writeFixture(resolve(v.out), {
        clips: v.clips,
        seed: v.seed,
        corrupt: v.corrupt,
        ...(v.seconds === undefined ? {} : { seconds: v.seconds }),
        extension: `.${v.format}`,
      })
      process.stdout.write(`wrote ${corpus} fixture to ${v.out}: ${expected.inputs} inputs, expect ${expected.rows} rows` + (Object.keys(expected.rejects).length ? ` and rejects ${formatCounts(expected.rejects)}` : '') + '\n')
      return 0
    },
  }),
  prepare: command({
    summary: 'turn a raw corpus into a versioned Parquet dataset',
    synopsis: 'turnkit prepare <corpus> --src LOCATION --out LOCATION [options]',
    notes: `  corpora: ${CORPUS_NAMES.join(', ')}\n  A location is a folder, s3://bucket/prefix or (--src only) an http(s):// URL serving a JSON directory index.`,
    options: {
      src: stringOption({ help: 'the raw corpus, in its distributed layout', value: 'LOCATION', required: true }),
      out: stringOption({ help: 'the dataset to build, or to resume: a folder or s3://bucket/prefix', value: 'LOCATION', required: true }),
      split: listOption({ help: 'only this split; repeat or comma-separate', defaultText: 'all' }),
      workers: intOption({ help: 'worker threads; never changes bytes', default: availableParallelism(), defaultText: 'the number of cores', min: 1 }),
      'shard-rows': intOption({ help: 'inputs per part file (a part has fewer rows when some inputs are rejected)', default: PREPARE_DEFAULTS.shardRows, min: 1 }),
      part: stringOption({ help: 'build only units j with j % N == i into this --out; join the parts with turnkit merge', value: 'i/N', defaultText: '0/1' }),
      parts: optionalIntOption({ help: 'as --part, with i from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or SLURM_ARRAY_TASK_ID', min: 1 }),
      'max-reject-ratio': numberOption({ help: 'exit 1 naming the top reasons when more than this fraction of inputs is rejected (the dataset is still written); skips the corpus itself marks (no-box) do not count', value: 'R', default: 0.05, min: 0, max: 1 }),
      'max-seconds': numberOption({ help: 'keep at most S seconds from the clip start; shorter clips are kept whole (the trainer crops or pads to 216 frames)', value: 'S', default: DECODE_DEFAULTS.maxSeconds, min: 0, minExclusive: true }),
      'min-seconds': numberOption({ help: 'reject clips shorter than S seconds after decoding (too-short)', value: 'S', default: DECODE_DEFAULTS.minSeconds, min: 0 }),
      'sample-rate': intOption({ help: 'decode rate', value: 'HZ', default: DECODE_DEFAULTS.sampleRate, min: 1 }),
      'n-fft': intOption({ help: "log-mel FFT size (TURN's)", default: LOG_MEL_DEFAULTS.nFft, min: 1 }),
      hop: intOption({ help: 'log-mel hop length, samples', default: LOG_MEL_DEFAULTS.hopLength, min: 1 }),
      'n-mels': intOption({ help: 'mel bands', default: LOG_MEL_DEFAULTS.nMels, min: 1 }),
      fmin: numberOption({ help: 'lowest mel filter edge', value: 'HZ', default: LOG_MEL_DEFAULTS.fmin, min: 0 }),
      fmax: optionalNumberOption({ help: 'highest mel filter edge', value: 'HZ', min: 0, minExclusive: true, defaultText: 'sample rate / 2' }),
      'top-db': numberOption({ help: 'dynamic range below the clip maximum', value: 'DB', default: LOG_MEL_DEFAULTS.topDb, min: 0, minExclusive: true }),
      vocab: stringOption({ help: 'a BERT vocab.txt', value: 'FILE', defaultText: 'bert-base-uncased' }),
      'max-tokens': intOption({ help: 'ids per caption including [CLS] and [SEP]', default: TOKENIZER_DEFAULTS.maxTokens, min: 2 }),
      'short-edge': intOption({ help: 'images: shortest edge of the stored image', value: 'PX', default: IMAGE_DEFAULTS.shortEdge, min: 1 }),
      'jpeg-quality': intOption({ help: 'images: JPEG quality of the stored image', value: 'Q', default: IMAGE_DEFAULTS.jpegQuality, min: 1, max: 100 }),
      compression: choiceOption({ help: 'Parquet codec', choices: SHARD_COMPRESSIONS, default: PREPARE_DEFAULTS.compression, value: 'C' }),
      'on-split-leak': choiceOption({ help: 'a source item (YouTube id, image, audio file) in two splits: warn lists it in the summary and the manifest, reject turns the copies in earlier splits into split-leak rejects (the last split keeps it), error stops', choices: SPLIT_LEAK_POLICIES, default: 'warn' }),
      'follow-symlinks': switchOption({ help: 'open files that are links out of the corpus folder (recorded in the manifest); by default they are unsafe-path rejects' }),
      ...STORE_OPTIONS,
      json: switchOption({ help: 'print the summary as one JSON line (with peakRssMb)' }),
      quiet: switchOption({ help: 'no progress output' }),
    },
    async run(positionals, v, args) {
      const corpus = corpusArgument(positionals)
      const summary = await prepareCorpus(corpus, {
        src: v.src,
        out: v.out,
        stage: {
          decode: { sampleRate: v['sample-rate'], maxSeconds: v['max-seconds'], minSeconds: v['min-seconds'] },
          logMel: { sampleRate: v['sample-rate'], nFft: v['n-fft'], hopLength: v.hop, nMels: v['n-mels'], fmin: v.fmin, fmax: v.fmax ?? null, topDb: v['top-db'] },
          tokenizer: { maxTokens: v['max-tokens'] },
          vocabPath: v.vocab === undefined ? null : resolve(v.vocab),
          image: { shortEdge: v['short-edge'], jpegQuality: v['jpeg-quality'] },
        },
        splits: v.split,
        followSymlinks: v['follow-symlinks'],
        splitLeaks: v['on-split-leak'],
        command: commandLine('prepare', positionals, v, args),
        store: storeOptions(v),
        shardRows: v['shard-rows'],
        compression: v.compression,
        part: resolvePart(v.part, v.parts, process.env),
        workers: v.workers,
        tool: TOOL,
        ...(v.quiet ? {} : { progress: progressReporter(process.stderr) }),
      })
      return printSummary(corpus, summary, v['max-reject-ratio'], v.json)
    },
  }),
  merge: command({
    summary: 'join datasets built with --part i/N into one dataset',
    synopsis: 'turnkit merge <location> [<location> ...] --out LOCATION',
    notes: '  The parts must come from the same corpus listing and settings; the result is byte-identical to a single run.\n  Parts and --out may be folders or s3:// prefixes; within one S3 endpoint part files are copied server-side.',
    options: {
      out: stringOption({ help: 'the merged dataset (may be one of the parts)', value: 'LOCATION', required: true }),
      json: switchOption({ help: 'print the summary as one JSON line (with the version)' }),
      ...STORE_OPTIONS,
    },
    async run(dirs, v) {
      if (dirs.length === 0) throw new UsageError('expected part directories')
      const summary = await DatasetWriter.merge(dirs.map((d) => resolveLocation(d)), resolveLocation(v.out), storeOptions(v))
      return printSummary(summary.manifest?.pipeline.name ?? 'merge', summary, Infinity, v.json)
    },
  }),
  verify: command({
    summary: 'recompute every hash and row count of a dataset',
    synopsis: 'turnkit verify <location>',
    notes: '  Exit 0 when every part file matches the manifest (size, sha256, rows), counts add up and the version recomputes; else exit 1 naming each bad file.\n  A remote dataset is downloaded through the part cache to be hashed.',
    options: { ...STORE_OPTIONS, ...CACHE_OPTIONS },
    async run(positionals, v) {
      const dir = onePositional(positionals, 'dataset location')
      const problems = await verifyDataset(resolveLocation(dir), dataOptions(v))
      if (problems.length > 0) {
        for (const p of problems) process.stderr.write(`verify: ${p}\n`)
        process.stderr.write(`verify: ${dir} FAILED (${problems.length} problem${problems.length > 1 ? 's' : ''}); rebuild the named files with the same prepare command\n`)
        return 1
      }
      const manifest = await readManifest(resolveLocation(dir), storeOptions(v))
      process.stdout.write(`verify: ${dir} OK: ${manifest.shards.length} part files, ${manifest.rows} rows, version ${manifest.version}\n`)
      return 0
    },
  }),
  diff: command({
    summary: 'what changed between two datasets: settings, keys added, removed and changed, ledger by reason',
    synopsis: 'turnkit diff <location A> <location B> [--json]',
    notes: '  Rows are matched by key and compared column by column (a hash of each decoded value); equal versions read no rows.\n  Exit 0 when identical, 1 when they differ, 2 on a usage error; a dataset that cannot be read or fails verification is an error (exit 1, named).',
    options: {
      json: switchOption({ help: 'print the whole diff as one JSON line (every key, not the first 20 per list)' }),
      'no-verify-data': switchOption({ help: "compare without first checking every part file's size and sha256 against its manifest (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      if (positionals.length !== 2) throw new UsageError('expected two dataset locations: turnkit diff A B')
      const [a, b] = positionals.map((p) => resolveLocation(p)) as [string, string]
      if (v['no-verify-data']) process.stderr.write('diff: comparing without verifying the part files first (--no-verify-data)\n')
      else {
        for (const location of [a, b]) {
          const problems = await verifyDataset(location, dataOptions(v))
          if (problems.length > 0) throw new Error(`diff: ${location} fails verification (${problems[0]}${problems.length > 1 ? `; ${problems.length - 1} more` : ''}): run turnkit verify on it, rebuild it, then diff again`)
        }
      }
      const diff = await diffDatasets(a, b, dataOptions(v))
      process.stdout.write(v.json ? JSON.stringify(diff) + '\n' : formatDiff(diff))
      return diff.identical ? 0 : 1
    },
  }),
  overlap: command({
    summary: 'items datasets share: the same source id (YouTube, image), the same audio (even cut elsewhere), the same image',
    synopsis: 'turnkit overlap <location>... [--train LOCATION]... [--test LOCATION]... [--by source-id,audio,image] [--json]',
    notes: '  Exit 1 when a --test dataset shares an item with a --train dataset (a leak), else 0; positional datasets are compared with every other.',
    options: {
      train: listOption({ help: 'a training dataset (repeat, or comma-separate)', value: 'LOCATION' }),
      test: listOption({ help: 'an evaluation dataset: sharing an item with a --train one is a leak (exit 1)', value: 'LOCATION' }),
      by: listOption({ help: `what to compare: ${OVERLAP_MODES.join(', ')}`, value: 'MODE', defaultText: OVERLAP_MODES.join(',') }),
      json: switchOption({ help: 'print the whole report as one JSON line' }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      const bad = v.by.filter((m) => !(OVERLAP_MODES as readonly string[]).includes(m))
      if (bad.length > 0) throw new UsageError(`--by ${bad.join(',')}: expected ${OVERLAP_MODES.join(', ')}`)
      const inputs: OverlapInput[] = [
        ...v.train.map((l) => ({ location: resolveLocation(l), name: l, role: 'train' as const })),
        ...v.test.map((l) => ({ location: resolveLocation(l), name: l, role: 'test' as const })),
        ...positionals.map((l) => ({ location: resolveLocation(l), name: l, role: 'any' as const })),
      ]
      if (inputs.length < 2) throw new UsageError('expected at least two datasets (positional, --train or --test)')
      const report = await findOverlap(inputs, { ...dataOptions(v), ...(v.by.length > 0 ? { by: v.by as OverlapMode[] } : {}) })
      process.stdout.write(v.json ? JSON.stringify(report) + '\n' : formatOverlapReport(report))
      return report.leak ? 1 : 0
    },
  }),
  lineage: command({
    summary: 'which data made a run or checkpoint, and whether it is still there unchanged',
    synopsis: 'turnkit lineage <RUN | RUN/checkpoints/step-N | RUN/best> [--json]',
    notes: '  Lists every dataset the run trained on (as recorded at training start: location, version, rows, part files) and evaluated on, and checks\n  each against its location now: the version, then every part file and the ledger. Exit 0 when all are unchanged, 1 when one is changed, damaged or gone.',
    options: {
      json: switchOption({ help: 'print the lineage as one JSON line' }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      const lineage = await runLineage(resolve(onePositional(positionals, 'run folder')), dataOptions(v))
      process.stdout.write(v.json ? JSON.stringify(lineage) + '\n' : formatLineage(lineage))
      return lineage.ok ? 0 : 1
    },
  }),
  train: command({
    summary: 'train TURN on prepared datasets (both stages), or resume a run',
    synopsis: 'turnkit train --source LOCATION --intermediate LOCATION --out RUN [options]\nturnkit train --resume RUN',
    notes: '  Backend: tfjs-node-gpu, tfjs-node, wasm, cpu, the first that loads; TURNKIT_BACKEND=node-gpu|node|wasm|cpu forces one.\n  Datasets may be folders, s3:// prefixes or https:// URLs; remote part files are fetched ahead into the cache.',
    options: {
      source: stringOption({ help: 'image-text-box dataset (refcoco, refcoco+, refcocog, referitgame, flickr30k-entities)', value: 'LOCATION' }),
      intermediate: stringOption({ help: 'audio-text dataset (audiocaps, clotho)', value: 'LOCATION' }),
      dev: stringOption({ help: 'audio-image-boxes dataset to choose best/ on (e.g. flickr-soundnet)', value: 'LOCATION', defaultText: 'none: best/ = last' }),
      out: stringOption({ help: 'the run directory to create', value: 'RUN' }),
      resume: stringOption({ help: 'continue this run from its last checkpoint (every other option comes from the run)', value: 'RUN' }),
      ...PRESET_OPTIONS,
      epochs: intOption({ help: 'epochs of stage 2', default: TRAIN_DEFAULTS.epochs, min: 1 }),
      'classifier-epochs': intOption({ help: 'epochs of the domain classifier (stage 1)', default: TRAIN_DEFAULTS.classifierEpochs, min: 0 }),
      batch: intOption({ help: 'source batch b_s; the intermediate batch is balanced to the corpus sizes', default: TRAIN_DEFAULTS.sourceBatch, min: 1 }),
      'intermediate-batch': optionalIntOption({ help: 'fix the intermediate batch instead', min: 1 }),
      'micro-batch': optionalIntOption({ help: 'at most N items of each domain per forward/backward pass, gradients summed: the same step in less memory', min: 1, defaultText: 'the whole batch' }),
      replicas: intOption({ help: 'data-parallel replicas of the model, one per core (worker threads): the bits of the same micro-batches on one thread; without --micro-batch, one slice per replica', default: TRAIN_DEFAULTS.replicas, min: 1 }),
      lr: numberOption({ help: 'peak learning rate', default: TRAIN_DEFAULTS.peakLr, min: 0, minExclusive: true }),
      'weight-decay': numberOption({ help: 'decoupled weight decay', default: TRAIN_DEFAULTS.weightDecay, min: 0 }),
      'clip-norm': numberOption({ help: 'global gradient-norm clip, 0 = off', default: TRAIN_DEFAULTS.clipNorm, min: 0 }),
      seed: intOption({ help: 'every random choice derives from it', default: TRAIN_DEFAULTS.seed, min: 0 }),
      'checkpoint-steps': intOption({ help: 'also checkpoint every N steps, 0 = at epoch ends only', default: TRAIN_DEFAULTS.checkpointSteps, min: 0 }),
      'no-adaptive-sampling': switchOption({ help: 'uniform draws (the ablation)' }),
      'no-spec-augment': switchOption({ help: 'no SpecAugment on intermediate audio' }),
      'no-augment': switchOption({ help: 'no image augmentation of source images' }),
      'max-steps': optionalIntOption({ help: 'stop after N steps of stage 2 (the schedule is unchanged; smoke runs)', min: 1 }),
      'max-non-finite': intOption({ help: 'stop after N non-finite losses in a row', default: TRAIN_DEFAULTS.maxNonFinite, min: 1 }),
      'no-verify-data': switchOption({ help: "read the data without checking every part file's size and sha256 against the manifest first (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      noPositionals(positionals)
      const backend = await selectBackend()
      const data = dataOptions(v)
      const report = (result: { run: string; steps: number; best: { ciouAt05: number; step: number } | null }): number => {
        process.stdout.write(`train: ${result.run} at step ${result.steps}${result.best ? `, best dev cIoU@0.5 ${(100 * result.best.ciouAt05).toFixed(1)} at step ${result.best.step}` : ''}\n`)
        return 0
      }
      if (v.resume !== undefined) return report(await train({ resume: resolve(v.resume), backend: backend.name, tool: TOOL, verifyData: !v['no-verify-data'], data }))
      if (v.source === undefined || v.intermediate === undefined || v.out === undefined) throw new UsageError('--source DIR --intermediate DIR --out RUN are required (or --resume RUN)')
      if (existsSync(resolve(v.out, 'config.json'))) throw new UsageError(`${v.out} already holds a run: continue it with --resume ${v.out}, or choose another --out`)
      const settings: Partial<TrainSettings> = {
        preset: v.preset,
        model: v.config === undefined ? {} : await readConfigFile(v.config),
        epochs: v.epochs,
        classifierEpochs: v['classifier-epochs'],
        sourceBatch: v.batch,
        intermediateBatch: v['intermediate-batch'] ?? null,
        microBatch: v['micro-batch'] ?? null,
        replicas: v.replicas,
        peakLr: v.lr,
        weightDecay: v['weight-decay'],
        clipNorm: v['clip-norm'],
        seed: v.seed,
        checkpointSteps: v['checkpoint-steps'],
        adaptiveSampling: !v['no-adaptive-sampling'],
        specAugment: !v['no-spec-augment'],
        augment: !v['no-augment'],
        maxSteps: v['max-steps'] ?? null,
        maxNonFinite: v['max-non-finite'],
      }
      return report(
        await train({
          runDir: resolve(v.out),
          datasets: { source: resolveLocation(v.source), intermediate: resolveLocation(v.intermediate), dev: v.dev === undefined ? null : resolveLocation(v.dev) },
          settings,
          backend: backend.name,
          tool: TOOL,
          verifyData: !v['no-verify-data'],
          data,
        }),
      )
    },
  }),
  model: command({
    summary: 'show a TURN preset: parameter count by module',
    synopsis: 'turnkit model [--preset P] [--config FILE]',
    options: PRESET_OPTIONS,
    async run(positionals, v) {
      noPositionals(positionals)
      await selectBackend()
      process.stdout.write(formatModelDescription(describeModel(resolveTurnConfig(v.config === undefined ? {} : await readConfigFile(v.config), v.preset)), `TURN preset '${v.preset}'`))
      return 0
    },
  }),
  eval: command({
    summary: 'evaluate the best checkpoint of a run on an audio-image-boxes dataset (audio query -> box)',
    synopsis: 'turnkit eval --run RUN --data EVAL_DIR [--vis OUT] [--name NAME] [--json]',
    notes:
      '  Writes RUN/eval/<name>/preds.jsonl (turnkit score format), scores.json and scores.txt; prints the table with\n' +
      '  the centre-box and random-box baselines.',
    options: {
      run: stringOption({ help: 'the run directory', value: 'RUN', required: true }),
      data: stringOption({ help: 'an audio-image-boxes dataset: a folder, s3:// or https://', value: 'LOCATION', required: true }),
      vis: stringOption({ help: 'draw overlays (ground truth green, prediction red) of the 8 best, 8 worst and 8 random items and a contact sheet into OUT/vis/', value: 'OUT' }),
      name: stringOption({ help: 'name of the evaluation under RUN/eval/', value: 'NAME', defaultText: "the dataset's pipeline" }),
      json: switchOption({ help: 'print the scores as one JSON line' }),
      'no-verify-data': switchOption({ help: "read the data without checking every part file's size and sha256 against the manifest first (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      noPositionals(positionals)
      await selectBackend()
      const result = await evaluateRun(resolve(v.run), resolveLocation(v.data), { name: v.name, vis: v.vis === undefined ? undefined : resolve(v.vis), verifyData: !v['no-verify-data'], data: dataOptions(v) })
      process.stdout.write(v.json ? JSON.stringify({ overall: result.report.overall, baselines: result.baselines, dir: result.dir }) + '\n' : result.table)
      return 0
    },
  }),
  report: command({
    summary: 'write an HTML training report (loss curves, lr, throughput, evaluation) for a run',
    synopsis: 'turnkit report RUN [--out DIR]',
    options: { out: stringOption({ help: 'where index.html and the charts go (readable offline)', value: 'DIR', defaultText: 'RUN/report' }) },
    async run(positionals, v) {
      const run = onePositional(positionals, 'run directory')
      const written = await writeReport(resolve(run), v.out === undefined ? {} : { out: resolve(v.out) })
      process.stdout.write(`report: ${written.html} (${written.pngs.length} charts)\n`)
      return 0
    },
  }),
  score: command({
    summary: 'score predicted boxes against an evaluation dataset (cIoU@0.5, AUC, mean cIoU)',
    synopsis: 'turnkit score --pred PREDS.jsonl --data EVAL_DIR [--json]',
    notes:
      '  PREDS.jsonl holds one line per item: {"key": "<dataset key>", "box": [x, y, w, h]} normalized to the item\'s image.\n' +
      '  Ground truth as the literature: VGG-SS union of boxes, Flickr-SoundNet consensus of annotators (c = 2),\n' +
      '  MUSIC-Solo normalized boxes; masks on a 224x224 grid. Items without a prediction count as cIoU 0.',
    options: {
      pred: stringOption({ help: 'the predictions', value: 'FILE', required: true }),
      data: stringOption({ help: 'an audio-image-boxes dataset (vggss, music-solo, flickr-soundnet): a folder, s3:// or https://', value: 'LOCATION', required: true }),
      json: switchOption({ help: 'print the report as one JSON line' }),
      'no-verify-data': switchOption({ help: "read the data without checking every part file's size and sha256 against the manifest first (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      noPositionals(positionals)
      const report = await scoreDataset(resolve(v.pred), resolveLocation(v.data), { verifyData: !v['no-verify-data'], data: dataOptions(v) })
      process.stdout.write(v.json ? JSON.stringify({ ...report, perItem: undefined }) + '\n' : formatScoreTable(report))
      return 0
    },
  }),
  inspect: command({
    summary: 'show a dataset: schema, version, counts, rejects by reason, a few rows',
    synopsis: 'turnkit inspect <location> [--rows N] [--json]',
    options: {
      rows: intOption({ help: 'rows to show', default: 3, min: 0 }),
      json: switchOption({ help: 'print the inspection as one JSON line' }),
      'no-verify-data': switchOption({ help: "read the data without checking every part file's size and sha256 against the manifest first (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      const dir = onePositional(positionals, 'dataset location')
      const report = await inspectDataset(resolveLocation(dir), { rows: v.rows, verifyData: !v['no-verify-data'], data: dataOptions(v) })
      process.stdout.write(v.json ? JSON.stringify(report) + '\n' : formatInspection(report))
      return 0
    },
  }),
  view: command({
    summary: 'look at a dataset in the browser: rows, images with boxes, log-mels, tokens, the ledger, the manifest, predictions',
    synopsis: 'turnkit view <location> [--pred PREDS.jsonl] [--port P] [--host H] [--open]',
    notes: '  Serves a page on 127.0.0.1 (this machine only) until Ctrl-C; rows are read lazily, one row group at a time.\n  --host with another address serves other machines, with no authentication (a warning says so).',
    options: {
      pred: stringOption({ help: 'predictions to show and score against an audio-image-boxes dataset (the turnkit score format)', value: 'FILE' }),
      port: optionalIntOption({ help: `port; 0 = any free port. Default ${DEFAULT_VIEW_PORT}, or any free port when it is taken`, min: 0, defaultText: String(DEFAULT_VIEW_PORT) }),
      host: stringOption({ help: 'address to listen on; anything but loopback serves other machines', value: 'H', defaultText: '127.0.0.1' }),
      open: switchOption({ help: "open the page in the desktop's browser" }),
      'no-verify-data': switchOption({ help: "read parts without checking their sha256 against the manifest first (a warning says so)" }),
      ...STORE_OPTIONS,
      ...CACHE_OPTIONS,
    },
    async run(positionals, v) {
      const dir = onePositional(positionals, 'dataset location')
      await runView({
        location: resolveLocation(dir), title: dir, verifyData: !v['no-verify-data'], data: dataOptions(v), open: v.open,
        ...(v.pred === undefined ? {} : { predsPath: resolve(v.pred) }),
        ...(v.port === undefined ? {} : { port: v.port }),
        ...(v.host === undefined ? {} : { host: v.host }),
      }, (line) => process.stdout.write(`${line}\n`))
      return 0 // Ctrl-C is how a server is stopped
    },
  }),
} as const

export type CommandName = keyof typeof COMMANDS
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[]

const HELP = `turnkit ${TOOL.version}: raw corpora -> versioned Parquet datasets -> TURN

usage: turnkit <command> [options]   (turnkit <command> --help for its options)

${COMMAND_NAMES.map((name) => `  ${name.padEnd(10)} ${COMMANDS[name].summary}`).join('\n')}

exit codes: 0 success, 1 the work failed (see the message), 2 usage error
`

/** The option table of command `name`. */
export function commandOptions(name: CommandName): OptionTable {
  return COMMANDS[name].options
}

/** The help text of `name` (a command), as `turnkit <name> --help` prints it. */
export function commandUsage(name: CommandName): string {
  return usageOf(COMMANDS[name] as unknown as Command<OptionTable>)
}

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
  if (!Object.hasOwn(COMMANDS, name)) {
    const hint = suggest(name, COMMAND_NAMES)
    process.stderr.write(`turnkit: unknown command '${name}'${hint ? ` (did you mean ${hint}?)` : ''}\n\n${HELP}`)
    return 2
  }
  const cmd = COMMANDS[name as CommandName] as unknown as Command<OptionTable>
  // view stops on Ctrl-C by design and closes its server itself.
  const stopSignals = name === 'view' ? () => {} : onInterrupt(name as CommandName, args)
  try {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${usageOf(cmd)}\n`)
      return 0
    }
    const { positionals, values } = parseOptions(args, cmd.options)
    return await cmd.run(positionals, values, args)
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`turnkit ${name}: ${err.message}\n\n${usageOf(cmd)}\n`)
      return 2
    }
    process.stderr.write(`turnkit ${name}: ${describeFailure(err)}\n`)
    if (process.env.TURNKIT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`)
    return 1
  } finally {
    stopSignals()
  }
}

/** What to do after an fs error, by its code: the path, what went wrong in words, and what to do. */
const FS_ADVICE: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `no space left on the device that holds ${p}: free some space or choose an --out on another disk, then rerun the same command (finished parts are kept)`,
  EDQUOT: (p) => `disk quota exceeded writing ${p}: free some space or choose an --out elsewhere, then rerun the same command (finished parts are kept)`,
  EROFS: (p) => `${p} is on a read-only file system: choose an --out you can write to`,
  EACCES: (p) => `permission denied for ${p}: choose a folder you can write to, or fix its permissions`,
  EPERM: (p) => `operation not permitted on ${p}: choose a folder you can write to, or fix its permissions`,
  ENOTDIR: (p) => `${p}: a part of this path is a file, not a folder: choose a path whose parents are folders`,
  EMFILE: (p) => `too many open files (at ${p}): raise the limit (ulimit -n) or use fewer --workers`,
}

/** A failure as one line for a person: fs errors by their code and path, anything else by its message. */
export function describeFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  const advice = typeof e?.code === 'string' ? FS_ADVICE[e.code] : undefined
  if (advice !== undefined && typeof e.path === 'string') return advice(e.path)
  return error instanceof Error ? error.message : String(error)
}

/**
 * On SIGINT or SIGTERM, say in one line how to continue and exit (130 / 143). Every file is written under a
 * temporary name and renamed, so nothing is half-written and the same command resumes. Returns the remover.
 */
function onInterrupt(name: CommandName, args: readonly string[]): () => void {
  const flag = (f: string): string | undefined => {
    const i = args.indexOf(`--${f}`)
    return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`--${f}=`))?.slice(f.length + 3)
  }
  const run = flag('resume') ?? flag('out')
  const advice =
    name === 'train' && run !== undefined ? `continue with turnkit train --resume ${run}`
    : name === 'prepare' || name === 'merge' || name === 'demo' ? 'rerun the same command to resume (finished part files are kept)'
    : 'nothing was left half-written'
  const handler = (signal: NodeJS.Signals): void => {
    releaseHeldLocksSync() // the next run must not wait for a lock nobody holds
    process.stderr.write(`\nturnkit ${name}: interrupted (${signal}): ${advice}\n`)
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}
