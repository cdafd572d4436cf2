import assert from "node:assert/strict";
import { test } from "node:test";
import { PageItems, parseJsonBody, sourceText } from "../../src/bitbucket/json-body.js";
import { JsonText } from "../../src/protocol/messages.js";
import { recordOf } from "../../src/streams/record-data.js";

/** A page big enough for the item-by-item path, with every kind of text a scanner can trip on. */
function trickyPage(items = 600): { values: Record<string, unknown>[] } & Record<string, unknown> {
  const values = Array.from({ length: items }, (_, i) => ({
    uuid: `{${i}}`,
    name: `quote \\" brace } { bracket ] [ comma , backslash \\\\ ${i}`,
    escaped: 'a "quoted" word and a \\ and a / and \u0001',
    unicode: "é ü 漢字 🚀 \u2028",
    values: [{ nested: [1, { deep: "values" }] }, []],
    empty: {},
    number: i * 1.5,
    flag: i % 2 === 0,
    nothing: null,
  }));
  return { pagelen: items, size: 1000, page: 2, values, next: "https://api.example/?page=3&values=[1]" };
}

/** The body as plain JSON values: a page's lazily parsed items become an array. */
function parse(text: string, chunkSize: number): unknown {
  const body = parseJsonBody(chunked(text, chunkSize)) as { values?: unknown } | undefined;
  return body?.values instanceof PageItems ? { ...body, values: [...body.values] } : body;
}

function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

test("a large page parses to what JSON.parse gives, however the body is cut into chunks", () => {
  const page = trickyPage();
  const compact = JSON.stringify(page);
  const pretty = JSON.stringify(page, null, 2);
  assert.ok(Buffer.byteLength(compact) > 128 * 1024, "the page takes the item-by-item path");
  for (const text of [compact, pretty, ` \n${compact}\n `]) {
    for (const size of [1, 3, 7, 1000, 16 * 1024, 65_536, 1 << 30]) {
      assert.deepEqual(parse(text, size), page, `chunks of ${size} bytes`);
    }
  }
});

test("each item of a large page keeps the exact text it was parsed from", () => {
  const page = trickyPage();
  const parsed = parse(JSON.stringify(page), 4096) as { values: object[] };
  parsed.values.forEach((item, i) => {
    assert.equal(sourceText(item), JSON.stringify(page.values[i]));
  });
});

test("an invalid large body gives undefined, like JSON.parse", () => {
  const text = JSON.stringify(trickyPage());
  const broken = [
    text.slice(0, -1), // truncated
    text.slice(0, text.length / 2),
    text.replace('},{"uuid":"{7}"', '} {"uuid":"{7}"'), // no comma between items
    text.replace('},{"uuid":"{7}"', '},,{"uuid":"{7}"'),
    text.replace('}],"next"', '},],"next"'), // trailing comma
    text.replace('"size":1000', '"size":10 00'), // in the envelope
    text.replace('"number":3,', '"number":3x,'), // a byte JSON never has outside strings
    text.replace('"flag":true', '"flag":\u0001true'),
    text.replace('"name":"quote', '"name":"quo\u0002te'), // a raw control character in a string
    `${text}}`, // trailing garbage
    text.replace('{"uuid":"{9}"', '{"uuid":"{9}'), // an unclosed string
  ];
  for (const body of broken) {
    assert.throws(() => JSON.parse(body), "the case is really invalid");
    assert.equal(parseJsonBody(chunked(body, 5000)), undefined);
  }
});

test("an item that passes the page's structure check but is not valid JSON fails when it is reached", () => {
  // Only bytes JSON allows, in balanced brackets: the scanner cannot tell.
  const text = JSON.stringify(trickyPage()).replace('"number":3,', '"number":3 4,');
  const page = parseJsonBody(chunked(text, 5000)) as { values: PageItems };
  const iterator = page.values[Symbol.iterator]();
  assert.deepEqual(iterator.next().value, trickyPage().values[0]);
  assert.deepEqual(iterator.next().value, trickyPage().values[1]);
  assert.throws(() => iterator.next(), /An item of a page from the API is not valid JSON/);
});

test("valid large bodies of other shapes parse as JSON.parse does", () => {
  const long = "x".repeat(200_000);
  const shapes: unknown[] = [
    { values: Array.from({ length: 50_000 }, (_, i) => i) }, // items that are not objects
    { values: ["a", long] },
    { other: [{ a: long }], values: [] },
    [{ values: [{ a: long }] }],
    { values: [{ a: long }], nested: { values: [{ b: 1 }] } },
    { values: [{ a: long }], values2: "x" },
    long,
  ];
  for (const value of shapes) assert.deepEqual(parse(JSON.stringify(value), 7000), value);
});

test("a small body parses whole", () => {
  assert.deepEqual(parse('{"values":[{"a":1}],"size":1}', 4), { values: [{ a: 1 }], size: 1 });
  assert.equal(parseJsonBody(chunked('{"values":[', 4)), undefined);
  assert.equal(parseJsonBody([]), undefined);
});

test("a record from a page is the API's text with our fields appended", () => {
  const page = trickyPage();
  const parsed = parse(JSON.stringify(page), 65_536) as { values: Record<string, unknown>[] };
  const fields = { repository_uuid: "{r}", repository_full_name: 'acme/"web"' };
  const record = recordOf(parsed.values[3]!, fields);
  assert.ok(record instanceof JsonText);
  assert.deepEqual(JSON.parse(record.text), { ...page.values[3], ...fields });
  const plain = recordOf(parsed.values[4]!);
  assert.ok(plain instanceof JsonText);
  assert.equal(plain.text, JSON.stringify(page.values[4]));
});

test("a record falls back to an object when the text would not do", () => {
  const fields = { repository_uuid: "{r}" };
  // Not from a page.
  assert.deepEqual(recordOf({ a: 1 }, fields), { a: 1, ...fields });
  // Line breaks between tokens would split the output line.
  const pretty = parse(JSON.stringify(trickyPage(), null, 1), 65_536) as { values: Record<string, unknown>[] };
  assert.deepEqual(recordOf(pretty.values[0]!, fields), { ...pretty.values[0], ...fields });
  // The API already has a field of that name: ours wins, without a duplicate key.
  const clash = parse(
    JSON.stringify({ values: Array.from({ length: 2000 }, () => ({ repository_uuid: "api", pad: "x".repeat(100) })) }),
    65_536,
  ) as { values: Record<string, unknown>[] };
  assert.deepEqual(recordOf(clash.values[0]!, fields), { repository_uuid: "{r}", pad: "x".repeat(100) });
});
