# syntax=docker/dockerfile:1
#
# One image for the three entry points of the application:
#   API (default)        node dist/main.js
#   standalone worker    node dist/worker.js
#   one-shot drain       node dist/cli.js drain [--queue NAME] [--max-duration-ms N] ...
#
# Build: docker build -t nest-cron-drain .

# Node.js 26 is the Active LTS line since October 2026.
FROM node:26-trixie-slim AS base
WORKDIR /app

# Compiles the TypeScript sources with the full dependency tree.
FROM base AS build
COPY package.json package-lock.json ./
# Install scripts are skipped: none is needed to build, and some packages'
# scripts would reach hosts other than the npm registry.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Installs the production dependencies only. npm keeps TypeScript, an
# optional peer of @nestjs/swagger that is also a dev dependency here, although
# nothing loads it at run time; removing it saves about 24 MB.
FROM base AS production-dependencies
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
  && npm cache clean --force

FROM base AS runtime
ENV NODE_ENV=production
# The application files stay owned by root, so the process cannot change them.
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The node user of the base image, by number so that Kubernetes'
# runAsNonRoot can check it.
USER 1000:1000
EXPOSE 3000
# Liveness of the API: GET /api/v1/health sends no Redis command. The worker
# and the one-shot drain serve no HTTP; their containers turn this check off
# (docker run --no-healthcheck, or healthcheck: disable: true in Compose).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/v1/health').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
