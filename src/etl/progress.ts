// Progress for long runs: a redrawn line with rate and ETA on a terminal, JSON lines otherwise (CI logs,
// Kubernetes, Slurm), so a person and a log collector both see where a run is.

export interface ProgressSink {
  start(total: number, label: string): void
  /** Called once per finished item. */
  tick(rejected: boolean): void
  done(): void
}

const formatSeconds = (s: number): string =>
  !Number.isFinite(s) ? '?' : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`

/** A sink writing to `stream`: a `\r`-redrawn bar when it is a TTY (<= 10 redraws/s), a JSON line every `intervalMs` otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, { intervalMs = 5000 }: { intervalMs?: number } = {}): ProgressSink {
  const isTty = stream.isTTY === true
  let total = 0
  let done = 0
  let rejected = 0
  let label = ''
  let started = 0
  let last = 0
  const render = (final: boolean): void => {
    const elapsed = (performance.now() - started) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const eta = rate > 0 ? (total - done) / rate : Infinity
    if (isTty) {
      const width = 24
      const filled = total > 0 ? Math.round((done / total) * width) : width
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
      // \x1b[K clears to the end of the line: a shorter redraw must not leave the tail of a longer one.
      stream.write(`\r${label} [${bar}] ${done}/${total} ${rate.toFixed(1)}/s ETA ${formatSeconds(eta)} rejects ${rejected}\x1b[K${final ? '\n' : ''}`)
    } else {
      stream.write(JSON.stringify({ event: final ? 'done' : 'progress', label, done, total, rejects: rejected, rate: Number(rate.toFixed(2)), eta_s: Number.isFinite(eta) ? Math.round(eta) : null }) + '\n')
    }
  }
  return {
    start(n, name) {
      total = n
      label = name
      started = last = performance.now()
      if (!isTty) render(false)
    },
    tick(wasRejected) {
      done++
      if (wasRejected) rejected++
      const now = performance.now()
      if (now - last >= (isTty ? 100 : intervalMs)) {
        last = now
        render(false)
      }
    },
    done() {
      render(true)
    },
  }
}

/** A sink that prints nothing (library use, tests). */
export const silentProgress: ProgressSink = { start() {}, tick() {}, done() {} }
