# netstackd image. Build: docker build -t netstackd .
# Run:   docker run -p 8470:8470 -p 4789:4789/udp netstackd
# The service runs from dist/, the JavaScript that `npm ci` compiles from src/
# through the package's `prepare` script (bin/netstackd.js loads it).

# --- stage 1: dependencies ----------------------------------------------------
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
# All dependencies from the lock file (`prepare` compiles src/ to dist/ with
# typescript), then drop the dev ones (typescript, @types, test tools).
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
COPY --from=deps /app/dist ./dist/
COPY bin/ ./bin/

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

ENTRYPOINT ["node", "bin/netstackd.js"]
CMD ["--listen", "0.0.0.0:8470", "--state", "/var/lib/netstackd/state.json"]
