# syntax=docker/dockerfile:1
# Stage 1: build wheels for the bot and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Stage 2: a small runtime with only the wheels, running as an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 stembot && mkdir /data && chown stembot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
ENV DATABASE_PATH=/data/stembot.sqlite3 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8080
USER stembot
WORKDIR /home/stembot
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
# Secrets come from the environment at run time (docker run --env-file .env), never from a layer.
ENTRYPOINT ["stembot"]
CMD ["run"]
