// The one XML reader, for annotation files (Flickr-SoundNet boxes, Flickr30k Entities' VOC XML): fast-xml-parser
// (well-formedness checked, no external entity is ever fetched) turned into a small element tree. Attributes are
// ignored; the five predefined entities and numeric character references are decoded; entities a DOCTYPE declares
// are expanded only within tight limits, so a hostile file cannot multiply itself.
import { XMLParser, XMLValidator } from 'fast-xml-parser'

/** An XML element: tag, child elements in order, and its own text (children's text excluded), trimmed. */
export interface XmlElement {
  tag: string
  children: XmlElement[]
  text: string
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true, // numeric references (&#65; &#x41;) decode with these
  processEntities: { enabled: true, maxEntityCount: 10, maxEntitySize: 1000, maxTotalExpansions: 100, maxExpandedLength: 10_000 },
})

type OrderedNode = Record<string, OrderedNode[] | string> & { ':@'?: unknown }

/**
 * Parse an XML document into its root element. Throws with the parser's reason (a mismatched or unclosed tag,
 * text outside the root, entity limits) when the document is not well-formed, or when it has no single root.
 */
export function parseXml(text: string): XmlElement {
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    // The validator lists unclosed tags as "Invalid '[\n  "a",\n  "b"\n]' found."; say it plainly.
    const unclosed = /^Invalid '(\[[\s\S]*\])' found\.$/.exec(valid.err.msg)?.[1]
    const tags = unclosed === undefined ? null : (JSON.parse(unclosed) as string[])
    throw new Error(tags ? `${tags.map((t) => `<${t}>`).join(', ')} never closed` : `${valid.err.msg} (line ${valid.err.line})`)
  }
  const nodes = parser.parse(text) as OrderedNode[]
  const roots = elementsOf(nodes)
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`)
  return roots[0]!
}

function elementsOf(nodes: readonly OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = []
  for (const node of nodes) {
    const tag = Object.keys(node).find((k) => k !== ':@')
    if (tag === undefined || tag === '#text' || tag === '#comment' || tag.startsWith('?')) continue
    const content = node[tag] as OrderedNode[]
    const text = content.map((child) => (typeof child['#text'] === 'string' ? child['#text'] : '')).join('')
    out.push({ tag, children: elementsOf(content), text: text.trim() })
  }
  return out
}
