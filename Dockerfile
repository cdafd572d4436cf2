# Airbyte source connector: source-bitbucket-pipelines
#
#   docker build -t airbyte/source-bitbucket-pipelines:0.1.0 .
#   docker run --rm airbyte/source-bitbucket-pipelines:0.1.0 spec
#   docker run --rm -v "$PWD/secrets:/data:ro" airbyte/source-bitbucket-pipelines:0.1.0 \
#     discover --config /data/config.json

# ---- build: full install (incl. typescript) and compile src/ -> dist/ ----------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: tsc needs no install scripts (esbuild's postinstall, pulled in by tsx, is for tests).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only (none has install scripts); npm's cache stays here ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Everything stays owned by root (read-only for the runtime user); the CLI only reads these.
COPY package.json spec.json ./
COPY schemas ./schemas
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

LABEL io.airbyte.name="airbyte/source-bitbucket-pipelines" \
      io.airbyte.version="0.1.0"

USER node
# V8 flags for a process that streams hundreds of MB through a live heap of about 20 MB (figures:
# README, Performance): undici's WebAssembly HTTP parser stays on its baseline compiler (optimising
# it costs compiler memory, not time here), the young generation stops at 8 MB, and the old one
# grows 20% past what survived its last full GC instead of up to 4x. Without them, peak RSS is
# higher and grows with the size of the workspace. Given here, at start-up, because V8 reads them
# there.
ENV AIRBYTE_ENTRYPOINT="node --liftoff-only --max-semi-space-size=4 --heap-growing-percent=20 /app/dist/main.js"
ENTRYPOINT ["node", "--liftoff-only", "--max-semi-space-size=4", "--heap-growing-percent=20", "/app/dist/main.js"]
