// A small BBQL (Bitbucket query language) parser/evaluator for GET /2.0/repositories/{workspace}?q=...
// Grammar (reference §2.3): comparisons `field op value` and `field [NOT] IN (v, ...)` combined with AND / OR and
// parentheses. Datetimes are UNQUOTED ISO-8601 values; strings are double-quoted.

import { parseBbqlDatetime } from "./time.js";

export class BbqlError extends Error {}

export type FieldKind = "string" | "number" | "boolean" | "datetime";

/** A filterable/sortable field. Datetime values are epoch microseconds. */
export interface FieldDef<T> {
  kind: FieldKind;
  get(item: T): string | number | boolean | null;
}

export type FieldTable<T> = Record<string, FieldDef<T>>;

type Literal =
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "boolean"; value: boolean }
  | { kind: "datetime"; value: number; text: string }
  | { kind: "null" };

type Op = "=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=";

type Node =
  | { type: "and" | "or"; left: Node; right: Node }
  | { type: "cmp"; field: string; op: Op; value: Literal }
  | { type: "in"; field: string; negate: boolean; values: Literal[] };

type Token =
  | { t: "lparen" | "rparen" | "comma" | "eof"; pos: number }
  | { t: "op"; op: Op; pos: number }
  | { t: "word"; text: string; pos: number }
  | { t: "literal"; value: Literal; pos: number };

const DATETIME_RE = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?/y;
const NUMBER_RE = /-?\d+(?:\.\d+)?/y;
const WORD_RE = /[A-Za-z_][A-Za-z0-9_.]*/y;
const OPS: readonly Op[] = ["!=", "!~", ">=", "<=", "=", "~", ">", "<"];

function isDelimiter(ch: string | undefined): boolean {
  return ch === undefined || ch === " " || ch === "\t" || ch === "\n" || ch === ")" || ch === ",";
}

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const sticky = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(q);
    return m && isDelimiter(q[i + m[0].length]) ? m[0] : undefined;
  };
  while (i < q.length) {
    const ch = q[i] ?? "";
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const pos = i;
    if (ch === "(" || ch === ")" || ch === ",") {
      tokens.push({ t: ch === "(" ? "lparen" : ch === ")" ? "rparen" : "comma", pos });
      i++;
      continue;
    }
    const op = OPS.find((o) => q.startsWith(o, i));
    if (op) {
      tokens.push({ t: "op", op, pos });
      i += op.length;
      continue;
    }
    if (ch === '"') {
      let value = "";
      i++;
      for (;;) {
        const c = q[i];
        if (c === undefined) throw new BbqlError(`unterminated string at position ${pos}`);
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const next = q[i];
          if (next === undefined) throw new BbqlError(`unterminated string at position ${pos}`);
          value += next;
          i++;
        } else value += c;
      }
      tokens.push({ t: "literal", value: { kind: "string", value }, pos });
      continue;
    }
    const dt = sticky(DATETIME_RE);
    if (dt !== undefined) {
      const micros = parseBbqlDatetime(dt);
      if (micros === undefined) throw new BbqlError(`invalid datetime '${dt}'`);
      tokens.push({ t: "literal", value: { kind: "datetime", value: micros, text: dt }, pos });
      i += dt.length;
      continue;
    }
    const num = sticky(NUMBER_RE);
    if (num !== undefined) {
      tokens.push({ t: "literal", value: { kind: "number", value: Number(num) }, pos });
      i += num.length;
      continue;
    }
    WORD_RE.lastIndex = i;
    const word = WORD_RE.exec(q);
    if (word) {
      const text = word[0];
      const lower = text.toLowerCase();
      if (lower === "true" || lower === "false")
        tokens.push({ t: "literal", value: { kind: "boolean", value: lower === "true" }, pos });
      else if (lower === "null") tokens.push({ t: "literal", value: { kind: "null" }, pos });
      else tokens.push({ t: "word", text, pos });
      i += text.length;
      continue;
    }
    throw new BbqlError(`unexpected character '${ch}' at position ${pos}`);
  }
  tokens.push({ t: "eof", pos: q.length });
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    const tok = this.tokens[this.i] ?? this.tokens[this.tokens.length - 1];
    if (!tok) throw new BbqlError("empty query");
    return tok;
  }

  private take(): Token {
    const tok = this.peek();
    this.i++;
    return tok;
  }

  private isKeyword(tok: Token, kw: string): boolean {
    return tok.t === "word" && tok.text.toUpperCase() === kw;
  }

  parse(): Node {
    const node = this.parseOr();
    const tok = this.peek();
    if (tok.t !== "eof") throw new BbqlError(`unexpected input at position ${tok.pos}`);
    return node;
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), "OR")) {
      this.take();
      left = { type: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parsePrimary();
    while (this.isKeyword(this.peek(), "AND")) {
      this.take();
      left = { type: "and", left, right: this.parsePrimary() };
    }
    return left;
  }

  private parsePrimary(): Node {
    const tok = this.take();
    if (tok.t === "lparen") {
      const inner = this.parseOr();
      if (this.take().t !== "rparen") throw new BbqlError(`missing ')' for '(' at position ${tok.pos}`);
      return inner;
    }
    if (tok.t !== "word" || ["AND", "OR", "IN", "NOT"].includes(tok.text.toUpperCase())) {
      throw new BbqlError(`expected a field name at position ${tok.pos}`);
    }
    const field = tok.text;
    const next = this.take();
    if (next.t === "op") return { type: "cmp", field, op: next.op, value: this.literal() };
    let negate = false;
    let inTok: Token = next;
    if (this.isKeyword(next, "NOT")) {
      negate = true;
      inTok = this.take();
    }
    if (!this.isKeyword(inTok, "IN")) throw new BbqlError(`expected an operator after '${field}' at position ${next.pos}`);
    if (this.take().t !== "lparen") throw new BbqlError(`expected '(' after IN`);
    const values: Literal[] = [this.literal()];
    for (;;) {
      const sep = this.take();
      if (sep.t === "rparen") break;
      if (sep.t !== "comma") throw new BbqlError(`expected ',' or ')' at position ${sep.pos}`);
      values.push(this.literal());
    }
    return { type: "in", field, negate, values };
  }

  private literal(): Literal {
    const tok = this.take();
    if (tok.t !== "literal") throw new BbqlError(`expected a value at position ${tok.pos}`);
    return tok.value;
  }
}

