import { isAbsolute, posix, resolve, sep } from 'node:path'

/**
 * Normalise a corpus-relative path taken from metadata. Returns null when it would leave the corpus root
 * (`../x`, `/etc/x`, a NUL byte): such paths come from hostile or broken metadata and are never opened.
 */
export function safeRelativePath(relative: string): string | null {
  if (relative === '' || relative.includes('\0') || isAbsolute(relative) || /^[a-zA-Z]:[\\/]/.test(relative)) return null
  const normalised = posix.normalize(relative.replaceAll('\\', '/'))
  if (normalised === '..' || normalised.startsWith('../') || normalised.startsWith('/')) return null
  return normalised
}

/** Absolute path of a checked corpus-relative path. Throws when it escapes `root` (a bug: check first). */
export function resolveInside(root: string, relative: string): string {
  const absolute = resolve(root, relative)
  const base = resolve(root)
  if (absolute !== base && !absolute.startsWith(base + sep)) throw new Error(`path ${relative} escapes ${root}`)
  return absolute
}
