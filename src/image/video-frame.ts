// One still frame of a video, by spawning ffmpeg without a shell: PNG bytes (lossless), so the image stage
// (prepareImage) is the only lossy step and the stored JPEG does not carry a second round of compression.
import { captureFfmpeg, type FfmpegBinary } from '../audio/ffmpeg.js'
import { lastErrorLine, parseDuration } from '../audio/decode.js'

/** A frame as lossless PNG bytes (8-bit RGB, no alpha), with the container duration ffmpeg reported. */
export interface VideoFrame {
  ok: true
  png: Uint8Array
  /** Duration of the container in seconds, or null when ffmpeg printed none. */
  containerSeconds: number | null
}

/** Why no frame came out; the caller turns it into a Reject (this module does not know the record key). */
export interface VideoFrameFailure {
  ok: false
  /** 'ffmpeg-failed': not a video ffmpeg can read, or no video stream; 'truncated': no frame at or after the time. */
  code: 'ffmpeg-failed' | 'truncated'
  message: string
}

// A PNG of a 4K frame is about 25 MB; anything far beyond that is not one frame.
const MAX_PNG_BYTES = 256 * 1024 * 1024

/**
 * Extract the frame of `absVideoPath` at `timeSec` seconds as PNG bytes.
 *
 * Seek: `-ss` before `-i` with `-accurate_seek` (ffmpeg's default since 2.1, spelt out so the bytes do not
 * depend on it). ffmpeg jumps to the key frame before `timeSec`, decodes from there and drops every frame
 * whose timestamp is before `timeSec`, so the frame returned is the first one at or after `timeSec` (at most
 * one frame period, 1/fps, later), exactly what an output seek (`-ss` after `-i`) returns, without decoding
 * the whole video up to that point (MUSIC videos run for minutes). The video's rotation metadata is applied
 * (ffmpeg autorotates on decode), so the frame is the displayed picture; pixels are converted to rgb24 by
 * ffmpeg's swscale, which is deterministic for one ffmpeg build (record its version).
 *
 * Returns a failure, never throws, for bad input: 'ffmpeg-failed' (unreadable file, no video stream) or
 * 'truncated' (the video holds no frame at or after `timeSec`: it is shorter than that, or cut). Throws when
 * `timeSec` is negative or not finite (a caller bug) or when ffmpeg cannot be spawned.
 */
export async function extractVideoFrame(absVideoPath: string, timeSec: number, ffmpeg: FfmpegBinary): Promise<VideoFrame | VideoFrameFailure> {
  if (!(Number.isFinite(timeSec) && timeSec >= 0)) throw new Error(`extractVideoFrame: time ${timeSec} s must be a number >= 0`)
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'level+info',
    '-accurate_seek', '-ss', timeSec.toFixed(6),
    '-i', absVideoPath,
    '-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn',
    '-pix_fmt', 'rgb24', '-c:v', 'png', '-f', 'image2pipe', 'pipe:1',
  ]
  const { code, stdout, stdoutBytes, stderr } = await captureFfmpeg(ffmpeg, args, MAX_PNG_BYTES)
  const containerSeconds = parseDuration(stderr)
  if (code !== 0) return { ok: false, code: 'ffmpeg-failed', message: lastErrorLine(stderr) || `ffmpeg exited with ${code}` }
  if (stdoutBytes > MAX_PNG_BYTES) return { ok: false, code: 'ffmpeg-failed', message: `frame at ${timeSec} s is over ${MAX_PNG_BYTES} bytes as PNG` }
  if (stdoutBytes === 0) {
    // ffmpeg exits 0 with an empty output when the seek lands past the last frame.
    const length = containerSeconds === null ? 'of unknown length' : `${containerSeconds.toFixed(2)} s long`
    return { ok: false, code: 'truncated', message: `no video frame at or after ${timeSec.toFixed(3)} s (the video is ${length})` }
  }
  return { ok: true, png: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength), containerSeconds }
}
