import assert from "node:assert/strict";
import { test } from "node:test";
import { PageItems, parseJsonBody, sourceOf } from "../../src/bitbucket/json-body.js";
import { JsonText } from "../../src/protocol/messages.js";
import { recordsWith } from "../../src/streams/record-data.js";

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

/** The JSON text a record's pieces make when written one after the other. */
function textOf(record: JsonText): string {
  return Buffer.concat(record.parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString();
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
      const scanned = parseJsonBody(chunked(text, size)) as { values: unknown };
      assert.ok(scanned.values instanceof PageItems, `chunks of ${size} bytes: scanned, not parsed whole`);
    }
  }
});

test("each item of a large page keeps the exact text it was parsed from", () => {
  const page = trickyPage();
  const parsed = parse(JSON.stringify(page), 4096) as { values: object[] };
  parsed.values.forEach((item, i) => {
    assert.equal(sourceOf(item)?.bytes().toString(), JSON.stringify(page.values[i]));
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

test("a large body invalid anywhere, even deep inside an item, gives undefined", () => {
  const text = JSON.stringify(trickyPage());
  const inItem = [
    ['"number":3,', '"number":3 4,'], // two values
    ['"number":3,', '"number":03,'],
    ['"number":3,', '"number":3.,'],
    ['"number":3,', '"number":-,'],
    ['"number":3,', '"number":1e,'],
    ['"number":3,', '"number":+3,'],
    ['"flag":true', '"flag":tru'],
    ['"flag":true', '"flag":truee'],
    ['"nothing":null', '"nothing":nul'],
    ['"nothing":null', '"nothing" null'], // no colon
    ['"nothing":null', "nothing:null"], // a key that is not a string
    ['"empty":{}', '"empty":{,}'],
    ['"empty":{}', '"empty":{"a"}'],
    ['"empty":{}', '"empty":[1,]'],
    ['"empty":{}', '"empty":{]'],
    ['a \\"quoted\\"', "a \\q"], // an escape JSON does not have
    ['a \\"quoted\\"', "a \\u12G4"],
  ];
  for (const [from, to] of inItem) {
    const body = text.replace(from!, to!);
    assert.notEqual(body, text, `${from} is in the page`);
    assert.throws(() => JSON.parse(body), `${to} is really invalid`);
    assert.equal(parseJsonBody(chunked(body, 5000)), undefined, to);
  }
});

test("the scanner agrees with JSON.parse on thousands of damaged pages", () => {
  const text = JSON.stringify(trickyPage(150));
  const pool = Buffer.from('{}[],:"\\ 0123456789-+.eEtrufalsnx\u0001');
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 3000; round++) {
    const bytes = Buffer.from(text);
    // One to three bytes replaced, deleted or inserted, anywhere.
    let body = bytes;
    for (let k = 1 + random(3); k > 0; k--) {
      const at = random(body.length);
      const by = pool.subarray(random(pool.length)).subarray(0, 1);
      const edit = random(3);
      body =
        edit === 0
          ? Buffer.concat([body.subarray(0, at), by, body.subarray(at + 1)])
          : edit === 1
            ? Buffer.concat([body.subarray(0, at), body.subarray(at + 1)])
            : Buffer.concat([body.subarray(0, at), by, body.subarray(at)]);
    }
    let expected: unknown;
    try {
      expected = JSON.parse(body.toString());
    } catch {
      expected = undefined;
    }
    assert.deepEqual(parse(body.toString(), 1 + random(9000)), expected, `round ${round}`);
  }
});

test("an item's members are read without parsing the item, as JSON.parse would read them", () => {
  const values = Array.from({ length: 300 }, (_, i) => ({
    uuid: `{${i}}`,
    created_on: "2025-01-02T03:04:05.123Z",
    run_number: i,
    state: { name: "COMPLETED", result: { name: "SUCCESSFUL" } },
    text: 'with "quotes" and \\ and \u00e9',
    spaced: 1,
  }));
  const text = JSON.stringify({ values })
    .replaceAll('"spaced":1', '"spaced" :  1 ')
    .replace('"uuid":"{5}"', '"uuid":"{5}","uuid":"{last wins}"')
    .replace('"uuid":"{6}"', '"\\u0075uid":"{6}"');
  const page = parseJsonBody(chunked(text, 3000)) as { values: PageItems };
  const items = page.values.views();
  assert.equal(items.length, 300);
  assert.equal(items[0]!.get("uuid"), "{0}");
  assert.deepEqual(items[0]!.get("state"), values[0]!.state);
  assert.equal(items[0]!.get("run_number"), 0);
  assert.equal(items[0]!.get("text"), values[0]!.text);
  assert.equal(items[0]!.get("spaced"), 1);
  assert.equal(items[0]!.get("missing"), undefined);
  assert.equal(items[0]!.has("missing"), false);
  assert.equal(items[5]!.get("uuid"), "{last wins}");
  assert.equal(items[6]!.get("uuid"), "{6}", "an escaped key still matches");
  assert.deepEqual(items[7]!.value(), values[7]);
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
  const record = recordsWith(fields)(parsed.values[3]!);
  assert.ok(record instanceof JsonText);
  assert.deepEqual(JSON.parse(textOf(record)), { ...page.values[3], ...fields });
  const plain = recordsWith()(parsed.values[4]!);
  assert.ok(plain instanceof JsonText);
  assert.equal(textOf(plain), JSON.stringify(page.values[4]));
});

test("a record falls back to an object when the text would not do", () => {
  const fields = { repository_uuid: "{r}" };
  // Not from a page.
  assert.deepEqual(recordsWith(fields)({ a: 1 }), { a: 1, ...fields });
  // Line breaks between tokens would split the output line.
  const pretty = parse(JSON.stringify(trickyPage(), null, 1), 65_536) as { values: Record<string, unknown>[] };
  assert.deepEqual(recordsWith(fields)(pretty.values[0]!), { ...pretty.values[0], ...fields });
  // The API already has a field of that name: ours wins, without a duplicate key.
  const clash = parse(
    JSON.stringify({ values: Array.from({ length: 2000 }, () => ({ repository_uuid: "api", pad: "x".repeat(100) })) }),
    65_536,
  ) as { values: Record<string, unknown>[] };
  assert.deepEqual(recordsWith(fields)(clash.values[0]!), { repository_uuid: "{r}", pad: "x".repeat(100) });
});

test("bytes that are not UTF-8 are read as JSON.parse reads the decoded text", () => {
  const text = JSON.stringify(trickyPage());
  const at = text.indexOf("quote");
  const bytes = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff, 0xc3]), Buffer.from(text.slice(at))]);
  for (const size of [7, 4096]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    const body = parseJsonBody(chunks) as { values: unknown };
    assert.deepEqual(body, JSON.parse(bytes.toString("utf8")));
  }
});