function compareValues(a: number | string | boolean, b: number | string | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Converts a literal to the comparable value for a field kind; throws on a type mismatch. */
function operand(field: string, kind: FieldKind, op: Op, lit: Literal): number | string | boolean | null {
  if (lit.kind === "null") {
    if (op !== "=" && op !== "!=") throw new BbqlError(`operator ${op} cannot be used with null`);
    return null;
  }
  if ((op === "~" || op === "!~") && kind !== "string")
    throw new BbqlError(`operator ${op} needs a string field, not '${field}'`);
  switch (kind) {
    case "datetime": {
      if (lit.kind === "datetime") return lit.value;
      const parsed = lit.kind === "string" ? parseBbqlDatetime(lit.value) : undefined;
      if (parsed === undefined) throw new BbqlError(`field '${field}' expects a datetime`);
      return parsed;
    }
    case "string":
      if (lit.kind !== "string") throw new BbqlError(`field '${field}' expects a quoted string`);
      return lit.value;
    case "number":
      if (lit.kind !== "number") throw new BbqlError(`field '${field}' expects a number`);
      return lit.value;
    case "boolean":
      if (lit.kind !== "boolean") throw new BbqlError(`field '${field}' expects true or false`);
      return lit.value;
  }
}

function test(lhs: string | number | boolean | null, op: Op, rhs: string | number | boolean | null): boolean {
  if (rhs === null || lhs === null) {
    const same = lhs === rhs;
    return op === "=" ? same : op === "!=" ? !same : false;
  }
  if (op === "~" || op === "!~") {
    const contains = String(lhs).toLowerCase().includes(String(rhs).toLowerCase());
    return op === "~" ? contains : !contains;
  }
  const c = compareValues(lhs, rhs);
  switch (op) {
    case "=":
      return c === 0;
    case "!=":
      return c !== 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
  }
}

type Compiled<T> = (item: T) => boolean;

/** Compiles `q` into a predicate; throws BbqlError for a malformed query or an unknown field. */
export function compileBbql<T>(q: string, fields: FieldTable<T>): Compiled<T> {
  const tree = new Parser(tokenize(q)).parse();
  const fieldDef = (name: string): FieldDef<T> => {
    const def = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!def) throw new BbqlError(`'${name}' is not a valid field for filtering`);
    return def;
  };
  const build = (node: Node): Compiled<T> => {
    switch (node.type) {
      case "and": {
        const [l, r] = [build(node.left), build(node.right)];
        return (item) => l(item) && r(item);
      }
      case "or": {
        const [l, r] = [build(node.left), build(node.right)];
        return (item) => l(item) || r(item);
      }
      case "cmp": {
        const def = fieldDef(node.field);
        const rhs = operand(node.field, def.kind, node.op, node.value);
        const op = node.op;
        return (item) => test(def.get(item), op, rhs);
      }
      case "in": {
        const def = fieldDef(node.field);
        const values = node.values.map((v) => operand(node.field, def.kind, "=", v));
        const negate = node.negate;
        return (item) => {
          const lhs = def.get(item);
          const hit = values.some((v) => test(lhs, "=", v));
          return negate ? !hit : hit;
        };
      }
    }
  };
  return build(tree);
}

/** Compares two field values for sorting (nulls first). */
export function compareFieldValues(a: string | number | boolean | null, b: string | number | boolean | null): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : -1) : 1;
  return compareValues(a, b);
}
