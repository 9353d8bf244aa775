import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadPickle } from '../src/formats/pickle.js'
import { type PickleData, writePickle } from '../src/fixtures/pickle-writer.js'

// Fixtures are written by scripts/make-pickle-fixtures.py (Python 3 and Python 2.7) and committed.
const FIXTURES = fileURLToPath(new URL('./fixtures/pickle/', import.meta.url))
const fixture = (name: string): Uint8Array => readFileSync(FIXTURES + name)

// What every refs-* fixture holds (see refs() in the script), as loadPickle maps it: tuples become arrays, the
// COCO crowd id (beyond 32 bits) a number, 12345678901234567890123 (beyond 2**53) a bigint, and the Python 2
// str 'caf\xe9' (Latin-1 bytes, not UTF-8) 'café'.
const REFS = [
  {
    image_id: 1,
    split: 'train',
    sentences: [
      { tokens: ['the', 'man'], raw: 'The man', sent_id: 0, sent: 'the man' },
      { tokens: ['the', 'café'], raw: 'The café — 😀', sent_id: 1, sent: 'café' },
    ],
    file_name: 'COCO_train2014_000000000001_1.jpg',
    category_id: 1,
    ann_id: 10,
    sent_ids: [0, 1],
    ref_id: 0,
  },
  {
    image_id: 581857,
    split: 'testA',
    sentences: [],
    file_name: 'COCO_train2014_000000581857_900100259962.jpg',
    category_id: 90,
    ann_id: 900100259962,
    sent_ids: [],
    ref_id: 50000,
    area: 1234.5,
    score: -0.125,
    huge: 12345678901234567890123n,
    negative: -7,
    note: null,
    flags: [true, false],
    pair: [1, 'two'],
    single: ['one'],
    triple: [1, 2.5, null],
    empty: [],
    nested: { '1': [[], {}] },
  },
]

/** A pickle from opcode bytes and latin1 strings (each string's char codes are its bytes). */
const bytes = (...parts: (number | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p].map((c) => c.charCodeAt(0)))))

