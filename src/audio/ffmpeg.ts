// Where the ffmpeg binary comes from and what it can do. The binary is an edge of the system: it is found
// once per process and its capabilities (soxr) are recorded in the manifest, because they change bytes.
import { accessSync, chmodSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

export type FfmpegSource = 'FFMPEG_PATH' | 'PATH' | '@ffmpeg-installer/ffmpeg'

/** The ffmpeg binary in use and what it was built with. */
export interface FfmpegBinary {
  path: string
  source: FfmpegSource
  /** First line of `ffmpeg -version`, e.g. "ffmpeg version 4.1 ...". */
  version: string
  /** Whether the binary was built with libsoxr (librosa's default resampler is soxr_hq). */
  hasSoxr: boolean
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false // not there or not executable: the caller tries the next candidate
  }
}

/** Resolve the binary: $FFMPEG_PATH, else `ffmpeg` on $PATH, else the static binary of @ffmpeg-installer/ffmpeg. */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): { path: string; source: FfmpegSource } {
  const fromEnv = env.FFMPEG_PATH
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) throw new Error(`FFMPEG_PATH=${fromEnv} is not an executable file: fix or unset it`)
    return { path: fromEnv, source: 'FFMPEG_PATH' }
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, 'ffmpeg'))) return { path: join(dir, 'ffmpeg'), source: 'PATH' }
  }
  try {
    const require = createRequire(import.meta.url)
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string }
    // The package's postinstall only does `chmod u+x`; npm 11 skips unapproved install scripts, so do it here.
    if (!isExecutable(installer.path) && existsSync(installer.path)) chmodSync(installer.path, 0o755)
    if (isExecutable(installer.path)) return { path: installer.path, source: '@ffmpeg-installer/ffmpeg' }
  } catch {
    // The package has no binary for this platform: fall through to the error that says what to do.
  }
  throw new Error(
    'ffmpeg not found: set FFMPEG_PATH, put ffmpeg on PATH, or run `npm ci` so @ffmpeg-installer/ffmpeg provides one',
  )
}

/** Probe a binary's version and soxr support (spawns it twice, without a shell). */
export function probeFfmpeg(located: { path: string; source: FfmpegSource }): FfmpegBinary {
  const version = spawnSync(located.path, ['-hide_banner', '-version'], { encoding: 'utf8' })
  if (version.status !== 0) throw new Error(`${located.path} -version failed: ${version.stderr || version.error?.message}`)
  const buildconf = spawnSync(located.path, ['-hide_banner', '-buildconf'], { encoding: 'utf8' })
  return {
    ...located,
    version: version.stdout.split('\n')[0]?.trim() ?? 'unknown',
    hasSoxr: `${buildconf.stdout}${buildconf.stderr}`.includes('--enable-libsoxr'),
  }
}

/** The binary this process uses, found and probed once (an explicit memo: the environment does not change). */
let cached: FfmpegBinary | undefined
export function ffmpegBinary(): FfmpegBinary {
  cached ??= probeFfmpeg(locateFfmpeg())
  return cached
}

/** What one ffmpeg run printed: its exit code, stdout (at most `maxBytes` kept) and a bounded stderr. */
export interface FfmpegCapture {
  code: number | null
  stdout: Buffer
  /** Bytes ffmpeg wrote to stdout, including any beyond `maxBytes`. */
  stdoutBytes: number
  stderr: string
}

/**
 * Run `ffmpeg args` without a shell, keeping at most `maxBytes` of stdout and the head and tail of stderr (a
 * broken file can print megabytes). Rejects only when the binary cannot be started.
 */
export async function captureFfmpeg(ffmpeg: { path: string }, args: readonly string[], maxBytes: number): Promise<FfmpegCapture> {
  const { code, outputs, stderr } = await captureFfmpegOutputs(ffmpeg, args, [{ fd: 1, maxBytes }])
  return { code, stdout: outputs[0]!.bytes, stdoutBytes: outputs[0]!.total, stderr }
}

/**
 * Run `ffmpeg args` without a shell with one pipe per entry of `outputs` (fd 1 is stdout; 3, 4, ... are further
 * pipes, written by ffmpeg as `pipe:3`), each drained as it is written and kept up to its `maxBytes`, and the head
 * and tail of stderr. Rejects only when the binary cannot be started.
 */
export async function captureFfmpegOutputs(
  ffmpeg: { path: string },
  args: readonly string[],
  outputs: readonly { fd: number; maxBytes: number }[],
): Promise<{ code: number | null; outputs: { bytes: Buffer; total: number }[]; stderr: string }> {
  const fds = Math.max(2, ...outputs.map((o) => o.fd))
  const stdio: ('ignore' | 'pipe')[] = Array.from({ length: fds + 1 }, (_, fd) => (fd === 2 || outputs.some((o) => o.fd === fd) ? 'pipe' : 'ignore'))
  return await new Promise((resolvePromise, rejectPromise) => {
    const child = spawn(ffmpeg.path, args, { stdio })
    const kept = outputs.map(() => ({ chunks: [] as Buffer[], total: 0 }))
    outputs.forEach(({ fd, maxBytes }, i) => {
      const stream = child.stdio[fd] as NodeJS.ReadableStream
      stream.on('data', (chunk: Buffer) => {
        if (kept[i]!.total < maxBytes) kept[i]!.chunks.push(chunk)
        kept[i]!.total += chunk.length
      })
    })
    let stderr = ''
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (text: string) => {
      // Keep the head (container info) and a bounded tail (errors).
      stderr = stderr.length < 65_536 ? stderr + text : stderr.slice(0, 32_768) + stderr.slice(-32_768) + text
    })
    child.on('error', (err) => rejectPromise(new Error(`cannot run ${ffmpeg.path}: ${err.message}`)))
    child.on('close', (code) => resolvePromise({ code, outputs: kept.map((k) => ({ bytes: Buffer.concat(k.chunks), total: k.total })), stderr }))
  })
}
