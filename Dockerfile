# The pages' stylesheet (GOV.UK Frontend, compiled with Dart Sass), as scripts/setup builds it.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
COPY assets ./assets
RUN node_modules/.bin/sass --no-source-map --style=compressed --load-path=node_modules \
    assets/service.scss service.css

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
COPY config ./config
COPY templates ./templates
COPY --from=assets /build/service.css /app/var/assets/service.css
RUN pip install --no-cache-dir -e . && useradd --create-home reminders \
    && mkdir -p /app/var/feeds && chown -R reminders /app/var
USER reminders
EXPOSE 8000
