// Checks what the connector prints against the Airbyte protocol (the official schema, copied
// from ../shared/reference, plus the rules it leaves out: type ↔ payload, for messages, traces
// and states) and scans the output for secrets.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const protocol = JSON.parse(readFileSync(new URL("./airbyte-protocol.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(protocol, "airbyte");

const tied = (pairs: string[][]) =>
  pairs.map(([t, f]) => ({ type: "object", properties: { type: { const: t } }, required: ["type", f] }));

const validateMessage = ajv.compile({
  allOf: [
    { $ref: "airbyte#/definitions/AirbyteMessage" },
    {
      oneOf: tied([
        ["RECORD", "record"],
        ["STATE", "state"],
        ["LOG", "log"],
        ["SPEC", "spec"],
        ["CONNECTION_STATUS", "connectionStatus"],
        ["CATALOG", "catalog"],
        ["TRACE", "trace"],
      ]),
    },
    {
      if: { properties: { type: { const: "TRACE" } } },
      then: {
        properties: {
          trace: {
            oneOf: tied([
              ["ERROR", "error"],
              ["ESTIMATE", "estimate"],
              ["STREAM_STATUS", "stream_status"],
            ]),
          },
        },
      },
    },
    {
      // This source writes per-stream state only, always with sourceStats.recordCount.
      if: { properties: { type: { const: "STATE" } } },
      then: {
        properties: {
          state: {
            type: "object",
            required: ["type", "stream", "sourceStats"],
            properties: {
              type: { const: "STREAM" },
              stream: { required: ["stream_descriptor", "stream_state"], properties: { stream_state: { type: "object" } } },
              sourceStats: { required: ["recordCount"] },
            },
          },
        },
      },
    },
  ],
});

export type Message = Record<string, any>;

/** Asserts every message is a valid Airbyte message of a type a source may emit. */
export function assertValidMessages(messages: Message[]): void {
  for (const message of messages) {
    if (!validateMessage(message)) {
      assert.fail(`invalid protocol message ${JSON.stringify(message).slice(0, 300)}: ${ajv.errorsText(validateMessage.errors)}`);
    }
  }
}

export function assertNoSecrets(output: string, secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!output.includes(secret), `a secret (${secret.slice(0, 3)}…) appears in the output`);
  }
}

export const ofType = (messages: Message[], type: string): Message[] => messages.filter((m) => m.type === type);
export const records = (messages: Message[], stream?: string): Message[] =>
  ofType(messages, "RECORD")
    .filter((m) => stream === undefined || m.record.stream === stream)
    .map((m) => m.record.data);
export const states = (messages: Message[], stream?: string): Message[] =>
  ofType(messages, "STATE").filter((m) => stream === undefined || m.state.stream.stream_descriptor.name === stream);
export const statuses = (messages: Message[], stream: string): string[] =>
  ofType(messages, "TRACE")
    .filter((m) => m.trace.type === "STREAM_STATUS" && m.trace.stream_status.stream_descriptor.name === stream)
    .map((m) => m.trace.stream_status.status);
export const errors = (messages: Message[]): Message[] =>
  ofType(messages, "TRACE")
    .filter((m) => m.trace.type === "ERROR")
    .map((m) => m.trace.error);

/** The platform's input-state form, built from the last STATE of each stream printed so far. */
export function stateFileFrom(messages: Message[]): Message[] {
  const last = new Map<string, Message>();
  for (const m of ofType(messages, "STATE")) last.set(m.state.stream.stream_descriptor.name, m.state);
  return [...last.values()];
}
