// Airbyte protocol messages this source emits, and constructors that fill in the envelope.
// See ../shared/reference/airbyte-protocol.md §2.
import { ConnectorError } from "../errors.js";

export type FailureType = "config_error" | "system_error" | "transient_error";
export type StreamStatus = "STARTED" | "RUNNING" | "COMPLETE" | "INCOMPLETE";
export type LogLevel = "FATAL" | "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";
export type JsonObject = Record<string, unknown>;

export interface AirbyteStream {
  name: string;
  json_schema: JsonObject;
  supported_sync_modes: ("full_refresh" | "incremental")[];
  source_defined_cursor?: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key?: string[][];
  is_resumable?: boolean;
}

export type AirbyteMessage =
  | { type: "SPEC"; spec: JsonObject }
  | { type: "CONNECTION_STATUS"; connectionStatus: { status: "SUCCEEDED" | "FAILED"; message?: string } }
  | { type: "CATALOG"; catalog: { streams: AirbyteStream[] } }
  | { type: "RECORD"; record: { stream: string; data: JsonObject; emitted_at: number } }
  | {
      type: "STATE";
      state: {
        type: "STREAM";
        stream: { stream_descriptor: { name: string }; stream_state: JsonObject };
        sourceStats: { recordCount: number };
      };
    }
  | { type: "LOG"; log: { level: LogLevel; message: string } }
  | { type: "TRACE"; trace: TraceBody };

type TraceBody =
  | {
      type: "ERROR";
      emitted_at: number;
      error: {
        message: string;
        internal_message?: string;
        failure_type: FailureType;
        stream_descriptor?: { name: string };
      };
    }
  | {
      type: "STREAM_STATUS";
      emitted_at: number;
      stream_status: { stream_descriptor: { name: string }; status: StreamStatus };
    }
  | {
      type: "ESTIMATE";
      emitted_at: number;
      estimate: { name: string; type: "STREAM"; row_estimate: number };
    };

export const streamState = (name: string, state: JsonObject, recordCount: number): AirbyteMessage => ({
  type: "STATE",
  state: {
    type: "STREAM",
    stream: { stream_descriptor: { name }, stream_state: state },
    sourceStats: { recordCount },
  },
});

export const record = (stream: string, data: JsonObject, now: number): AirbyteMessage => ({
  type: "RECORD",
  record: { stream, data, emitted_at: now },
});

export const log = (level: LogLevel, message: string): AirbyteMessage => ({ type: "LOG", log: { level, message } });

export const streamStatus = (name: string, status: StreamStatus, now: number): AirbyteMessage => ({
  type: "TRACE",
  trace: { type: "STREAM_STATUS", emitted_at: now, stream_status: { stream_descriptor: { name }, status } },
});

export const traceError = (
  message: string,
  failureType: FailureType,
  now: number,
  stream?: string,
  internalMessage?: string,
): AirbyteMessage => ({
  type: "TRACE",
  trace: {
    type: "ERROR",
    emitted_at: now,
    error: {
      message,
      failure_type: failureType,
      ...(internalMessage ? { internal_message: internalMessage } : {}),
      ...(stream ? { stream_descriptor: { name: stream } } : {}),
    },
  },
});

/** What an error says to the user: a ConnectorError says what to do; anything else is a bug. */
export function errorText(error: unknown): string {
  return error instanceof ConnectorError ? error.message : `Unexpected error: ${(error as Error)?.message ?? String(error)}`;
}

/** The TRACE ERROR for any error; one that is not a ConnectorError is sent with its stack. */
export function traceOf(error: unknown, now: number, stream?: string): AirbyteMessage {
  const known = error instanceof ConnectorError;
  const said = errorText(error);
  return traceError(
    stream ? `Stream ${stream} failed: ${said}` : said,
    known ? error.failureType : "system_error",
    now,
    stream,
    known ? undefined : (error as Error)?.stack,
  );
}

export const estimate = (name: string, rows: number, now: number): AirbyteMessage => ({
  type: "TRACE",
  trace: { type: "ESTIMATE", emitted_at: now, estimate: { name, type: "STREAM", row_estimate: rows } },
});

export const connectionStatus = (ok: boolean, message?: string): AirbyteMessage => ({
  type: "CONNECTION_STATUS",
  connectionStatus: { status: ok ? "SUCCEEDED" : "FAILED", ...(message ? { message } : {}) },
});
