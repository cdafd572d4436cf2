import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { inOrder, type Producer } from "../../src/sync/in-order.js";

function producer(name: string, count: number, delayMs: number, log: string[], fail = false): Producer<string, string> {
  return async function* () {
    log.push(`start ${name}`);
    for (let i = 0; i < count; i++) {
      await sleep(delayMs);
      yield `${name}${i}`;
    }
    if (fail) throw new Error(`${name} failed`);
    return `${name} done`;
  };
}

test("items come out in producer order although producers run concurrently", async () => {
  const log: string[] = [];
  const producers = [producer("a", 3, 30, log), producer("b", 3, 1, log), producer("c", 2, 1, log)];
  const out: string[] = [];
  const started = Date.now();
  for await (const o of inOrder(producers, 3, 10)) out.push("item" in o ? o.item : `(${o.done})`);
  assert.deepEqual(out, ["a0", "a1", "a2", "(a done)", "b0", "b1", "b2", "(b done)", "c0", "c1", "(c done)"]);
  assert.deepEqual(log.slice(0, 3), ["start a", "start b", "start c"], "all three started before a finished");
  assert.ok(Date.now() - started < 400);
});

test("at most `concurrency` producers run, and a producer runs ahead by at most `buffer` items", async () => {
  const log: string[] = [];
  let produced = 0;
  const counting: Producer<number, void> = async function* () {
    for (let i = 0; i < 100; i++) {
      produced++;
      yield i;
    }
  };
  const producers = [
    counting,
    producer("x", 1, 1, log) as unknown as Producer<number, void>,
    producer("y", 1, 1, log) as unknown as Producer<number, void>,
  ];
  const iterator = inOrder(producers, 2, 5);
  await iterator.next();
  await sleep(50);
  assert.ok(produced <= 7, `produced ${produced} items ahead of the consumer`);
  assert.deepEqual(log, ["start x"], "the third producer waits for a free slot");
  await iterator.return(undefined);
});

test("a failure surfaces after the items before it, and stops the others", async () => {
  const log: string[] = [];
  const out: string[] = [];
  await assert.rejects(async () => {
    for await (const o of inOrder([producer("a", 2, 1, log), producer("b", 1, 1, log, true), producer("c", 50, 5, log)], 3, 2)) {
      if ("item" in o) out.push(o.item);
    }
  }, /b failed/);
  assert.deepEqual(out, ["a0", "a1", "b0"]);
});
