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
# Exactly the locked packages, every file checked against its hash (as scripts/setup main),
# then the project itself on top, with nothing more fetched.
COPY requirements/main.txt ./requirements/main.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
COPY config ./config
COPY templates ./templates
COPY examples ./examples
COPY --from=assets /build/service.css /app/var/assets/service.css
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && useradd --create-home reminders \
    && mkdir -p /app/var/feeds /app/var/imports && chown -R reminders /app/var
USER reminders
EXPOSE 8000
