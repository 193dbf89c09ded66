# shadowgate in a container: `shadowgate run` (the default) or `shadowgate dashboard` (see
# docker-compose.yml). Build: docker build -t shadowgate .
# The image holds exactly what the npm package ships (package.json "files"), with production
# dependencies only; test/container.test.ts runs the same entrypoint and commands directly.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# no scripts: `prepare` would build before the sources are here
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# npm pack runs `prepare` (the TypeScript build) and keeps only the shipped files
RUN npm pack --silent --pack-destination /tmp && mkdir /pkg && tar -xzf /tmp/shadowgate-*.tgz -C /pkg --strip-components=1

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /pkg/ ./
COPY --from=build /src/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# the image's own user (uid 1000, from node:20-slim), never root
USER node
EXPOSE 8080
# the pipeline's processes recorded progress in the last 30 s (`shadowgate health`); the dashboard
# service checks /healthz instead (docker-compose.yml)
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 CMD ["node", "dist/cli/main.js", "health"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["run"]
