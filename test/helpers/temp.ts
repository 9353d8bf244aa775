import { mkdtemp } from 'node:fs/promises'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// One root per test process, removed when the process exits: a directory made in a `before` hook must outlive
// the first test (node:test's `after` registered inside a hook runs too early for that).
let root: string | undefined

/** A fresh temporary directory, removed when the test process exits. */
export async function tempDir(prefix = 'turnkit-test-'): Promise<string> {
  if (root === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'turnkit-tests-'))
    root = made
    process.on('exit', () => rmSync(made, { recursive: true, force: true }))
  }
  return await mkdtemp(join(root, prefix))
}
