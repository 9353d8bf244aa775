// A data-only unpickler. RefCOCO's `refs(unc).p` (and refs(umd).p, refs(google).p) is a Python pickle written by
// Python 2's `pickle.dump(refs, f)`, usually protocol 2, sometimes re-saved by Python 3 (protocols 0-5). A pickle
// is a program for a small stack machine; most opcodes build plain values, but some import a global by name and
// call it (`GLOBAL 'posix system'` + `REDUCE` runs a shell command in Python). This reader builds values only and
// stops with an Error at the first opcode that would import or call, so a hostile file is a clear error, never a
// side effect. Opcode reference: CPython Lib/pickletools.py and Lib/pickle.py (_Unpickler).
//
// Example (protocol 2, what Python 2 writes for `[{'ref_id': 0}]`, shown as pickletools prints it):
//     0: \x80 PROTO      2
//     2: ]    EMPTY_LIST
//     3: q    BINPUT     0
//     5: }    EMPTY_DICT
//     6: q    BINPUT     1
//     8: U    SHORT_BINSTRING 'ref_id'
//    16: q    BINPUT     2
//    18: K    BININT1    0
//    20: s    SETITEM
//    21: a    APPEND
//    22: .    STOP
//
// Python values become JSON-like JS values:
//   None -> null; bool -> boolean; int -> number when Number.isSafeInteger, else bigint; float -> number;
//   Python 3 str / Python 2 unicode -> string; Python 2 str -> string (UTF-8, or Latin-1 when not valid UTF-8);
//   Python 3 bytes / bytearray -> Uint8Array; list and tuple -> array; set and frozenset -> Set;
//   dict -> plain object. Dict keys follow json.dumps: str as is, int / float as their decimal text, True / False /
//   None as 'true' / 'false' / 'null'; any other key type is an error. A later duplicate key overwrites.
import { isUtf8 } from 'node:buffer'

/** Options of loadPickle. */
export interface LoadPickleOptions {
  /** Name of the file the bytes came from, for error messages (e.g. 'refs(unc).p'). */
  source: string
}

// Opcode bytes, named as in CPython's pickletools.
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68, INST: 0x69,
  LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72,
  SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  // protocol 2
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b,
  // protocol 3
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  // protocol 4
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91,
  NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
  // protocol 5
  BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const

const OPCODE_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]))

/** Highest pickle protocol this reader knows (Python 3.8+ writes 5 at most). */
export const PICKLE_MAX_PROTOCOL = 5

// What each refused opcode would do in Python; the error says so.
const REFUSED = new Map<number, string>([
  [OP.GLOBAL, 'import code'],
  [OP.STACK_GLOBAL, 'import code'],
  [OP.INST, 'import and call code'],
  [OP.EXT1, 'import code (copyreg extension registry)'],
  [OP.EXT2, 'import code (copyreg extension registry)'],
  [OP.EXT4, 'import code (copyreg extension registry)'],
  [OP.REDUCE, 'call code'],
  [OP.BUILD, 'call code (__setstate__)'],
  [OP.OBJ, 'call code'],
  [OP.NEWOBJ, 'call code (cls.__new__)'],
  [OP.NEWOBJ_EX, 'call code (cls.__new__)'],
  [OP.PERSID, 'call code (persistent_load)'],
  [OP.BINPERSID, 'call code (persistent_load)'],
])

type Dict = { [key: string]: unknown }


/**
 * Parse a pickle (protocols 0-5) into plain JS values (see the mapping at the top of this file). Never executes
 * anything. Throws an Error naming `source`, the opcode and its byte offset when the pickle would import or call
 * code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID), is
 * truncated, uses an unknown opcode or out-of-band buffers, or is malformed (stack underflow, missing MARK or memo).
 */
