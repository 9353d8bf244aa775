// The one conversion from Arrow column data to JS values, for every Parquet file turnkit reads: its own part
// files and the Parquet a corpus ships (a RefCOCO refs export). Two forms (hyparquet's `rowFormat` is the model):
//   'typed': a turnkit Row (src/kinds/record.ts). Lists of numbers are typed-array views into the row group's
//            buffer (nothing copied per element), int64 is bigint. What the trainer and the reader API hand out.
//   'json':  plain JSON-like values: numbers (int64 too, when it is a safe integer), strings, booleans, null,
//            arrays and objects (structs); binary stays a Uint8Array. What a pipeline reading raw metadata wants.
import { type Data, type DataType, type Field, type Int, type Struct, Type, type Vector } from 'apache-arrow'

export type ValueForm = 'typed' | 'json'

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * One JS value per row of `data` (a column, or a list's child). `where` names file and column in errors.
 * Throws on an Arrow type turnkit does not read (timestamps, unions, maps, ...), on null items inside a list of
 * numbers in 'typed' form (a typed array cannot hold them), and on int64 beyond 2^53 in 'json' form.
 */
export function columnValues(data: Data, form: ValueForm, where: string): unknown[] {
  const n = data.length
  const out = new Array<unknown>(n)
  const isValid = validity(data)
  const type = data.type as DataType
  switch (type.typeId) {
    case Type.Utf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as Int32Array
      const bytes = data.values as Uint8Array
      const text = type.typeId === Type.Utf8
      for (let i = 0; i < n; i++) {
        if (!isValid(i)) {
          out[i] = null
          continue
        }
        const slice = bytes.subarray(offsets[data.offset + i], offsets[data.offset + i + 1])
        out[i] = text ? utf8Decoder.decode(slice) : slice.slice() // binary: a copy the caller can own
      }
      return out
    }
    case Type.Bool: {
      const bits = data.values as Uint8Array
      for (let i = 0; i < n; i++) {
        const at = data.offset + i
        out[i] = isValid(i) ? (bits[at >> 3] & (1 << (at & 7))) !== 0 : null
      }
      return out
    }
    case Type.Int:
    case Type.Float: {
      const values = data.values as ArrayLike<number | bigint>
      const wide = type.typeId === Type.Int && (type as unknown as Int).bitWidth === 64
      for (let i = 0; i < n; i++) {
        if (!isValid(i)) out[i] = null
        else {
          const v = values[data.offset + i]
          out[i] = wide && form === 'json' ? safeNumber(v as bigint, where) : v
        }
      }
      return out
    }
    case Type.List: {
      const offsets = data.valueOffsets as Int32Array
      const child = data.children[0] as Data
      const base = offsets[data.offset]
      const end = offsets[data.offset + n]
      const childType = child.type as DataType
      if (form === 'typed' && (childType.typeId === Type.Int || childType.typeId === Type.Float)) {
        if (child.nullCount > 0) throw new Error(`${where}: a list of numbers holds null items, which a typed array cannot`)
        const values = child.values as Int32Array | BigInt64Array | Float32Array | Float64Array
        for (let i = 0; i < n; i++) {
          out[i] = isValid(i) ? values.subarray(child.offset + offsets[data.offset + i], child.offset + offsets[data.offset + i + 1]) : null
        }
        return out
      }
      // Decode the used part of the child once, then hand each row its slice.
      const items = columnValues(child.slice(base, end - base), form, where)
      for (let i = 0; i < n; i++) out[i] = isValid(i) ? items.slice(offsets[data.offset + i] - base, offsets[data.offset + i + 1] - base) : null
      return out
    }
    case Type.Struct: {
      const fields = (type as Struct).children as Field[]
      const columns = fields.map((f, c) => columnValues(data.children[c] as Data, form, `${where}.${f.name}`))
      for (let i = 0; i < n; i++) {
        if (!isValid(i)) out[i] = null
        else out[i] = Object.fromEntries(fields.map((f, c) => [f.name, columns[c]![i]]))
      }
      return out
    }
    case Type.Dictionary: {
      // The dictionary is a Vector of one or more chunks; its values in order, then each row looks up its index.
      const chunks = (data.dictionary as Vector | undefined)?.data ?? []
      const dictionary = chunks.flatMap((chunk) => columnValues(chunk, form, where))
      const indices = data.values as ArrayLike<number | bigint>
      for (let i = 0; i < n; i++) out[i] = isValid(i) ? dictionary[Number(indices[data.offset + i])] : null
      return out
    }
    case Type.Null:
      return out.fill(null)
    default:
      throw new Error(`${where}: Arrow type ${String(type)} is not one turnkit reads`)
  }
}

function safeNumber(v: bigint, where: string): number {
  const n = Number(v)
  if (!Number.isSafeInteger(n)) throw new Error(`${where}: int64 ${v} is beyond 2^53 and cannot be a JSON number`)
  return n
}

function validity(data: Data): (i: number) => boolean {
  const bitmap = data.nullBitmap
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return () => true
  return (i) => {
    const at = data.offset + i
    return (bitmap[at >> 3] & (1 << (at & 7))) !== 0
  }
}
