// The only code that touches stdout: one JSON object per line. Lines are batched into chunks of
// about 64 KB of bytes (one write call each instead of one per record; a record's bytes from the
// API are copied in as they are); anything but a RECORD, and any line left waiting for 100 ms,
// flushes the batch. When the consumer is slow, a write waits for 'drain', so the sync pauses
// instead of filling memory. A consumer that goes away (EPIPE) ends the output quietly; the
// caller gets OutputClosedError and stops reading.
import { setMaxListeners } from "node:events";
import type { Writable } from "node:stream";
import { ConnectorError } from "../errors.js";
import { type AirbyteMessage, JsonText, type RecordData } from "./messages.js";

export interface MessageWriter {
  write(message: AirbyteMessage): Promise<void>;
  /** RECORD messages of one stream with one emitted_at: the same as write() of each, at less cost. */
  writeRecords(stream: string, records: readonly RecordData[], emittedAt: number): Promise<void>;
  /** Writes out what is batched, waiting for the consumer if it is slow. */
  flush(): Promise<void>;
  readonly closed: boolean;
  /** Aborted when the consumer goes away, so waits and requests stop too. */
  readonly closedSignal: AbortSignal;
}

export class OutputClosedError extends Error {
  constructor() {
    super("the consumer of stdout went away");
  }
}

const BATCH_BYTES = 64 * 1024;
/** Room for a full batch and the line that fills it, under malloc's 128 KB threshold for fresh pages. */
const BATCH_BUFFER_BYTES = 96 * 1024;
const BATCH_MAX_AGE_MS = 100;

/**
 * Lines waiting to be written, as UTF-8 bytes. Its buffers are reused once written: a new 96 KB
 * buffer per batch is memory outside the heap that V8 counts towards its next full GC, and made
 * those several times more frequent.
 */
class Batch {
  length = 0;
  private buffer: Buffer = Buffer.allocUnsafe(BATCH_BUFFER_BYTES);
  private readonly spare: Buffer[] = [];

  add(piece: string | Uint8Array): void {
    const isText = typeof piece === "string";
    // A UTF-16 unit takes at most 3 bytes: measure exactly only when that might not fit.
    if (this.length + (isText ? piece.length * 3 : piece.length) > this.buffer.length) {
      this.reserve(isText ? Buffer.byteLength(piece) : piece.length);
    }
    if (isText) {
      this.length += this.buffer.write(piece, this.length);
    } else {
      this.buffer.set(piece, this.length);
      this.length += piece.length;
    }
  }

  /** The bytes so far; the batch starts again in another buffer, as the stream holds this one until written. */
  take(): Buffer {
    const bytes = this.buffer.subarray(0, this.length);
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafe(BATCH_BUFFER_BYTES);
    this.length = 0;
    return bytes;
  }

  /** Hands back what take() returned, once the stream is done with it. */
  reuse(bytes: Buffer): void {
    if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== BATCH_BUFFER_BYTES || this.spare.length >= 2) return;
    this.spare.push(Buffer.from(bytes.buffer, 0, BATCH_BUFFER_BYTES));
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.length + bytes, 2 * this.buffer.length));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }
}

/** `redact` masks secrets in a batch of lines (redact.ts). */
export function createWriter(out: Writable, redact: (bytes: Buffer) => Buffer = (b) => b): MessageWriter {
  let closed = false;
  const batch = new Batch();
  let timer: NodeJS.Timeout | undefined;
  const consumerGone = new AbortController();
  // Every request and wait in flight listens to it (up to 16 repositories at once): not a leak.
  setMaxListeners(256, consumerGone.signal);
  out.on("error", () => {
    closed = true;
    consumerGone.abort(new OutputClosedError());
  });

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed) throw new OutputClosedError();
    if (batch.length === 0) return;
    const bytes = batch.take();
    if (!out.write(redact(bytes), () => batch.reuse(bytes))) {
      await drainOrClose(out);
      if (closed || out.destroyed) {
        closed = true;
        consumerGone.abort(new OutputClosedError());
        throw new OutputClosedError();
      }
    }
  }

  async function writeRecords(stream: string, records: readonly RecordData[], emittedAt: number): Promise<void> {
    if (closed) throw new OutputClosedError();
    const start = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`;
    const end = `,"emitted_at":${emittedAt}}}\n`;
    for (const data of records) {
      // Serialised before the line starts: a record that cannot be must not leave half a line.
      const parts = data instanceof JsonText ? data.parts : [stringifyRecord(stream, data)];
      batch.add(start);
      for (const part of parts) batch.add(part);
      batch.add(end);
      if (batch.length >= BATCH_BYTES) await flush();
    }
    if (batch.length > 0) timer ??= setTimeout(() => void flush().catch(() => undefined), BATCH_MAX_AGE_MS).unref();
  }

  return {
    get closed() {
      return closed;
    },
    closedSignal: consumerGone.signal,
    flush,
    async write(message) {
      if (message.type === "RECORD") return writeRecords(message.record.stream, [message.record.data], message.record.emitted_at);
      if (closed) throw new OutputClosedError();
      serialise(message, batch);
      return flush();
    },
    writeRecords,
  };
}

function stringifyRecord(stream: string, data: unknown): string {
  try {
    return JSON.stringify(data);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ConnectorError(
      `A record of stream ${stream} from the API is nested too deeply to write as JSON; the stream stops before it.`,
      "system_error",
      "server_error",
    );
  }
}

/** Adds the line of a message other than a RECORD to the batch. */
function serialise(message: AirbyteMessage, batch: Batch): void {
  if (message.type === "STATE" && message.state.stream.stream_state instanceof JsonText) {
    const { stream, sourceStats } = message.state;
    batch.add(
      `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":${JSON.stringify(stream.stream_descriptor)},"stream_state":`,
    );
    for (const part of message.state.stream.stream_state.parts) batch.add(part);
    batch.add(`},"sourceStats":${JSON.stringify(sourceStats)}}}\n`);
  } else {
    batch.add(`${JSON.stringify(message)}\n`);
  }
}

function drainOrClose(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off("drain", done);
      out.off("close", done);
      out.off("error", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    out.on("error", done);
  });
}
