import { readFileSync } from 'node:fs'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { loadVocab } from '../src/text/vocab.js'
import { TOKENIZER_DEFAULTS, createTokenizer } from '../src/text/wordpiece.js'

// Written by scripts/tokenizer-reference.py from Hugging Face transformers 4.x BertTokenizer (slow).
interface ReferenceCase {
  text: string
  tokens: string[]
  ids: number[]
}
interface Reference {
  transformers: string
  vocabSha256: string
  maxLength: number
  groups: { lowerCase: boolean; cases: ReferenceCase[] }[]
}
const reference = JSON.parse(
  readFileSync(new URL('./fixtures/bert-tokenizer-reference.json', import.meta.url), 'utf8'),
) as Reference

const vocab = loadVocab()
const uncased = createTokenizer(vocab)
const longCaption =
  'A large crowd of people are cheering and clapping loudly at an outdoor concert while a band plays ' +
  'music on the stage and fireworks explode in the night sky above the city skyline'

describe('createTokenizer matches Hugging Face BertTokenizer', () => {
  it('was checked against the same vocabulary that loadVocab() returns', () => {
    assert.equal(`sha256:${reference.vocabSha256}`, vocab.hash)
    assert.equal(reference.maxLength, TOKENIZER_DEFAULTS.maxTokens)
  })

  for (const group of reference.groups) {
    it(`gives HF's tokens and ids for every reference sentence with lowerCase=${group.lowerCase}`, () => {
      const tokenizer = createTokenizer(vocab, { lowerCase: group.lowerCase })
      const actual = group.cases.map(({ text }) => ({ text, tokens: tokenizer.tokenize(text), ids: [...tokenizer.encode(text)] }))
      assert.ok(group.cases.length >= 200)
      assert.deepEqual(actual, group.cases)
    })
  }
})

describe('createTokenizer', () => {
  it('splits a caption into lower-cased word pieces without special tokens', () => {
    assert.deepEqual(uncased.tokenize('A dog barks while a car passes by'), ['a', 'dog', 'bark', '##s', 'while', 'a', 'car', 'passes', 'by'])
  })

  it('wraps the ids in [CLS] and [SEP]', () => {
    assert.deepEqual([...uncased.encode('Hello world')], [101, 7592, 2088, 102])
  })

  it('encodes an empty string as [CLS] [SEP]', () => {
    assert.deepEqual([...uncased.encode('')], [101, 102])
  })

  it('cuts a long sentence to 30 ids and keeps [CLS] and [SEP]', () => {
    const pieces = uncased.tokenize(longCaption)
    const ids = uncased.encode(longCaption)
    assert.ok(pieces.length > 28)
    assert.equal(ids.length, 30)
    assert.deepEqual([...ids], [101, ...pieces.slice(0, 28).map((p) => vocab.ids.get(p)), 102])
  })

  it('cuts to maxTokens when it is set lower', () => {
    const tokenizer = createTokenizer(vocab, { maxTokens: 5 })
    assert.deepEqual([...tokenizer.encode('one two three four five six')], [101, 2028, 2048, 2093, 102])
  })

  it('turns a 101-character word into [UNK]', () => {
    assert.deepEqual(uncased.tokenize(`the ${'ab'.repeat(50)}a end`), ['the', '[UNK]', 'end'])
  })

  it('still splits a 100-character word into pieces', () => {
    const pieces = uncased.tokenize('ab'.repeat(50))
    assert.equal(pieces.join('').replaceAll('##', ''), 'ab'.repeat(50))
  })

  it('turns a word it cannot segment into a single [UNK]', () => {
    assert.deepEqual(uncased.tokenize('I love it 😀'), ['i', 'love', 'it', '[UNK]'])
  })

  it('keeps a special token written in the text as one id', () => {
    assert.deepEqual([...uncased.encode('a [MASK] b')], [101, 1037, 103, 1038, 102])
  })

  it('strips accents and spaces out CJK ideographs', () => {
    assert.deepEqual(uncased.tokenize('Café 北京'), ['cafe', '北', '京'])
  })

  it('decodes ids back to text with continuation pieces glued', () => {
    assert.equal(uncased.decode(uncased.encode('unaffable dogs')), '[CLS] unaffable dogs [SEP]')
  })

  it('refuses to decode an id outside the vocabulary', () => {
    assert.throws(() => uncased.decode([101, 30522]), /id 30522 at position 1 is outside the vocabulary/)
  })

  it('reports its resolved config and the vocabulary hash', () => {
    assert.deepEqual(uncased.config, { maxTokens: 30, lowerCase: true })
    assert.equal(uncased.vocabHash, vocab.hash)
  })

  it('rejects maxTokens below 2', () => {
    assert.throws(() => createTokenizer(vocab, { maxTokens: 1 }), /tokenizer: maxTokens = 1: must be >= 2/)
  })

  it('rejects an unknown setting', () => {
    assert.throws(() => createTokenizer(vocab, { maxLength: 30 } as never), /tokenizer: unknown setting 'maxLength'/)
  })
})
