// Parses a response body without turning all of it into JavaScript objects. A page of 100
// pipelines is about 220 KB; parsing it whole costs about 2 ms, and most of what it builds (every
// nested object of every run) is thrown away again once the record is written. So a large body is
// checked and cut up in one pass over its bytes, in the chunks they came in (joining them would
// allocate outside V8's heap, which V8 counts towards its next full GC):
//   - the pass validates the whole body as JSON (the grammar, with UTF-8 checked natively), so a
//     cut-off or garbled body is still not JSON, and the client retries it;
//   - it notes where each item of the top-level "values" list starts and ends, and where each
//     item's top-level members are (JsonItem), so a few fields are read without parsing the rest;
//   - the envelope (size, next, …) is parsed as one small document.
// A record is then written from the item's bytes as they came (record-data.ts). Anything the pass
// does not expect (another shape, very deep nesting, bytes that are not UTF-8) falls back to
// JSON.parse of the whole body, which has the last word.
import { isUtf8 } from "node:buffer";

/** Bodies below this size are parsed whole: the pass would save little. */
const SCAN_MIN_BYTES = 16 * 1024;
/** Deeper bodies fall back to JSON.parse. */
const MAX_DEPTH = 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const WHITESPACE = new Uint8Array(256);
for (const c of " \t\r\n") WHITESPACE[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") HEX[c.charCodeAt(0)] = 1;
const ESCAPABLE = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPABLE[c.charCodeAt(0)] = 1;

/** What the scanner expects next outside strings. */
const Expect = { Value: 0, ValueOrClose: 1, Key: 2, KeyOrClose: 3, Colon: 4, CommaOrClose: 5 } as const;
/** The token the scanner is in, which may go on in the next chunk. */
const Token = { None: 0, String: 1, Number: 2, Literal: 3 } as const;

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");

/**
 * The number grammar -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? as states: NUMBER_NEXT[state * 256 +
 * byte] is the next state, 0 when the byte cannot go on the number.
 */
const NumberState = { Minus: 1, Zero: 2, Integer: 3, Point: 4, Fraction: 5, E: 6, ESign: 7, Exponent: 8 } as const;
const NUMBER_NEXT = new Uint8Array(9 * 256);
const NUMBER_ENDS = new Uint8Array(9);
{
  const S = NumberState;
  const on = (from: number, bytes: string, to: number): void => {
    for (const c of bytes) NUMBER_NEXT[from * 256 + c.charCodeAt(0)] = to;
  };
  on(S.Minus, "0", S.Zero);
  on(S.Minus, "123456789", S.Integer);
  for (const state of [S.Zero, S.Integer]) on(state, ".", S.Point);
  on(S.Integer, "0123456789", S.Integer);
  on(S.Point, "0123456789", S.Fraction);
  on(S.Fraction, "0123456789", S.Fraction);
  for (const state of [S.Zero, S.Integer, S.Fraction]) on(state, "eE", S.E);
  on(S.E, "+-", S.ESign);
  on(S.E, "0123456789", S.Exponent);
  on(S.ESign, "0123456789", S.Exponent);
  on(S.Exponent, "0123456789", S.Exponent);
  for (const state of [S.Zero, S.Integer, S.Fraction, S.Exponent]) NUMBER_ENDS[state] = 1;
}

/** The open objects and lists of the body being scanned (one at a time: scanning is synchronous). */
const CONTAINERS = new Uint8Array(MAX_DEPTH);

/** Not JSON, or JSON of a shape the scanner leaves to JSON.parse. */
class Unscannable extends Error {}

/** The parsed body, or undefined when it is not valid JSON. */
export function parseJsonBody(chunks: Buffer[]): unknown {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  if (size >= SCAN_MIN_BYTES && chunksAreUtf8(chunks)) {
    try {
      return scanPage(new Chunks(chunks));
    } catch (error) {
      if (!(error instanceof Unscannable)) throw error;
    }
  }
  return parseText(Buffer.concat(chunks, size).toString("utf8"));
}

const sources = new WeakMap<object, JsonItem>();

/** The item of a page a value was parsed from, if it came from one. Meant for values not changed since. */
export function sourceOf(value: object): JsonItem | undefined {
  return sources.get(value);
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One object of a page's values list, as bytes, with the places of its top-level members. */
export class JsonItem {
  readonly start: number;
  readonly end: number;
  /** Whether whitespace between its tokens has line breaks (strings cannot: JSON forbids it). */
  readonly lineBreaks: boolean;
  private readonly membersFrom: number;
  private readonly membersTo: number;
  private readonly escapedKeys: boolean;

  constructor(
    /** Holds the item's bytes; `base` is the body offset of its first byte. Places are body offsets. */
    private readonly bytesIn: Buffer,
    private readonly base: number,
    place: ItemPlace,
    /** keyStart, keyEnd, valueStart, valueEnd of each member (keys with their quotes). */
    private readonly members: number[],
  ) {
    this.start = place.start;
    this.end = place.end;
    this.lineBreaks = place.lineBreaks;
    this.membersFrom = place.membersFrom;
    this.membersTo = place.membersTo;
    this.escapedKeys = place.escapedKeys;
  }

  /** The value of a top-level member (the last one of that name, as JSON.parse does). `name` is ASCII. */
  get(name: string): unknown {
    if (this.escapedKeys) return this.value()[name];
    const k = this.memberIndex(name);
    if (k < 0) return undefined;
    const { bytesIn: b, members, base } = this;
    const from = members[k + 2]! - base;
    let to = members[k + 3]! - base;
    while (WHITESPACE[b[to - 1]!] === 1) to--;
    // A string without escapes is its bytes: no need for JSON.parse.
    if (b[from] === QUOTE) {
      let plain = true;
      for (let j = from + 1; plain && j < to - 1; j++) plain = b[j] !== BACKSLASH;
      if (plain) return b.toString("utf8", from + 1, to - 1);
    }
    return JSON.parse(b.toString("utf8", from, to));
  }

  has(name: string): boolean {
    return this.escapedKeys ? Object.hasOwn(this.value(), name) : this.memberIndex(name) >= 0;
  }

  get memberCount(): number {
    return (this.membersTo - this.membersFrom) / 4;
  }

  /** The item parsed. */
  value(): Record<string, unknown> {
    return JSON.parse(this.bytes().toString("utf8")) as Record<string, unknown>;
  }

  /** The item's bytes, or those before body offset `end`. */
  bytes(end = this.end): Buffer {
    return this.bytesIn.subarray(this.start - this.base, end - this.base);
  }

  private memberIndex(name: string): number {
    const { bytesIn: b, members, base } = this;
    for (let k = this.membersTo - 4; k >= this.membersFrom; k -= 4) {
      const from = members[k]! + 1 - base;
      if (members[k + 1]! - 1 - base - from !== name.length) continue;
      let same = true;
      for (let j = 0; same && j < name.length; j++) same = b[from + j] === name.charCodeAt(j);
      if (same) return k;
    }
    return -1;
  }
}

/** The items of a page's values list: as JsonItems, or parsed when iterated. */
export class PageItems implements Iterable<unknown> {
  constructor(private readonly items: JsonItem[]) {}

  get length(): number {
    return this.items.length;
  }

  views(): readonly JsonItem[] {
    return this.items;
  }

  *[Symbol.iterator](): Iterator<unknown> {
    for (const item of this.items) {
      const value = item.value();
      sources.set(value, item);
      yield value;
    }
  }
}

/** A body as the chunks it came in, addressed by body offsets. */
class Chunks {
  /** The body offset of each chunk's first byte. */
  readonly starts: number[] = [];
  readonly size: number;

  constructor(readonly list: Buffer[]) {
    let offset = 0;
    for (const chunk of list) {
      this.starts.push(offset);
      offset += chunk.length;
    }
    this.size = offset;
  }

  /** The index of the chunk holding body offset `at`. */
  indexOf(at: number, from = 0): number {
    let k = from;
    while (k + 1 < this.list.length && this.starts[k + 1]! <= at) k++;
    return k;
  }

  /** Bytes from `start` to `end`: a view when one chunk holds them, else a copy. */
  slice(start: number, end: number, k = this.indexOf(start)): Buffer {
    const chunk = this.list[k]!;
    const offset = this.starts[k]!;
    if (end - offset <= chunk.length) return chunk.subarray(start - offset, end - offset);
    const parts: Buffer[] = [];
    for (let j = k; j < this.list.length && this.starts[j]! < end; j++) {
      const from = Math.max(start - this.starts[j]!, 0);
      parts.push(this.list[j]!.subarray(from, Math.min(end - this.starts[j]!, this.list[j]!.length)));
    }
    return Buffer.concat(parts, end - start);
  }
}

/** Whether the chunks together are UTF-8, a character cut between two chunks included. */
function chunksAreUtf8(chunks: Buffer[]): boolean {
  let carried: Buffer | undefined;
  for (let k = 0; k < chunks.length; k++) {
    let chunk = chunks[k]!;
    if (carried) {
      // Complete the character cut at the end of the last chunk with this chunk's first bytes.
      const need = sequenceLength(carried[0]!) - carried.length;
      if (need <= 0) return false;
      if (need > chunk.length) {
        carried = Buffer.concat([carried, chunk]);
        continue;
      }
      if (!isUtf8(Buffer.concat([carried, chunk.subarray(0, need)]))) return false;
      chunk = chunk.subarray(need);
      carried = undefined;
    }
    const cut = k + 1 < chunks.length ? cutCharacterStart(chunk) : chunk.length;
    if (!isUtf8(chunk.subarray(0, cut))) return false;
    if (cut < chunk.length) carried = chunk.subarray(cut);
  }
  return carried === undefined;
}

/** Where a character whose bytes go on past the end of `chunk` starts, or its length. */
function cutCharacterStart(chunk: Buffer): number {
  for (let back = 1; back <= 3 && back <= chunk.length; back++) {
    const byte = chunk[chunk.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte
    return byte >= 0xc0 && sequenceLength(byte) > back ? chunk.length - back : chunk.length;
  }
  return chunk.length;
}

function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/** A page whose values are PageItems; throws Unscannable for anything else. */
function scanPage(body: Chunks): unknown {
  const scan = scanJson(body.list);
  if (scan.valuesOpen < 0) throw new Unscannable();
  const envelope = Buffer.concat([body.slice(0, scan.valuesOpen + 1), body.slice(scan.valuesClose, body.size)]);
  const page = parseText(envelope.toString("utf8")) as { values?: unknown } | undefined;
  if (!page) throw new Unscannable();
  let k = 0;
  const items = scan.items.map((place) => {
    const { start, end } = place;
    k = body.indexOf(start, k);
    // An item cut between chunks gets a copy of its own (a few of a page's hundred).
    const inOneChunk = end - body.starts[k]! <= body.list[k]!.length;
    const bytes = inOneChunk ? body.list[k]! : body.slice(start, end, k);
    const base = inOneChunk ? body.starts[k]! : start;
    return new JsonItem(bytes, base, place, scan.members);
  });
  page.values = new PageItems(items);
  return page;
}

interface ItemPlace {
  start: number;
  end: number;
  membersFrom: number;
  membersTo: number;
  escapedKeys: boolean;
  lineBreaks: boolean;
}

/**
 * Validates the body as JSON in one pass over its bytes and notes, when its top level is an
 * object with a "values" list of objects, where that list opens and closes, where each of its
 * items is and where each item's members are (as body offsets). Throws Unscannable for invalid
 * JSON, for a values list with something other than objects, for a second top-level "values" and
 * for nesting deeper than MAX_DEPTH. A token may go on from one chunk into the next. One function
 * with its state in locals: it sees every byte of every page.
 */
function scanJson(chunks: Buffer[]): { valuesOpen: number; valuesClose: number; items: ItemPlace[]; members: number[] } {
  const containers = CONTAINERS;
  let depth = 0;
  let expect: number = Expect.Value;
  let token: number = Token.None;
  // Within a string: whether it is a key, had an escape, is just after a backslash, or awaits hex digits.
  let stringIsKey = false;
  let stringEscaped = false;
  let afterBackslash = false;
  let hexLeft = 0;
  let numberState = 0;
  let literal = TRUE;
  let literalAt = 0;
  let tokenStart = 0;
  let valuesOpen = -1;
  let valuesClose = -1;
  let keyIsValues = false;
  // Inside the values list: depth 2 is the list, depth 3 an item's members.
  let inValues = false;
  const items: ItemPlace[] = [];
  const members: number[] = [];
  let item: ItemPlace | undefined;
  let keyStart = -1;
  let keyEnd = -1;
  let valueStart = -1;
  let keyBytes: Buffer[] = [];
  let base = 0;

  for (const b of chunks) {
    const n = b.length;
    // The body offset of b[i] is base + i.
    let i = 0;
    if (token === Token.String && stringIsKey && depth === 1) keyBytes.push(b);
    while (i < n) {
      if (token !== Token.None) {
        if (token === Token.String) {
          if (hexLeft > 0) {
            if (HEX[b[i]!] !== 1) throw new Unscannable();
            hexLeft--;
            i++;
            continue;
          }
          if (afterBackslash) {
            const escaped = b[i]!;
            if (ESCAPABLE[escaped] !== 1) throw new Unscannable();
            afterBackslash = false;
            if (escaped === 0x75) hexLeft = 4;
            i++;
            continue;
          }
          // Most bytes of a page are inside strings: skip the ordinary ones in a tight loop.
          let c = b[i]!;
          while (c !== QUOTE && c !== BACKSLASH && c >= 0x20) {
            if (++i === n) break;
            c = b[i]!;
          }
          if (i === n) break;
          i++;
          if (c === BACKSLASH) {
            afterBackslash = true;
            stringEscaped = true;
            continue;
          }
          if (c !== QUOTE) throw new Unscannable();
          token = Token.None;
          if (!stringIsKey) {
            expect = Expect.CommaOrClose;
            continue;
          }
          expect = Expect.Colon;
          if (depth === 1) {
            keyIsValues = base + i - tokenStart === 8 && isValuesKey(keyBytes, tokenStart, base + i, base);
            keyBytes = [];
            if (keyIsValues && valuesOpen >= 0) throw new Unscannable();
          } else if (inValues && depth === 3) {
            keyStart = tokenStart;
            keyEnd = base + i;
            if (stringEscaped) item!.escapedKeys = true;
          }
          continue;
        }
        if (token === Token.Number) {
          const next = NUMBER_NEXT[numberState * 256 + b[i]!]!;
          if (next !== 0) {
            numberState = next;
            i++;
            continue;
          }
          if (NUMBER_ENDS[numberState] !== 1) throw new Unscannable();
          token = Token.None;
          expect = Expect.CommaOrClose;
          // The byte after the number is read again below.
        } else {
          if (b[i] !== literal[literalAt]) throw new Unscannable();
          i++;
          if (++literalAt === literal.length) {
            token = Token.None;
            expect = Expect.CommaOrClose;
          }
          continue;
        }
      }
      const c = b[i]!;
      if (WHITESPACE[c] === 1) {
        if (inValues && depth >= 3 && (c === 0x0a || c === 0x0d)) item!.lineBreaks = true;
        i++;
        continue;
      }
      if (expect === Expect.CommaOrClose) {
        if (depth === 0) throw new Unscannable();
        if (inValues && depth === 3) members.push(keyStart, keyEnd, valueStart, base + i);
        const container = containers[depth - 1];
        if (c === COMMA) {
          i++;
          expect = container === OPEN_OBJECT ? Expect.Key : Expect.Value;
          continue;
        }
        if (!((c === CLOSE_OBJECT && container === OPEN_OBJECT) || (c === CLOSE_ARRAY && container === OPEN_ARRAY))) {
          throw new Unscannable();
        }
      } else if (expect === Expect.Colon) {
        if (c !== COLON) throw new Unscannable();
        i++;
        expect = Expect.Value;
        continue;
      } else if (expect === Expect.Key || expect === Expect.KeyOrClose) {
        if (c !== CLOSE_OBJECT || expect !== Expect.KeyOrClose) {
          if (c !== QUOTE) throw new Unscannable();
          tokenStart = base + i;
          i++;
          token = Token.String;
          stringIsKey = true;
          stringEscaped = false;
          if (depth === 1) keyBytes = [b];
          continue;
        }
      } else if (c !== CLOSE_ARRAY || expect !== Expect.ValueOrClose) {
        // A value starts.
        if (inValues && depth === 3) valueStart = base + i;
        if (inValues && depth === 2) {
          if (c !== OPEN_OBJECT) throw new Unscannable();
          item = { start: base + i, end: -1, membersFrom: members.length, membersTo: -1, escapedKeys: false, lineBreaks: false };
          items.push(item);
        }
        if (depth === 1 && keyIsValues && c !== OPEN_ARRAY) throw new Unscannable(); // "values" is not a list
        i++;
        expect = Expect.CommaOrClose;
        if (c === QUOTE) {
          token = Token.String;
          stringIsKey = false;
        } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          if (depth === MAX_DEPTH) throw new Unscannable();
          if (depth === 1 && keyIsValues) {
            inValues = true;
            valuesOpen = base + i - 1;
          }
          containers[depth++] = c;
          expect = c === OPEN_OBJECT ? Expect.KeyOrClose : Expect.ValueOrClose;
        } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          token = Token.Number;
          numberState = c === 0x2d ? NumberState.Minus : c === 0x30 ? NumberState.Zero : NumberState.Integer;
        } else {
          literal = c === 0x66 ? FALSE : c === 0x6e ? NULL : TRUE;
          if (c !== literal[0]) throw new Unscannable();
          token = Token.Literal;
          literalAt = 1;
        }
        continue;
      }
      // The byte closes the innermost object or list.
      i++;
      depth--;
      expect = Expect.CommaOrClose;
      if (inValues && depth === 2) {
        item!.end = base + i;
        item!.membersTo = members.length;
      } else if (inValues && depth === 1) {
        inValues = false;
        valuesClose = base + i - 1;
      }
    }
    base += n;
  }
  if (token === Token.Number && NUMBER_ENDS[numberState] === 1) {
    token = Token.None;
    expect = Expect.CommaOrClose;
  }
  if (depth !== 0 || token !== Token.None || expect !== Expect.CommaOrClose) throw new Unscannable();
  return { valuesOpen, valuesClose, items, members };
}

/** Whether the key from `start` to `end` (body offsets, with its quotes) is "values". */
function isValuesKey(keyChunks: Buffer[], start: number, end: number, lastChunkStart: number): boolean {
  // keyChunks: the chunks the key lies in, the last of which starts at lastChunkStart.
  let chunkStart = lastChunkStart;
  for (let k = keyChunks.length - 2; k >= 0; k--) chunkStart -= keyChunks[k]!.length;
  const joined = keyChunks.length === 1 ? keyChunks[0]! : Buffer.concat(keyChunks);
  return joined.toString("latin1", start - chunkStart, end - chunkStart) === '"values"';
}
