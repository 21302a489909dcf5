FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY tasks ./tasks
COPY config ./config
COPY templates ./templates
RUN pip install --no-cache-dir -e . && useradd --create-home reminders \
    && mkdir -p /app/var/feeds && chown -R reminders /app/var
USER reminders
EXPOSE 8000
