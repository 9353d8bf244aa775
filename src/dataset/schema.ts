// Record definitions live in schemas/<id>.json, once: the shard writer builds its Arrow schema from them, the
// reader checks shards against them, and the README's data reference is rendered from them.
//
// A schema file reads:
//   { "id": "audio-text", "version": 1, "description": "...", "sortKey": "key",
//     "fields": [ { "name": "log_mel", "type": "list<float32>", "nullable": false, "unit": "dB",
//                   "shape": ["frames", 128], "description": "..." }, ... ] }

import { readFile } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { packageRoot } from '../config.js'
import { Binary, Bool, DataType, Field, Float32, Float64, Int32, Int64, List, Schema, Utf8 } from 'apache-arrow'
import { sha256Bytes } from './hash.js'
import { canonicalJson } from '../formats/json.js'

/** Leaf types a field may have; `list<T>` nests any of them (`list<list<int32>>`). */
export const SCALAR_TYPES = ['utf8', 'int32', 'int64', 'float32', 'float64', 'bool', 'binary'] as const
export type ScalarType = (typeof SCALAR_TYPES)[number]

/** A field type string parsed: `list<list<int32>>` is list(list(scalar int32)). */
export type FieldType = { kind: 'scalar'; scalar: ScalarType } | { kind: 'list'; item: FieldType }

/** One column of a record, as written in the schema file. */
export interface FieldDef {
  /** snake_case column name, unique in the schema */
  name: string
  /** `utf8`, `int32`, `int64`, `float32`, `float64`, `bool`, `binary` or `list<T>` */
  type: string
  /** whether a row may hold null here; the writer refuses null in a non-nullable field */
  nullable: boolean
  /** physical unit of the values (`s`, `dB`), absent for counts and text without one */
  unit?: string
  /**
   * Logical shape of a flat `list<number>` value, row-major. A string names an integer field of the same row
   * (`["frames", 128]`: frames x 128 values); the writer checks the list length against it.
   */
  shape?: (string | number)[]
  /** one or two sentences for the data reference */
  description: string
}

/** A record definition: what every row of a dataset of this kind holds. */
export interface RecordSchema {
  /** kebab-case id, also the file name: schemas/<id>.json */
  id: string
  /** positive integer, bumped on any change to fields */
  version: number
  description: string
  /** utf8 field, unique per row, by which rows are sorted inside and across shards */
  sortKey: string
  fields: FieldDef[]
}

const SCHEMA_KEYS = ['id', 'version', 'description', 'sortKey', 'fields']
const FIELD_KEYS = ['name', 'type', 'nullable', 'unit', 'shape', 'description']
const NUMERIC_SCALARS: readonly ScalarType[] = ['int32', 'int64', 'float32', 'float64']

/** Directory of the schema files, found from this source file so the current directory does not matter. */
export const SCHEMAS_DIR = join(packageRoot(), 'schemas') + sep

/**
 * Load and validate schemas/<id>.json. Returns the schema as written (field order kept).
 * Throws when the id is not kebab-case, the file is missing or not JSON, or `validateSchema` refuses it.
 */
export async function loadSchema(id: string): Promise<RecordSchema> {
  if (!/^[a-z][a-z0-9-]*$/.test(id)) throw new Error(`schema: id '${id}' is not kebab-case (a-z, 0-9, -)`)
  const path = `${SCHEMAS_DIR}${id}.json`
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`schema: no schema '${id}' (${path} not found)`)
    throw error
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`schema: ${path} is not valid JSON: ${(error as Error).message}`)
  }
  const schema = validateSchema(value, path)
  if (schema.id !== id) throw new Error(`schema: ${path} declares id '${schema.id}', expected '${id}'`)
  return schema
}

/**
 * Check that `value` is a well-formed record schema and return it typed. `source` names it in errors.
 * Throws on unknown or missing keys, bad names, duplicate fields, unparsable types, a sortKey that is not a
 * non-nullable utf8 field, or a shape on anything but `list<number>` or naming a field that is not an integer.
 */
