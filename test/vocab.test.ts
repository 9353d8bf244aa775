import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { DEFAULT_VOCAB_SOURCE, formatVocabTxt, loadVocab } from '../src/text/vocab.js'
import { tempDir } from './helpers/temp.js'

const bundled = loadVocab()
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']

describe('loadVocab', () => {
  it('maps the bundled asset to bert-base-uncased vocab.txt ids', () => {
    const known: [string, number][] = [
      ['[PAD]', 0], ['[unused0]', 1], ['[unused1]', 2], ['[unused98]', 99], ['[UNK]', 100], ['[CLS]', 101],
      ['[SEP]', 102], ['[MASK]', 103], ['[unused99]', 104], ['[unused993]', 998], ['!', 999], ['a', 1037],
      ['the', 1996], ['of', 1997], ['##s', 2015], ['hello', 7592], ['world', 2088], ['dog', 3899],
      ['una', 14477], ['##ffa', 20961], ['[', 1031], ['##!', 29612], ['##[', 29634], ['##～', 30521],
    ]
    assert.deepEqual(known.map(([token]) => [token, bundled.ids.get(token)]), known)
  })

  it('gives the bundled vocabulary the size of bert-base-uncased vocab.txt', () => {
    assert.equal(bundled.tokens.length, 30_522)
    assert.equal(bundled.ids.size, 30_522)
    assert.equal(bundled.tokens.filter((t) => t.startsWith('##')).length, 5_828)
    assert.equal(Buffer.byteLength(formatVocabTxt(bundled.tokens)), 231_508)
  })

  it('names the bundled source without a path', () => {
    assert.equal(bundled.source, DEFAULT_VOCAB_SOURCE)
    assert.match(bundled.hash, /^sha256:[0-9a-f]{64}$/)
  })

  it('gives a vocab.txt with the same tokens the same hash as the bundled vocabulary', async () => {
    const path = join(await tempDir(), 'vocab.txt')
    await writeFile(path, formatVocabTxt(bundled.tokens))
    const fromFile = loadVocab(path)
    assert.equal(fromFile.hash, bundled.hash)
    assert.deepEqual(fromFile.tokens, bundled.tokens)
  })

  it('names a vocab.txt source by its base name only', async () => {
    const path = join(await tempDir(), 'my-vocab.txt')
    await writeFile(path, SPECIALS.join('\n') + '\n')
    assert.equal(loadVocab(path).source, 'my-vocab.txt')
  })

  it('reads a CRLF vocab.txt as the same vocabulary', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'lf.txt'), [...SPECIALS, 'dog', '##s'].join('\n') + '\n')
    await writeFile(join(dir, 'crlf.txt'), [...SPECIALS, 'dog', '##s'].join('\r\n') + '\r\n')
    assert.equal(loadVocab(join(dir, 'crlf.txt')).hash, loadVocab(join(dir, 'lf.txt')).hash)
  })

  it('keeps line numbers as ids across an empty line and lets a repeated token keep its later id', async () => {
    const path = join(await tempDir(), 'vocab.txt')
    await writeFile(path, ['[PAD]', '', 'dog', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'dog'].join('\n'))
    const vocab = loadVocab(path)
    assert.deepEqual([vocab.tokens.length, vocab.ids.get(''), vocab.ids.get('dog'), vocab.ids.get('[MASK]')], [8, 1, 7, 6])
  })

  it('names the file when a vocab.txt lacks [CLS]', async () => {
    const path = join(await tempDir(), 'broken-vocab.txt')
    await writeFile(path, ['[PAD]', '[UNK]', '[SEP]', '[MASK]', 'dog'].join('\n') + '\n')
    assert.throws(() => loadVocab(path), /vocab: .*broken-vocab\.txt lacks \[CLS\]/)
  })

  it('names the file when a vocab.txt cannot be read', async () => {
    const path = join(await tempDir(), 'absent.txt')
    assert.throws(() => loadVocab(path), /vocab: cannot read .*absent\.txt/)
  })
})
