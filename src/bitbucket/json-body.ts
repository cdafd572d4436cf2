// Parses a response body without making one string of all of it. V8 allocates a string over
// 128 KB in its large-object space, at about 20 times the cost per byte of a small one (measured
// here: 0.9 ms to decode a 227 KB page, 0.03 ms to decode the same bytes in 2 KB pieces). A page
// of 100 pipelines is about 220 KB, so the items of the top-level "values" array are cut out
// and decoded one by one, and the rest of the page is parsed as one small document.
//
// Items are parsed as they are iterated (PageItems): a page waiting its turn then holds 100
// strings rather than 100 object trees, which the garbage collector would copy again and again
// (about 15% of the CPU of a full read). The scanner checks the page's structure (nesting,
// strings, the list's punctuation, the bytes JSON allows), so a cut-off or garbled body is still
// retried by the client; an item that passes those checks but is not valid JSON fails the read
// when it is reached. Each item's text is kept (sourceText), so a record can be written without
// serialising the object again.

/** Bodies below this size are parsed whole: their string stays out of the large-object space. */
const WHOLE_BODY_BYTES = 96 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Bytes JSON allows outside strings: punctuation, quotes, whitespace, numbers, true/false/null. */
const OUTSIDE_STRINGS = new Uint8Array(256);
for (const c of '{}[],:" \t\r\n0123456789+-.eEtrufalsn') OUTSIDE_STRINGS[c.charCodeAt(0)] = 1;

const VALUES_KEY = /(?:^|[{,\s])"values"\s*:\s*$/;

/** The parsed body, or undefined when it is not valid JSON. */
export function parseJsonBody(chunks: Buffer[]): unknown {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  if (size >= WHOLE_BODY_BYTES) {
    try {
      const { envelope, items } = splitPage(chunks);
      const page = parseText(decode(envelope)) as { values?: unknown } | undefined;
      if (!items) return page;
      if (!page || !Array.isArray(page.values) || page.values.length > 0) throw new NotAPage();
      page.values = new PageItems(items);
      return page;
    } catch (error) {
      // Not a page this scanner knows (or not JSON at all): JSON.parse has the last word.
      if (!(error instanceof NotAPage)) throw error;
    }
  }
  return parseText(Buffer.concat(chunks, size).toString("utf8"));
}

class NotAPage extends Error {}

const sources = new WeakMap<object, string>();

/** The JSON text an item of a page was parsed from, if it came from one. Meant for items not changed since. */
export function sourceText(value: object): string | undefined {
  return sources.get(value);
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decode(parts: Buffer[]): string {
  return parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8");
}

/** The items of a page's values list, each parsed when it is reached. */
export class PageItems implements Iterable<unknown> {
  constructor(private readonly texts: string[]) {}

  get length(): number {
    return this.texts.length;
  }

  *[Symbol.iterator](): Iterator<unknown> {
    for (const text of this.texts) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new Error(`An item of a page from the API is not valid JSON (${(error as Error).message}).`);
      }
      if (value !== null && typeof value === "object") sources.set(value, text);
      yield value;
    }
  }
}

/**
 * Walks the bytes once, tracking strings and nesting. Bytes outside the top-level "values" array
 * form the envelope; each item of that array (an object) is cut out and decoded on its own. It
 * checks the array's punctuation and which bytes appear in and out of strings; JSON.parse checks
 * the rest (the envelope at once, the items when reached). Anything unexpected throws NotAPage.
 * One function with its state in locals, and nothing that depends on the shape of a page (a
 * change of shape would send V8 back to slower code): this loop sees every byte of every page.
 */
function splitPage(chunks: Buffer[]): { envelope: Buffer[]; items?: string[] } {
  const envelope: Buffer[] = [];
  const item: Buffer[] = [];
  let items: string[] = [];
  let sawValues = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let inValues = false;
  // Inside the values array, between items: whether the last thing seen was an item.
  let afterItem = false;
  for (const chunk of chunks) {
    // Start of the bytes of this chunk not yet copied into the envelope or the current item.
    let from = 0;
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      let byte = chunk[i]!;
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        // Most bytes are inside strings: skip the ordinary ones in a tight loop.
        while (byte !== QUOTE && byte !== BACKSLASH && byte >= 0x20 && ++i < length) byte = chunk[i]!;
        if (i === length) break;
        if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        else throw new NotAPage();
      } else if (OUTSIDE_STRINGS[byte] === 0) {
        throw new NotAPage();
      } else if (inValues && depth === 2) {
        // Between the items of the values array.
        if (byte === OPEN_OBJECT && !afterItem) {
          from = i;
          depth = 3;
        } else if (byte === COMMA && afterItem) {
          afterItem = false;
        } else if (byte === CLOSE_ARRAY && (afterItem || items.length === 0)) {
          inValues = false;
          depth = 1;
          from = i;
        } else if (!isWhitespace(byte)) {
          throw new NotAPage();
        }
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        depth++;
        if (depth === 2 && byte === OPEN_ARRAY && isValuesKey(envelope, chunk.subarray(from, i))) {
          envelope.push(chunk.subarray(from, i + 1));
          inValues = true;
          afterItem = false;
          items = [];
          sawValues = true;
        }
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        depth--;
        if (depth < 0) throw new NotAPage();
        if (inValues && depth === 2) {
          item.push(chunk.subarray(from, i + 1));
          items.push(decode(item));
          item.length = 0;
          afterItem = true;
        }
      }
    }
    if (!inValues) envelope.push(chunk.subarray(from));
    else if (depth > 2) item.push(chunk.subarray(from));
  }
  if (depth !== 0 || inString) throw new NotAPage();
  return sawValues ? { envelope, items } : { envelope };
}

/** Whether an array opening after the envelope so far and `before` is a top-level "values". */
function isValuesKey(envelope: Buffer[], before: Buffer): boolean {
  const parts = [before];
  for (let k = envelope.length - 1, n = before.length; k >= 0 && n < 64; k--) {
    parts.unshift(envelope[k]!);
    n += envelope[k]!.length;
  }
  return VALUES_KEY.test(Buffer.concat(parts).toString("latin1"));
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
