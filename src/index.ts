// turnkit's library API: what `import { ... } from 'turnkit'` gives a JavaScript program. Everything here is
// stable; anything not exported here is internal and may change between versions.

// Datasets: read, stream, verify, write.
export { openDataset, Dataset, type OpenPart, type RowGroupRef, type RowsOptions } from './dataset/dataset.js'
export { ShardStream, SHARD_STREAM_DEFAULTS, type Cursor, type EpochCounts, type ShardStreamConfig, type StreamItem, type StreamStats } from './dataset/stream.js'
export { DatasetWriter, type BuildIdentity, type BuildStatus, type DatasetWriterOptions, type LedgerLine, type UnitResult } from './dataset/writer.js'
export { verifyDataset, type VerifyOptions } from './dataset/verify.js'
export { diffDatasets, formatDiff, type DatasetDiff, type ChangedRow, type LedgerChange, type ValueChange } from './dataset/diff.js'
export { findOverlap, formatOverlapReport, OVERLAP_MODES, type OverlapInput, type OverlapMode, type OverlapOptions, type OverlapPair, type OverlapReport } from './dataset/overlap.js'
export { datasetCard } from './dataset/card.js'
export { openStore, isRemote, resolveLocation, StoreError, STORE_DEFAULTS, type Listing, type LocationKind, type ObjectInfo, type Store, type StoreOptions } from './dataset/storage.js'
export { PartCache, CacheFullError, CACHE_DEFAULTS, defaultCacheDir, type CachedPart, type CacheOptions, type CacheStats, type DataOptions, type DataSettings, type PartRef } from './dataset/cache.js'
export { readManifest, datasetVersion, MANIFEST_FORMAT, type Manifest, type RejectCounts, type SchemaRef } from './dataset/manifest.js'
export { loadSchema, schemaHash, type FieldDef, type RecordSchema } from './dataset/schema.js'
export { openParquet, readParquetRows, withParquet, type ParquetMetadata, type ParquetReader, type ReadOptions } from './dataset/parquet-reader.js'
export type { ValueForm } from './dataset/arrow-values.js'
export { SHARD_COMPRESSIONS, type ShardCompression, type ShardEntry } from './dataset/parquet-writer.js'
export { LEDGER_FILE, MANIFEST_FILE } from './dataset/layout.js'

// Records and rejects.
export type { Row, SourceRecord, Stage } from './kinds/record.js'
export { REJECT_CODES, reject, isReject, type Reject, type RejectCode } from './kinds/reject.js'
export type { AudioCaptionSource } from './kinds/audio-text.js'
export type { GroundingSource } from './kinds/image-text-box.js'
export type { AudioVisualSource } from './kinds/audio-image-boxes.js'

// Preparing corpora.
export { prepareCorpus, PREPARE_DEFAULTS, CORPORA, CORPUS_NAMES, type CorpusName, type PrepareCorpusOptions } from './cli/corpora.js'
export { prepareDataset, type PrepareJob, type PrepareSummary } from './etl/prepare.js'
export type { StageInput } from './kinds/registry.js'

// Features, exactly as the pipelines compute them.
export { logMelSpectrogram, createLogMel, LOG_MEL_DEFAULTS, type LogMel, type LogMelConfig } from './audio/log-mel.js'
export { audioFingerprint, matchFingerprints } from './audio/fingerprint.js'
export { perceptualHash, hammingDistance } from './image/phash.js'
export { decodeWithFfmpeg, DECODE_DEFAULTS, type DecodeConfig } from './audio/decode.js'
export { decodeFlac, type FlacAudio, type FlacResult } from './audio/flac.js'
export { createTokenizer, TOKENIZER_DEFAULTS, type Tokenizer, type TokenizerConfig } from './text/wordpiece.js'
export { loadVocab, type Vocab } from './text/vocab.js'

// The model and its training.
export { selectBackend, type SelectedBackend } from './model/backend.js'
export { setMatMulThreads, MATMUL_THREADS_DEFAULT } from './model/wasm-kernels.js'
export { createTurn, reconstructionMasks, LOSS_TERMS, type TurnModel, type TurnBatch, type LossTerm } from './model/turn.js'
export { ModelReplicas } from './model/replicas.js'
export { resolveTurnConfig, maskRatioAt, TURN_PRESETS, type TurnConfig, type TurnPreset } from './model/config.js'
export { loadTurn, saveTurn } from './model/checkpoint.js'
export { train, fitTurn, batchTensors, type TrainJob, type StepMetrics, type FitCallbacks } from './train/trainer.js'
export { TRAIN_DEFAULTS, resolveTrainSettings, type TrainSettings } from './train/settings.js'
export { RunDir, type RunConfig, type TrainState } from './train/run-dir.js'

// Scoring and evaluation.
export { scoreDataset, readEvaluationItems } from './train/score-dataset.js'
export { scoreItems, formatScoreTable, ciou, type ScoreReport, type CiouSummary, type ScoredItem } from './train/score.js'
export { evaluateModel, predictDataset, baselineScores } from './train/evaluate.js'
export { evaluateRun, type EvalRunResult } from './train/eval-run.js'
export { runLineage, formatLineage, type Lineage, type LineageEntry, type LineageStatus } from './train/lineage.js'

// Browsing a dataset (and predictions) in a local web page: `turnkit view`.
export { startViewer, isLoopbackAddress, type Viewer, type ViewerOptions } from './view/server.js'
export { runView, DEFAULT_VIEW_PORT, type RunViewOptions } from './view/run.js'

export { ConfigError, TOOL } from './config.js'