export function validateSchema(value: unknown, source: string): RecordSchema {
  const fail = (message: string): never => {
    throw new Error(`schema ${source}: ${message}`)
  }
  if (!isPlainObject(value)) return fail('must be a JSON object')
  checkKeys(value, SCHEMA_KEYS, ['id', 'version', 'description', 'sortKey', 'fields'], '', fail)
  const { id, version, description, sortKey, fields } = value
  if (typeof id !== 'string' || !/^[a-z][a-z0-9-]*$/.test(id)) fail(`id ${JSON.stringify(id)} must be kebab-case`)
  if (!Number.isInteger(version) || (version as number) < 1) fail(`version ${JSON.stringify(version)} must be an integer >= 1`)
  if (typeof description !== 'string' || description.trim() === '') fail('description must be a non-empty string')
  if (!Array.isArray(fields) || fields.length === 0) return fail('fields must be a non-empty array')

  const seen = new Map<string, FieldDef>()
  for (const [i, f] of fields.entries()) {
    const at = `fields[${i}]`
    if (!isPlainObject(f)) return fail(`${at} must be an object`)
    checkKeys(f, FIELD_KEYS, ['name', 'type', 'nullable', 'description'], `${at}.`, fail)
    if (typeof f.name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(f.name)) fail(`${at}.name ${JSON.stringify(f.name)} must be snake_case`)
    const name = f.name as string
    if (seen.has(name)) fail(`field '${name}' is defined twice`)
    if (typeof f.type !== 'string') return fail(`field '${name}': type must be a string`)
    try {
      parseFieldType(f.type)
    } catch (error) {
      fail(`field '${name}': ${(error as Error).message}`)
    }
    if (typeof f.nullable !== 'boolean') fail(`field '${name}': nullable must be true or false`)
    if (f.unit !== undefined && (typeof f.unit !== 'string' || f.unit === '')) fail(`field '${name}': unit must be a non-empty string`)
    if (typeof f.description !== 'string' || f.description.trim() === '') fail(`field '${name}': description must be a non-empty string`)
    seen.set(name, f as unknown as FieldDef)
  }

  // Shapes are checked once every field is known, since a dimension may name a later field.
  for (const f of seen.values()) {
    if (f.shape === undefined) continue
    const type = parseFieldType(f.type)
    if (type.kind !== 'list' || type.item.kind !== 'scalar' || !NUMERIC_SCALARS.includes(type.item.scalar)) {
      fail(`field '${f.name}': shape is only allowed on list<int32|int64|float32|float64>, not ${f.type}`)
    }
    if (!Array.isArray(f.shape) || f.shape.length === 0) fail(`field '${f.name}': shape must be a non-empty array`)
    for (const dim of f.shape) {
      if (typeof dim === 'number') {
        if (!Number.isInteger(dim) || dim < 1) fail(`field '${f.name}': shape dimension ${dim} must be an integer >= 1`)
      } else if (typeof dim === 'string') {
        const ref = seen.get(dim)
        if (ref === undefined || (ref.type !== 'int32' && ref.type !== 'int64') || ref.nullable) {
          fail(`field '${f.name}': shape dimension '${dim}' must name a non-nullable int32 or int64 field`)
        }
      } else {
        fail(`field '${f.name}': shape dimension ${JSON.stringify(dim)} must be a field name or an integer`)
      }
    }
  }

  const key = seen.get(sortKey as string)
  if (typeof sortKey !== 'string' || key === undefined || key.type !== 'utf8' || key.nullable) {
    fail(`sortKey ${JSON.stringify(sortKey)} must name a non-nullable utf8 field`)
  }
  return value as unknown as RecordSchema
}

/**
 * Parse a field type string: a scalar (`float32`) or `list<T>` with T itself a type. No whitespace.
 * Throws naming the text and the accepted forms.
 */
export function parseFieldType(text: string): FieldType {
  if ((SCALAR_TYPES as readonly string[]).includes(text)) return { kind: 'scalar', scalar: text as ScalarType }
  if (text.startsWith('list<') && text.endsWith('>')) return { kind: 'list', item: parseFieldType(text.slice(5, -1)) }
  throw new Error(`unknown type '${text}' (expected one of ${SCALAR_TYPES.join(', ')} or list<T>)`)
}

/** The type string of a parsed type: inverse of `parseFieldType`. */
export function formatFieldType(type: FieldType): string {
  return type.kind === 'scalar' ? type.scalar : `list<${formatFieldType(type.item)}>`
}