describe('loadPickle', () => {
  for (const name of ['refs-py2-p0', 'refs-py2-p2', 'refs-py3-p0', 'refs-py3-p2', 'refs-py3-p4', 'refs-py3-p5']) {
    it(`reads ${name}.pickle as the RefCOCO-like refs`, () => {
      assert.deepEqual(loadPickle(fixture(`${name}.pickle`), { source: `${name}.pickle` }), REFS)
    })
  }

  it('reads bytes, bytearray, set and frozenset from a protocol 5 pickle', () => {
    assert.deepEqual(loadPickle(fixture('extras-py3-p5.pickle'), { source: 'extras-py3-p5.pickle' }), {
      bytes: Uint8Array.from([0, 255, 97, 98]),
      bytearray: Uint8Array.from([120, 121]),
      set: new Set([3]),
      frozenset: new Set(['a']),
    })
  })

  it('refuses a GLOBAL os.system payload, naming the file, opcode, import and byte offset', () => {
    assert.throws(
      () => loadPickle(fixture('evil-py3-p2.pickle'), { source: 'refs(unc).p' }),
      {
        message: "refs(unc).p: pickle opcode GLOBAL ('posix system') at byte 2 would import code; " +
          'turnkit reads plain-data pickles only (nothing was executed) — re-export the data as JSON',
      },
    )
  })

  it('refuses a STACK_GLOBAL payload hidden inside a ref', () => {
    assert.throws(
      () => loadPickle(fixture('evil-py3-p4.pickle'), { source: 'refs(umd).p' }),
      /^Error: refs\(umd\)\.p: pickle opcode STACK_GLOBAL \('posix system'\) at byte \d+ would import code; turnkit reads plain-data pickles only/,
    )
  })

  it('refuses a protocol 0 GLOBAL payload', () => {
    assert.throws(
      () => loadPickle(fixture('evil-py3-p0.pickle'), { source: 'refs(google).p' }),
      /^Error: refs\(google\)\.p: pickle opcode GLOBAL \('posix system'\) at byte 5 would import code/, // after '(lp0\n'
    )
  })

  it('refuses every opcode that imports or calls, wherever it appears', () => {
    const cases: [string, Uint8Array, number, string][] = [
      ['REDUCE', bytes(0x80, 2, 'R'), 2, 'call code'],
      ['BUILD', bytes(0x80, 2, 'b'), 2, 'call code (__setstate__)'],
      ['INST', bytes('(', 'ibuiltins\neval\n'), 1, 'import and call code'],
      ['OBJ', bytes(0x80, 2, '(o'), 3, 'call code'],
      ['NEWOBJ', bytes(0x80, 2, 0x81), 2, 'call code (cls.__new__)'],
      ['NEWOBJ_EX', bytes(0x80, 4, 0x92), 2, 'call code (cls.__new__)'],
      ['EXT1', bytes(0x80, 2, 0x82, 1), 2, 'import code (copyreg extension registry)'],
      ['EXT2', bytes(0x80, 2, 0x83, 1, 0), 2, 'import code (copyreg extension registry)'],
      ['EXT4', bytes(0x80, 2, 0x84, 1, 0, 0, 0), 2, 'import code (copyreg extension registry)'],
      ['PERSID', bytes(0x80, 2, 'P1\n'), 2, 'call code (persistent_load)'],
      ['BINPERSID', bytes(0x80, 2, 'N', 'Q'), 3, 'call code (persistent_load)'],
      ['GLOBAL', bytes(0x80, 2, 'cos\nsystem\n'), 2, 'import code'],
    ]
    for (const [name, pickle, offset, verb] of cases) {
      const argument = name === 'INST' ? " ('builtins eval')" : name === 'GLOBAL' ? " ('os system')" : ''
      assert.throws(() => loadPickle(pickle, { source: 'x.p' }), {
        message: `x.p: pickle opcode ${name}${argument} at byte ${offset} would ${verb}; turnkit reads plain-data pickles only (nothing was executed) — re-export the data as JSON`,
      })
    }
  })

  it('reports a truncated pickle naming the file', () => {
    const whole = fixture('refs-py2-p2.pickle')
    assert.throws(() => loadPickle(whole.subarray(0, 300), { source: 'refs(unc).p' }), /^Error: refs\(unc\)\.p: truncated pickle: /)
    assert.throws(() => loadPickle(whole.subarray(0, whole.length - 1), { source: 'refs(unc).p' }), {
      message: `refs(unc).p: truncated pickle: ends at byte ${whole.length - 1} without a STOP opcode`,
    })
    assert.throws(() => loadPickle(bytes(0x80, 2, 'X', 10, 0, 0, 0, 'abc'), { source: 'refs(unc).p' }), {
      message: 'refs(unc).p: truncated pickle: BINUNICODE at byte 2 needs 10 more bytes, the file ends at byte 10',
    })
    assert.throws(() => loadPickle(new Uint8Array(), { source: 'empty.p' }), /^Error: empty\.p: truncated pickle: ends at byte 0/)
  })

  it('reports bytes that are not a pickle naming the file and opcode', () => {
    assert.throws(() => loadPickle(new TextEncoder().encode('{"a": 1}'), { source: 'refs.json' }), {
      message: 'refs.json: unknown pickle opcode 0x7b at byte 0: not a pickle, or a protocol newer than 5',
    })
  })

  it('reports a malformed stack naming the file, opcode and offset', () => {
    assert.throws(() => loadPickle(bytes(0x80, 2, 'a.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: APPEND at byte 2: stack underflow' })
    assert.throws(() => loadPickle(bytes(0x80, 2, 'e.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: APPENDS at byte 2: no MARK to pop to' })
    assert.throws(() => loadPickle(bytes(0x80, 2, 'h', 5, '.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: BINGET at byte 2: memo entry 5 was never stored' })
    assert.throws(() => loadPickle(bytes(0x80, 2, 'T', 0xfe, 0xff, 0xff, 0xff, '.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: BINSTRING at byte 2: negative length -2' })
    assert.throws(() => loadPickle(bytes(0x80, 6, 'N.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: PROTO at byte 0: protocol 6 is newer than 5, the highest this reader knows' })
    assert.throws(() => loadPickle(bytes(0x80, 2, '](K', 1, 'K', 2, ')', 'u.'), { source: 'm.p' }), { message: 'm.p: malformed pickle: SETITEMS at byte 9: SETITEM target is a list or tuple, not a dict' })
  })

  it('reads the opcodes the fixtures do not use: BINSTRING, LONG4, long memo indexes, POP, DUP, BINUNICODE8, BINBYTES', () => {
    const pickle = bytes(
      0x80, 4, ']', // EMPTY_LIST
      'T', 3, 0, 0, 0, 'abc', 'a', // BINSTRING 'abc', APPEND
      0x8b, 2, 0, 0, 0, 0x00, 0x80, 'a', // LONG4 -32768
      0x8a, 1, 0xff, 'a', // LONG1 -1
      0x8a, 0, 'a', // LONG1 0
      'N', 'r', 7, 1, 0, 0, '0', 'j', 7, 1, 0, 0, 'a', // None, LONG_BINPUT 263, POP, LONG_BINGET 263, APPEND
      '(', 'K', 9, '2', 't', 'a', // MARK, BININT1 9, DUP, TUPLE -> (9, 9), APPEND
      0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 'hi', 'a', // BINUNICODE8
      'B', 1, 0, 0, 0, 'z', 'a', // BINBYTES
      0x8e, 1, 0, 0, 0, 0, 0, 0, 0, 'y', 'a', // BINBYTES8
      '(', 'K', 1, '1', // MARK, BININT1, POP_MARK
      'F', 'inf\n', 'a', 'F', '-1e-05\n', 'a', // FLOAT
      'I', '-42\n', 'a', 'I', '01\n', 'a', // INT
      'L', '99999999999999999999L\n', 'a', // LONG
      '.',
    )
    assert.deepEqual(loadPickle(pickle, { source: 't.p' }), [
      'abc', -32768, -1, 0, null, [9, 9], 'hi', Uint8Array.from([122]), Uint8Array.from([121]),
      Infinity, -1e-5, -42, true, 99999999999999999999n,
    ])
  })

  it('decodes Python 2 STRING escapes and protocol 0 UNICODE escapes', () => {
    const pickle = bytes(
      '(', "S'it\\'s \\xc3\\xa9\\n\\\\'\n", "S'\\xe9t\\xe9'\n", 'V\\u00e9\\U0001f600\\\\u0041\n', 'l.',
    )
    assert.deepEqual(loadPickle(pickle, { source: 't.p' }), ["it's é\n\\", 'été', 'é😀\\\\u0041'])
  })

  it('keeps a __proto__ key as data and maps int, bool and None keys as json.dumps does', () => {
    const pickle = bytes(0x80, 2, '}(', 'U', 9, '__proto__', 'K', 1, 'K', 2, 'K', 3, 0x88, 'N', 'N', 'K', 4, 'u.')
    const value = loadPickle(pickle, { source: 't.p' }) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(value), Object.prototype)
    assert.deepEqual(Object.entries(value), [['2', 3], ['__proto__', 1], ['true', null], ['null', 4]])
  })

  it('refuses a tuple dict key, which has no JSON-like form', () => {
    assert.throws(() => loadPickle(bytes(0x80, 2, '}', ')', 'K', 1, 's.'), { source: 't.p' }), {
      message: 't.p: malformed pickle: SETITEM at byte 6: dict key of type a list or tuple has no JSON-like form',
    })
  })
})

describe('writePickle', () => {
  it('round-trips JSON-like values through loadPickle', () => {
    const value: PickleData = {
      refs: REFS.map(({ huge: _huge, ...ref }) => ref) as PickleData,
      ints: [0, 255, 256, 65535, 65536, -1, -128, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 53) + 1, Number.MAX_SAFE_INTEGER],
      floats: [0.5, -0, 1e300, NaN, Infinity, -Infinity, 2 ** 60],
      text: ['', 'é', '😀', 'a'.repeat(70_000)],
      empty: [[], {}],
      many: Array.from({ length: 2500 }, (_, i) => i),
      wide: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, i])),
    }
    assert.deepEqual(loadPickle(writePickle(value), { source: 'round-trip' }), value)
  })

  it('writes bigints as Python ints', () => {
    const big = [12345678901234567890123n, -(2n ** 64n), 2n ** 63n - 1n]
    assert.deepEqual(loadPickle(writePickle(big), { source: 'big' }), big)
    assert.deepEqual(loadPickle(writePickle([5n]), { source: 'small' }), [5])
  })

  it('writes a protocol 2 stream that starts with PROTO 2 and ends with STOP', () => {
    assert.deepEqual(writePickle({ a: [1, null] }), bytes(0x80, 2, '}(', 'X', 1, 0, 0, 0, 'a', ']', '(', 'K', 1, 'N', 'e', 'u', '.'))
  })

  it('refuses values with no plain-data form, naming the path', () => {
    assert.throws(() => writePickle({ a: [1, undefined] } as unknown as PickleData), { message: 'writePickle: $.a[1] is undefined, which has no plain-data pickle form' })
    assert.throws(() => writePickle({ d: new Date(0) } as unknown as PickleData), { message: 'writePickle: $.d is Date, which has no plain-data pickle form' })
    const cycle: PickleData[] = []
    cycle.push(cycle)
    assert.throws(() => writePickle(cycle), { message: 'writePickle: cycle at $[0]' })
  })
})