export function loadPickle(input: Uint8Array, { source }: LoadPickleOptions): unknown {
  // A plain Uint8Array view (a Buffer's subarray is several times slower) and a Buffer view for native text
  // decoding, both over the caller's memory without copying.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength)
  const end = bytes.byteLength
  const stack: unknown[] = []
  const marks: number[] = [] // stack heights at each open MARK
  const memo = new Map<number, unknown>()
  let pos = 0
  let at = 0 // offset of the opcode being run, for messages
  let op = 0

  const name = (code: number): string => OPCODE_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`
  const fail = (detail: string): Error => new Error(`${source}: malformed pickle: ${name(op)} at byte ${at}: ${detail}`)
  const need = (n: number): void => {
    if (n < 0) throw fail(`negative length ${n}`) // BINSTRING's length is signed
    if (pos + n > end) {
      throw new Error(`${source}: truncated pickle: ${name(op)} at byte ${at} needs ${n} more bytes, the file ends at byte ${end}`)
    }
  }
  const u8 = (): number => { need(1); return bytes[pos++]! }
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v }
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v }
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v }
  const u64 = (): number => {
    need(8)
    const v = view.getBigUint64(pos, true)
    pos += 8
    if (v > BigInt(end)) throw new Error(`${source}: truncated pickle: ${name(op)} at byte ${at} declares ${v} bytes, the file ends at byte ${end}`)
    return Number(v)
  }
  const take = (n: number): Uint8Array => { need(n); const out = bytes.subarray(pos, pos + n); pos += n; return out }
  // Python 3 str / Python 2 unicode: UTF-8. Invalid sequences (Python's surrogatepass lets lone surrogates
  // through) become U+FFFD, as TextDecoder does.
  const takeUtf8 = (n: number): string => { need(n); const start = pos; pos += n; return text.toString(isAscii(bytes, start, pos) ? 'latin1' : 'utf8', start, pos) }
  // A Python 2 str is bytes with no declared encoding; the refs files hold UTF-8 text, older data Latin-1.
  const takePython2Str = (n: number): string => {
    need(n)
    const start = pos
    pos += n
    if (isAscii(bytes, start, pos)) return text.toString('latin1', start, pos)
    return text.toString(isUtf8(bytes.subarray(start, pos)) ? 'utf8' : 'latin1', start, pos)
  }
  // Text protocols end each argument with '\n'.
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos)
    if (nl < 0) throw new Error(`${source}: truncated pickle: ${name(op)} at byte ${at} has no end of line before byte ${end}`)
    const out = text.toString('latin1', pos, nl)
    pos = nl + 1
    return out
  }

  const floor = (): number => marks.at(-1) ?? 0 // items below the innermost MARK belong to an outer frame
  const pop = (): unknown => {
    if (stack.length <= floor()) throw fail('stack underflow')
    return stack.pop()
  }
  const top = (): unknown => {
    if (stack.length <= floor()) throw fail('stack underflow')
    return stack[stack.length - 1]
  }
  const popMark = (): unknown[] => {
    const mark = marks.pop()
    if (mark === undefined) throw fail('no MARK to pop to')
    return stack.splice(mark)
  }
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) throw fail(`memo entry ${index} was never stored`)
    return memo.get(index)
  }
  const memoPut = (index: number): void => { memo.set(index, top()) }
  const dictKey = (key: unknown): string => {
    if (typeof key === 'string') return key
    if (typeof key === 'number' || typeof key === 'bigint') return String(key)
    if (typeof key === 'boolean') return key ? 'true' : 'false'
    if (key === null) return 'null'
    throw fail(`dict key of type ${describe(key)} has no JSON-like form`)
  }
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!isDict(target)) throw fail(`SETITEM target is ${describe(target)}, not a dict`)
    if (items.length % 2 !== 0) throw fail('odd number of items for SETITEMS')
    for (let i = 0; i < items.length; i += 2) setOwn(target, dictKey(items[i]), items[i + 1])
  }
  const refuse = (verb: string, argument?: string): Error =>
    new Error(
      `${source}: pickle opcode ${name(op)}${argument === undefined ? '' : ` ('${argument}')`} at byte ${at} would ${verb}; ` +
        'turnkit reads plain-data pickles only (nothing was executed) — re-export the data as JSON',
    )
  // The names a refused GLOBAL / INST would import, when they are there to read; the refusal stands regardless.
  const peekTwoLines = (): string | undefined => {
    const first = bytes.indexOf(0x0a, pos)
    const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1)
    if (second < 0) return undefined
    return `${text.toString('latin1', pos, first)} ${text.toString('latin1', first + 1, second)}`.slice(0, 200)
  }

  for (;;) {
    at = pos
    if (pos >= end) throw new Error(`${source}: truncated pickle: ends at byte ${end} without a STOP opcode`)
    op = bytes[pos++]!
    const verb = REFUSED.get(op)
    if (verb !== undefined) {
      if (op === OP.GLOBAL || op === OP.INST) throw refuse(verb, peekTwoLines())
      if (op === OP.STACK_GLOBAL) {
        const [module, qualname] = stack.slice(-2)
        throw refuse(verb, typeof module === 'string' && typeof qualname === 'string' ? `${module} ${qualname}` : undefined)
      }
      throw refuse(verb)
    }
    switch (op) {
      case OP.PROTO: {
        const version = u8()
        if (version > PICKLE_MAX_PROTOCOL) throw fail(`protocol ${version} is newer than ${PICKLE_MAX_PROTOCOL}, the highest this reader knows`)
        break
      }
      case OP.FRAME: u64(); break // frames only group opcodes for buffered reading; the content reads on as usual
      case OP.STOP: return pop()
      case OP.MARK: marks.push(stack.length); break
      case OP.POP: if (stack.length > floor()) stack.pop(); else popMark(); break
      case OP.POP_MARK: popMark(); break
      case OP.DUP: stack.push(top()); break

      case OP.NONE: stack.push(null); break
      case OP.NEWTRUE: stack.push(true); break
      case OP.NEWFALSE: stack.push(false); break
      case OP.INT: {
        // Protocol 0 writes bools as I01 / I00; Python 2 also writes ints beyond 32 bits this way at protocol 2.
        const text = line()
        if (text === '01') stack.push(true)
        else if (text === '00') stack.push(false)
        else stack.push(parseDecimal(text, fail))
        break
      }
      case OP.LONG: stack.push(parseDecimal(line().replace(/L$/, ''), fail)); break
      case OP.BININT: stack.push(i32()); break
      case OP.BININT1: stack.push(u8()); break
      case OP.BININT2: stack.push(u16()); break
      case OP.LONG1: stack.push(twosComplement(take(u8()))); break
      case OP.LONG4: stack.push(twosComplement(take(u32()))); break
      case OP.FLOAT: stack.push(parseFloatRepr(line(), fail)); break
      case OP.BINFLOAT: need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break

      case OP.STRING: stack.push(decodePython2Str(unquote(line(), fail))); break
      case OP.BINSTRING: stack.push(takePython2Str(i32())); break
      case OP.SHORT_BINSTRING: stack.push(takePython2Str(u8())); break
      case OP.UNICODE: stack.push(decodeRawUnicodeEscape(line())); break
      case OP.SHORT_BINUNICODE: stack.push(takeUtf8(u8())); break
      case OP.BINUNICODE: stack.push(takeUtf8(u32())); break
      case OP.BINUNICODE8: stack.push(takeUtf8(u64())); break
      // new Uint8Array(view) copies, so values never alias the input, and is a Uint8Array even for a Buffer input.
      case OP.SHORT_BINBYTES: stack.push(new Uint8Array(take(u8()))); break
      case OP.BINBYTES: stack.push(new Uint8Array(take(u32()))); break
      case OP.BINBYTES8: stack.push(new Uint8Array(take(u64()))); break
      case OP.BYTEARRAY8: stack.push(new Uint8Array(take(u64()))); break
      case OP.READONLY_BUFFER: top(); break // marks the top buffer read-only; JS arrays have no such flag
      case OP.NEXT_BUFFER: throw fail('out-of-band buffers (pickle protocol 5 buffer_callback) are not supported')

      case OP.EMPTY_LIST: stack.push([]); break
      case OP.EMPTY_DICT: stack.push({}); break
      case OP.EMPTY_TUPLE: stack.push([]); break
      case OP.EMPTY_SET: stack.push(new Set()); break
      case OP.LIST: case OP.TUPLE: stack.push(popMark()); break
      case OP.TUPLE1: { const a = pop(); stack.push([a]); break }
      case OP.TUPLE2: { const b = pop(); const a = pop(); stack.push([a, b]); break }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break }
      case OP.FROZENSET: stack.push(new Set(popMark())); break
      case OP.DICT: { const dict: Dict = {}; setItems(dict, popMark()); stack.push(dict); break }
      case OP.APPEND: {
        const value = pop()
        const list = top()
        if (!Array.isArray(list)) throw fail(`APPEND target is ${describe(list)}, not a list`)
        list.push(value)
        break
      }
      case OP.APPENDS: {
        const items = popMark()
        const list = top()
        if (!Array.isArray(list)) throw fail(`APPENDS target is ${describe(list)}, not a list`)
        for (const item of items) list.push(item) // not push(...items): a batch can exceed the argument limit
        break
      }
      case OP.ADDITEMS: {
        const items = popMark()
        const set = top()
        if (!(set instanceof Set)) throw fail(`ADDITEMS target is ${describe(set)}, not a set`)
        for (const item of items) set.add(item)
        break
      }
      case OP.SETITEM: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break }

      case OP.PUT: memoPut(parseIndex(line(), fail)); break
      case OP.BINPUT: memoPut(u8()); break
      case OP.LONG_BINPUT: memoPut(u32()); break
      case OP.MEMOIZE: memoPut(memo.size); break
      case OP.GET: stack.push(memoGet(parseIndex(line(), fail))); break
      case OP.BINGET: stack.push(memoGet(u8())); break
      case OP.LONG_BINGET: stack.push(memoGet(u32())); break

      default:
        throw new Error(`${source}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}: not a pickle, or a protocol newer than ${PICKLE_MAX_PROTOCOL}`)
    }
  }
}

const isDict = (x: unknown): x is Dict =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Set) && !(x instanceof Uint8Array)

// A key named '__proto__' must become data, not replace the prototype, so it is defined rather than assigned.
function setOwn(dict: Dict, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true })
  else dict[key] = value
}

function describe(x: unknown): string {
  if (x === null) return 'None'
  if (Array.isArray(x)) return 'a list or tuple'
  if (x instanceof Set) return 'a set'
  if (x instanceof Uint8Array) return 'bytes'
  return typeof x === 'object' ? 'a dict' : typeof x
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false
  return true
}

// Buffer's 'latin1' is ISO-8859-1 proper (TextDecoder('latin1') would be windows-1252, which differs at 0x80-0x9f).
const decodePython2Str = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(isUtf8(bytes) ? 'utf8' : 'latin1')

function toNumberIfSafe(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

// LONG1 / LONG4 payload: little-endian two's complement, zero bytes meaning 0.
function twosComplement(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0
  let value = 0n
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!)
  if (bytes[bytes.length - 1]! >= 0x80) value -= 1n << BigInt(8 * bytes.length)
  return toNumberIfSafe(value)
}

function parseDecimal(text: string, fail: (detail: string) => Error): number | bigint {
  if (!/^[+-]?\d+$/.test(text)) throw fail(`'${text}' is not a decimal integer`)
  return toNumberIfSafe(BigInt(text))
}

function parseIndex(text: string, fail: (detail: string) => Error): number {
  if (!/^\d+$/.test(text)) throw fail(`'${text}' is not a memo index`)
  return Number(text)
}

// FLOAT holds repr(float): '0.5', '1e+100', 'inf', '-inf', 'nan'.
function parseFloatRepr(text: string, fail: (detail: string) => Error): number {
  const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN }
  const lower = text.trim().toLowerCase()
  if (lower in special) return special[lower]!
  const value = Number(lower)
  if (lower === '' || Number.isNaN(value)) throw fail(`'${text}' is not a float`)
  return value
}

// STRING holds repr(str) of a Python 2 str: quoted with ' or ", backslash escapes as codecs.escape_decode reads
// them (\\ \' \" \n \t \r \a \b \f \v \xhh \ooo; any other backslash stays literal). Returns the raw bytes.
function unquote(text: string, fail: (detail: string) => Error): Uint8Array {
  const quote = text[0]
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text[text.length - 1] !== quote) {
    throw fail('STRING argument is not a quoted string')
  }
  const body = text.slice(1, -1)
  const out: number[] = []
  const simple: Record<string, number> = { '\\': 0x5c, "'": 0x27, '"': 0x22, n: 0x0a, t: 0x09, r: 0x0d, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b, '\n': -1 }
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    if (c !== 0x5c || i + 1 >= body.length) { out.push(c & 0xff); continue }
    const next = body[i + 1]!
    if (next in simple) {
      if (simple[next]! >= 0) out.push(simple[next]!) // backslash-newline is a line continuation: nothing
      i += 1
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) {
      out.push(parseInt(body.slice(i + 2, i + 4), 16))
      i += 3
    } else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0]
      out.push(parseInt(digits, 8) & 0xff)
      i += digits.length
    } else {
      out.push(c)
    }
  }
  return Uint8Array.from(out)
}

// UNICODE holds raw-unicode-escape text: Latin-1 characters, plus \uXXXX and \UXXXXXXXX escapes. As in CPython,
// a backslash run escapes only when its length is odd (the last backslash starts the escape).
function decodeRawUnicodeEscape(text: string): string {
  return text.replace(/(\\+)(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})/g, (whole, slashes: string, escape: string) => {
    const codePoint = parseInt(escape.slice(1), 16)
    if (slashes.length % 2 === 0 || codePoint > 0x10ffff) return whole
    return slashes.slice(1) + String.fromCodePoint(codePoint)
  })
}