/**
 * `"sha256:" + sha256(canonicalJson(schema))`: names the exact definition, descriptions included, so any edit
 * to the schema file gives a new hash (and a new dataset version for data written with it).
 */
export function schemaHash(schema: RecordSchema): string {
  return sha256Bytes(canonicalJson(schema))
}

/**
 * The Arrow type for a field type. Lists are `List<item: T not null>`: items are never null, which Parquet
 * stores with one repetition level and no definition bits for the items.
 */
export function arrowType(type: FieldType): DataType {
  if (type.kind === 'list') return new List(new Field('item', arrowType(type.item), false))
  switch (type.scalar) {
    case 'utf8':
      return new Utf8()
    case 'int32':
      return new Int32()
    case 'int64':
      return new Int64()
    case 'float32':
      return new Float32()
    case 'float64':
      return new Float64()
    case 'bool':
      return new Bool()
    case 'binary':
      return new Binary()
  }
}

/**
 * The Arrow schema of `schema`'s rows, fields in schema order. Schema metadata carries `turnkit:schema` (id) and
 * `turnkit:schema_version`; a field's metadata carries its `unit` and `shape` (JSON) when it has them, so Arrow
 * and pyarrow users see them without this repository.
 */
export function arrowSchema(schema: RecordSchema): Schema {
  const fields = schema.fields.map((f) => {
    const meta = new Map<string, string>()
    if (f.unit !== undefined) meta.set('unit', f.unit)
    if (f.shape !== undefined) meta.set('shape', JSON.stringify(f.shape))
    return new Field(f.name, arrowType(parseFieldType(f.type)), f.nullable, meta)
  })
  const meta = new Map([
    ['turnkit:schema', schema.id],
    ['turnkit:schema_version', String(schema.version)],
  ])
  return new Schema(fields, meta)
}

/**
 * The turnkit type string of an Arrow type, or `arrow:<Arrow's name>` for a type turnkit does not write
 * (LargeUtf8, Dictionary, FixedSizeList...), so a mismatch message can show both sides.
 * List item nullability is not part of the string; the reader refuses actual null items instead.
 */
export function typeNameOfArrow(type: DataType): string {
  if (DataType.isUtf8(type)) return 'utf8'
  if (DataType.isBool(type)) return 'bool'
  if (DataType.isBinary(type)) return 'binary'
  if (DataType.isInt(type) && type.isSigned && type.bitWidth === 32) return 'int32'
  if (DataType.isInt(type) && type.isSigned && type.bitWidth === 64) return 'int64'
  if (DataType.isFloat(type) && type.precision === 1) return 'float32'
  if (DataType.isFloat(type) && type.precision === 2) return 'float64'
  if (DataType.isList(type)) return `list<${typeNameOfArrow(type.children[0].type)}>`
  return `arrow:${String(type)}`
}

/**
 * Markdown data reference of `schema` for the README: a heading, the description, sort key and hash, then a
 * table with one row per field (name, type, shape, unit, description). Pipes in text are escaped.
 */
export function markdownReference(schema: RecordSchema): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  const lines = [
    `### \`${schema.id}\` v${schema.version}`,
    '',
    cell(schema.description),
    '',
    `Rows are sorted by \`${schema.sortKey}\`. Schema hash: \`${schemaHash(schema)}\`.`,
    '',
    '| Field | Type | Shape | Unit | Description |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const f of schema.fields) {
    const type = `\`${f.type}\`${f.nullable ? ' (nullable)' : ''}`
    const shape = f.shape === undefined ? '' : `[${f.shape.join(', ')}]`
    lines.push(`| \`${f.name}\` | ${cell(type)} | ${shape} | ${cell(f.unit ?? '')} | ${cell(f.description)} |`)
  }
  return `${lines.join('\n')}\n`
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkKeys(
  value: Record<string, unknown>,
  known: string[],
  required: string[],
  at: string,
  fail: (message: string) => never,
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`unknown key '${at}${key}' (known: ${known.join(', ')})`)
  }
  for (const key of required) {
    if (!(key in value)) fail(`missing key '${at}${key}'`)
  }
}
