# netstackd image. Build: docker build -t netstackd .
# Run:   docker run -p 8470:8470 -p 4789:4789/udp netstackd
# The service runs from its TypeScript sources through tsx (a runtime
# dependency: `npm start` is `node --import tsx src/main.ts`), so there is no
# separate compile step; CI type-checks with `npm run typecheck`.

# --- stage 1: dependencies ----------------------------------------------------
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# All dependencies from the lock file, then drop the dev ones (typescript,
# @types, test tools): tsx, fastify, zod, prom-client... stay.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- stage 2: production ------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app

# Code and dependencies stay owned by root: the service only reads them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin/ ./bin/
COPY src/ ./src/

# State (devices, sysctls) is saved here on SIGTERM; a named volume mounted on
# it takes this ownership the first time.
RUN mkdir -p /var/lib/netstackd /etc/netstackd \
 && chown node:node /var/lib/netstackd
VOLUME ["/var/lib/netstackd"]

USER node

# 8470: HTTP API, WebSocket streams and /metrics; 4789/udp: VXLAN underlay.
EXPOSE 8470 4789/udp

# The slim image has no curl; Node 20 has a global fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8470/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["--listen", "0.0.0.0:8470", "--state", "/var/lib/netstackd/state.json"]
