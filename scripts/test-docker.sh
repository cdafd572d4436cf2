#!/usr/bin/env bash
# Builds the connector image and runs spec, check, discover and read through it against the
# bundled Bitbucket simulator, the way the README's `docker run -v` example does (a folder mounted
# read-only at /data holding config.json, catalog.json and state.json), and checks the output:
#   - the image's labels and AIRBYTE_ENTRYPOINT match package.json / metadata.yaml;
#   - spec: exactly one SPEC, equal to spec.json;
#   - check: one CONNECTION_STATUS SUCCEEDED (and FAILED for integration_tests/invalid_config.json);
#   - discover: one CATALOG with the 6 streams;
#   - read (integration_tests/configured_catalog.json): exit 0, RECORDs for pipelines, STATEs, no
#     TRACE ERROR, every stream COMPLETE;
#   - read --state integration_tests/abnormal_state.json: exit 0, no RECORD of an incremental
#     stream, a STATE for each.
#
#   bash scripts/test-docker.sh            (npm run test:docker)
#
# Engine: `docker` when a working engine answers `docker info`; otherwise the stand-in
# ../shared/tools/docker (podman), after ../shared/tools/container-base when its base image
# node:20-bookworm-slim is missing. The simulator listens on the host's 127.0.0.1, so containers
# use the host network (the stand-in always does; with Docker this script adds --network host,
# which needs a Linux engine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/../shared/tools"
IMAGE=${IMAGE:-airbyte/source-bitbucket-pipelines:dev}
BASE_IMAGE=docker.io/library/node:20-bookworm-slim
RUN_TIMEOUT=${RUN_TIMEOUT:-180}
cd "$ROOT"

say() { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# ---- engine -------------------------------------------------------------------------------------
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  DOCKER=(docker)
  NETWORK=(--network host)
  say "engine: docker ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
else
  [ -x "$TOOLS/docker" ] || fail "no working Docker engine, and no stand-in at $TOOLS/docker"
  if ! { command -v podman >/dev/null 2>&1 && podman image exists "$BASE_IMAGE"; }; then
    say "engine: preparing the stand-in base image ($TOOLS/container-base, about two minutes)"
    "$TOOLS/container-base"
  fi
  DOCKER=("$TOOLS/docker")
  NETWORK=()
  say "engine: $TOOLS/docker (podman $(podman version --format '{{.Client.Version}}' 2>/dev/null || echo '?'), host network)"
fi

# ---- scratch folder and simulator (both removed on exit) ------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bbp-docker.XXXXXX")
DATA="$WORK/data"
mkdir -p "$DATA"
SIM_PID=""
CONTAINERS=()
cleanup() {
  # A container whose client was cut off by `timeout` may outlive it: remove those this run named.
  for c in ${CONTAINERS[@]+"${CONTAINERS[@]}"}; do "${DOCKER[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
  if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
node --import tsx test/simulator/cli.ts --port "$PORT" >"$WORK/simulator.out" 2>"$WORK/simulator.err" &
SIM_PID=$!
for _ in $(seq 1 100); do
  grep -q "api_url=" "$WORK/simulator.err" 2>/dev/null && break
  kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator exited: $(cat "$WORK/simulator.err")"
  sleep 0.1
done
grep -q "api_url=" "$WORK/simulator.err" || fail "the simulator did not start within 10 s"
API_URL="http://127.0.0.1:$PORT/2.0"
say "simulator: $API_URL (pid $SIM_PID)"

# The README's layout: one folder, mounted read-only at /data, readable by the image's uid 1000.
printf '{"workspace": "acme", "credentials": {"auth_type": "bearer", "token": "sim-token"}, "api_url": "%s"}\n' "$API_URL" >"$DATA/config.json"
printf '{"workspace": "acme", "credentials": {"auth_type": "bearer", "token": "not-a-valid-token"}, "api_url": "%s"}\n' "$API_URL" >"$DATA/invalid_config.json"
cp integration_tests/configured_catalog.json "$DATA/catalog.json"
cp integration_tests/abnormal_state.json "$DATA/state.json"
chmod 755 "$DATA"
chmod 644 "$DATA"/*

# ---- build and inspect ----------------------------------------------------------------------------
say "build: $IMAGE"
"${DOCKER[@]}" build -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; fail "docker build failed"; }
"${DOCKER[@]}" image inspect --format '{{json .Config}}' "$IMAGE" >"$WORK/image-config.json" || fail "cannot inspect $IMAGE"
node - "$WORK/image-config.json" <<'JS' || fail "image labels / AIRBYTE_ENTRYPOINT"
const fs = require("node:fs");
const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const version = JSON.parse(fs.readFileSync("package.json", "utf8")).version;
const metadata = fs.readFileSync("metadata.yaml", "utf8");
const repository = /^\s*dockerRepository:\s*"?([^"\s#]+)"?/m.exec(metadata)?.[1];
const tag = /^\s*dockerImageTag:\s*"?([^"\s#]+)"?/m.exec(metadata)?.[1];
const labels = config.Labels ?? {};
const env = Object.fromEntries((config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const problems = [];
if (labels["io.airbyte.name"] !== repository) problems.push(`label io.airbyte.name ${labels["io.airbyte.name"]} != metadata dockerRepository ${repository}`);
if (labels["io.airbyte.version"] !== tag || tag !== version) problems.push(`label io.airbyte.version ${labels["io.airbyte.version"]}, metadata dockerImageTag ${tag}, package.json ${version}`);
if (!env.AIRBYTE_ENTRYPOINT || env.AIRBYTE_ENTRYPOINT !== (config.Entrypoint ?? []).join(" ")) problems.push(`AIRBYTE_ENTRYPOINT ${env.AIRBYTE_ENTRYPOINT} != ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
if (!config.User || ["root", "0"].includes(String(config.User).split(":")[0])) problems.push(`runs as ${config.User || "root"}`);
if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
console.log(`image: io.airbyte.name=${repository} io.airbyte.version=${tag} AIRBYTE_ENTRYPOINT="${env.AIRBYTE_ENTRYPOINT}" USER=${config.User}`);
JS

# ---- run ------------------------------------------------------------------------------------------
# run NAME ARGS...: runs the image with the data folder mounted; stdout to $WORK/NAME.jsonl, stderr
# to $WORK/NAME.err; sets RC.
run() {
  local name=$1; shift
  local container="bbp-test-docker-$$-$name"
  CONTAINERS+=("$container")
  RC=0
  timeout "$RUN_TIMEOUT" "${DOCKER[@]}" run --rm --name "$container" ${NETWORK[@]+"${NETWORK[@]}"} -v "$DATA:/data:ro" "$IMAGE" "$@" \
    >"$WORK/$name.jsonl" 2>"$WORK/$name.err" || RC=$?
}

# expect NAME EXIT_CODE CHECK: parses $WORK/NAME.jsonl (every line must be a JSON object with a
# "type") and runs the JavaScript CHECK with `m` (the messages) and `of(type)`; CHECK returns a
# summary string or throws.
expect() {
  local name=$1 code=$2 check=$3
  if [ "$RC" != "$code" ]; then
    tail -n 20 "$WORK/$name.err" >&2
    fail "$name exited $RC, expected $code"
  fi
  node - "$WORK/$name.jsonl" "$check" <<'JS' || { tail -n 20 "$WORK/$name.err" >&2; fail "$name output"; }
const fs = require("node:fs");
const [file, check] = process.argv.slice(2);
const m = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l, i) => {
  let msg;
  try { msg = JSON.parse(l); } catch { throw new Error(`stdout line ${i + 1} is not JSON: ${l.slice(0, 120)}`); }
  if (typeof msg !== "object" || msg === null || typeof msg.type !== "string") throw new Error(`stdout line ${i + 1} is not a protocol message`);
  return msg;
});
const of = (type) => m.filter((x) => x.type === type);
const assert = (ok, what) => { if (!ok) throw new Error(what); };
console.log(new Function("m", "of", "assert", check)(m, of, assert));
JS
}

run spec spec
expect spec 0 '
  assert(m.length === 1 && of("SPEC").length === 1, `expected one SPEC message, got ${m.map((x) => x.type).join(",")}`);
  const spec = JSON.parse(require("node:fs").readFileSync("spec.json", "utf8"));
  assert(JSON.stringify(of("SPEC")[0].spec) === JSON.stringify(spec), "SPEC differs from spec.json");
  return "spec: one SPEC, equal to spec.json";'

run check check --config /data/config.json
expect check 0 '
  const s = of("CONNECTION_STATUS");
  assert(s.length === 1, `expected one CONNECTION_STATUS, got ${s.length}`);
  assert(s[0].connectionStatus.status === "SUCCEEDED", `check: ${JSON.stringify(s[0].connectionStatus)}`);
  return `check: SUCCEEDED (${s[0].connectionStatus.message})`;'

run check-invalid check --config /data/invalid_config.json
expect check-invalid 0 '
  const s = of("CONNECTION_STATUS");
  assert(s.length === 1 && s[0].connectionStatus.status === "FAILED", `invalid config: ${JSON.stringify(s)}`);
  assert(!JSON.stringify(m).includes("not-a-valid-token"), "the token appears in the output");
  return `check (invalid token): FAILED (${s[0].connectionStatus.message.split(":")[0]})`;'

run discover discover --config /data/config.json
expect discover 0 '
  const c = of("CATALOG");
  assert(m.length === 1 && c.length === 1, `expected one CATALOG message, got ${m.map((x) => x.type).join(",")}`);
  const names = c[0].catalog.streams.map((s) => s.name);
  assert(names.length === 6 && new Set(names).size === 6, `expected 6 streams, got ${names.join(",")}`);
  return `discover: CATALOG with ${names.length} streams (${names.join(", ")})`;'

run read read --config /data/config.json --catalog /data/catalog.json
expect read 0 '
  const records = of("RECORD");
  const count = (s) => records.filter((r) => r.record.stream === s).length;
  assert(count("pipelines") > 0, "no RECORD for pipelines");
  assert(of("STATE").length > 0, "no STATE");
  const errors = of("TRACE").filter((t) => t.trace.type === "ERROR");
  assert(errors.length === 0, `TRACE ERROR: ${errors.map((e) => e.trace.error.message).join("; ")}`);
  const streams = ["repositories", "pipelines", "pipeline_steps", "environments", "deployments", "deployment_commits"];
  for (const s of streams) {
    const statuses = of("TRACE").filter((t) => t.trace.type === "STREAM_STATUS" && t.trace.stream_status.stream_descriptor.name === s).map((t) => t.trace.stream_status.status);
    assert(statuses.at(-1) === "COMPLETE", `${s} ended ${statuses.at(-1)}`);
  }
  return `read: exit 0, ${records.length} RECORDs (${streams.map((s) => `${s} ${count(s)}`).join(", ")}), ${of("STATE").length} STATEs, every stream COMPLETE`;'

run read-future read --config /data/config.json --catalog /data/catalog.json --state /data/state.json
expect read-future 0 '
  const incremental = ["repositories", "pipelines", "pipeline_steps", "deployments", "deployment_commits"];
  const records = of("RECORD").filter((r) => incremental.includes(r.record.stream));
  assert(records.length === 0, `${records.length} RECORDs of incremental streams despite a future cursor`);
  const stated = new Set(of("STATE").map((s) => s.state.stream.stream_descriptor.name));
  for (const s of incremental) assert(stated.has(s), `no STATE for ${s}`);
  return `read --state (cursors in 2999): exit 0, no RECORD of ${incremental.join(", ")}, a STATE for each`;'

say "OK: $IMAGE passed spec, check, discover and read against the simulator"
