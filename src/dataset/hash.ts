// Hashes that name dataset content: shard files, schemas and the dataset version. Every digest is written
// "sha256:<hex>" so a manifest says which function made it.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

/** Hex sha256 of `bytes` (a string is hashed as its UTF-8 bytes). Returns 64 lowercase hex digits, no prefix. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** `"sha256:" + hex digest` of `bytes` (a string is hashed as UTF-8). */
export function sha256Bytes(bytes: Uint8Array | string): string {
  return `sha256:${sha256Hex(bytes)}`
}

/**
 * `"sha256:" + hex digest` of the file at `path`, read as a stream so a 100 MB shard never sits in memory whole.
 * Throws the fs error (ENOENT, EISDIR) when the file cannot be read.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}
