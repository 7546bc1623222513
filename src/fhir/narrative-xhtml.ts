/**
 * R4 Narrative.div (narrative.html §2.4.0.1, invariants txt-1 and txt-2): an XHTML fragment whose root
 * is `<div xmlns="http://www.w3.org/1999/xhtml">`, holding only the basic formatting elements of
 * HTML 4.0 (chapters 7-11 and 15), `<a>` (name or href), images and style attributes; never a head,
 * body, script, form, frame, object or event attribute (`on*`). txt-2 (some non-whitespace content)
 * is not enforced: four of the R4 examples (e.g. EventDefinition-example) have an empty div. A narrative travels to every member and viewer that receives the record, most of which
 * render it as HTML: a script in it would run there (security review, session 29, finding F3).
 *
 * This is a small well-formedness and allow-list check, not an XML parser: elements must nest and
 * close, attributes are quoted, entities are named or numeric; comments are allowed; a DOCTYPE,
 * CDATA section or processing instruction is refused.
 */

const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** HTML 4.0 chapters 7-11 and 15, with `a`, `img`, `map` and `area` (as HL7's reference validator). */
const ELEMENTS = new Set([
  ...['div', 'span', 'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'address', 'bdo', 'pre'],
  ...['em', 'strong', 'dfn', 'code', 'samp', 'kbd', 'var', 'cite', 'abbr', 'acronym', 'q', 'blockquote'],
  ...['sub', 'sup', 'ins', 'del', 'tt', 'i', 'b', 'u', 's', 'strike', 'big', 'small', 'center', 'font'],
  ...['ul', 'ol', 'li', 'dl', 'dt', 'dd', 'dir', 'menu'],
  ...['table', 'caption', 'colgroup', 'col', 'thead', 'tfoot', 'tbody', 'tr', 'th', 'td'],
  ...['a', 'img', 'map', 'area'],
]);

/** HTML 4.0's core, i18n, table and presentation attributes, and those of `a`, `img`, `map`, `area`. */
const ATTRIBUTES = new Set([
  ...['id', 'class', 'style', 'title', 'lang', 'xml:lang', 'dir', 'xmlns', 'xmlns:xhtml'],
  ...['align', 'valign', 'char', 'charoff', 'width', 'height', 'border', 'cellpadding', 'cellspacing'],
  ...['frame', 'rules', 'summary', 'span', 'abbr', 'axis', 'headers', 'scope', 'rowspan', 'colspan'],
  ...['nowrap', 'bgcolor', 'color', 'face', 'size', 'noshade', 'compact', 'start', 'type', 'value', 'clear'],
  ...['cite', 'datetime', 'name', 'href', 'hreflang', 'rel', 'rev', 'charset', 'target', 'shape', 'coords'],
  ...['src', 'alt', 'longdesc', 'usemap', 'ismap', 'hspace', 'vspace', 'nohref', 'tabindex', 'accesskey'],
]);

/** Attributes whose value is a URL: never a script, and `data:` only for an image. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'cite', 'longdesc', 'usemap']);

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
const ENTITY = /^&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/;

/** The fault of a Narrative.div, in words naming no content; undefined when it is acceptable. */
export function narrativeFault(div: string): string | undefined {
  const open: string[] = [];
  let rootClosed = false;
  let i = 0;
  while (i < div.length) {
    const lt = div.indexOf('<', i);
    const text = lt === -1 ? div.slice(i) : div.slice(i, lt);
    if (text !== '') {
      if (open.length === 0 && text.trim() !== '') return 'text outside the root div';
      const fault = textFault(text);
      if (fault !== undefined) return fault;
    }
    if (lt === -1) break;
    if (rootClosed) return 'content after the root div';
    if (div.startsWith('<!--', lt)) {
      const end = div.indexOf('-->', lt + 4);
      if (end === -1) return 'an unclosed comment';
      i = end + 3;
      continue;
    }
    if (div.startsWith('<!', lt) || div.startsWith('<?', lt))
      return 'a DOCTYPE, CDATA section or processing instruction (not allowed in a narrative)';
    const gt = tagEnd(div, lt);
    if (gt === -1) return 'an unclosed tag';
    const tag = div.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (open.pop() !== name) return `a closing </${safeName(name)}> that does not match its element`;
      if (open.length === 0) rootClosed = true;
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const parsed = parseTag(selfClosing ? tag.slice(0, -1) : tag);
    if (typeof parsed === 'string') return parsed;
    const fault = elementFault(parsed, open.length === 0);
    if (fault !== undefined) return fault;
    if (selfClosing) {
      if (open.length === 0) rootClosed = true;
    } else open.push(parsed.name);
  }
  if (open.length > 0) return `an unclosed <${safeName(open[open.length - 1] ?? '')}> element`;
  if (!rootClosed) return 'no root div';
  return undefined;
}

interface Tag {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
}

/** The index of the `>` ending the tag at `lt`, skipping `>` inside quoted attribute values. */
function tagEnd(div: string, lt: number): number {
  let quote: string | undefined;
  for (let j = lt + 1; j < div.length; j++) {
    const ch = div[j];
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '>') return j;
    else if (ch === '<') return -1;
  }
  return -1;
}

function parseTag(tag: string): Tag | string {
  const nameMatch = /^[^\s]+/.exec(tag);
  const name = nameMatch?.[0] ?? '';
  if (!NAME.test(name)) return 'a malformed element name';
  const attributes = new Map<string, string>();
  const attribute = /\s+([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/gy;
  let at = name.length;
  while (at < tag.length) {
    if (tag.slice(at).trim() === '') break;
    attribute.lastIndex = at;
    const match = attribute.exec(tag);
    if (match === null)
      return `a malformed attribute on <${safeName(name)}> (XHTML attributes are name="value")`;
    const key = match[1] ?? '';
    if (!NAME.test(key)) return `a malformed attribute name on <${safeName(name)}>`;
    if (attributes.has(key)) return `a repeated attribute ${safeName(key)} on <${safeName(name)}>`;
    const value = match[2] ?? match[3] ?? '';
    const fault = textFault(value);
    if (fault !== undefined) return fault;
    attributes.set(key, value);
    at = attribute.lastIndex;
  }
  return { name, attributes };
}

function elementFault(tag: Tag, isRoot: boolean): string | undefined {
  if (isRoot) {
    if (tag.name !== 'div') return 'the root element is not a div';
    if (tag.attributes.get('xmlns') !== XHTML_NS) return `the root div lacks xmlns="${XHTML_NS}"`;
  }
  const local = tag.name.startsWith('xhtml:') ? tag.name.slice('xhtml:'.length) : tag.name;
  if (!ELEMENTS.has(local))
    return `the element <${safeName(tag.name)}> is not allowed in a narrative (only HTML 4.0 basic formatting, txt-1)`;
  for (const [key, value] of tag.attributes) {
    if (key.toLowerCase().startsWith('on'))
      return `an event attribute ${safeName(key)} (not allowed in a narrative, txt-1)`;
    if (!ATTRIBUTES.has(key))
      return `the attribute ${safeName(key)} is not allowed on <${safeName(tag.name)}> (txt-1)`;
    if (URL_ATTRIBUTES.has(key)) {
      const fault = urlFault(decodeForScheme(value), local === 'img' && key === 'src');
      if (fault !== undefined) return `the ${safeName(key)} of <${safeName(tag.name)}> ${fault}`;
    }
    if (
      key === 'style' &&
      /expression\s*\(|url\s*\(\s*['"]?\s*javascript:|behavior\s*:|-moz-binding/i.test(value)
    )
      return `a style attribute with script on <${safeName(tag.name)}> (txt-1)`;
  }
  return undefined;
}

/** `&` must start an entity; `<` never appears in text (the caller split on it). */
function textFault(text: string): string | undefined {
  let amp = text.indexOf('&');
  while (amp !== -1) {
    if (!ENTITY.test(text.slice(amp, amp + 12))) return 'an & that does not start an entity (write &amp;)';
    amp = text.indexOf('&', amp + 1);
  }
  return undefined;
}

/** What a browser drops from a URL before reading its scheme: C0 controls, space and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to remove
const CONTROLS_AND_SPACES = /[\u0000-\u0020\u007f]/g;

/** The URL as a browser would read its scheme: entities decoded, controls and spaces removed. */
function decodeForScheme(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) =>
      String.fromCodePoint(Number.parseInt(hex, 16) % 0x110000),
    )
    .replace(/&#([0-9]+);?/g, (_, dec: string) => String.fromCodePoint(Number(dec) % 0x110000))
    .replace(/&colon;/gi, ':')
    .replace(/&tab;|&newline;/gi, '')
    .replace(CONTROLS_AND_SPACES, '')
    .toLowerCase();
}

function urlFault(url: string, isImageSource: boolean): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(url)?.[1];
  if (scheme === undefined) return undefined;
  if (scheme === 'data')
    return isImageSource && url.startsWith('data:image/') && !url.startsWith('data:image/svg')
      ? undefined
      : 'is a data: URL (only raster images may be inline)';
  if (['http', 'https', 'mailto', 'tel', 'urn', 'ftp'].includes(scheme)) return undefined;
  return `uses the ${safeName(scheme)}: scheme (not allowed in a narrative)`;
}

/** A name echoed in a message: element and attribute names only, cut short, never content. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 40);
}
