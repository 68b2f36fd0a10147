# Production image: migrations run at start, then uvicorn serves the app.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The lock file: exact versions, each download checked against its hash.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app

RUN useradd --create-home --uid 10001 app && chown -R app /app
USER app

# One process fills one core: raise WEB_CONCURRENCY to the cores you have (all workers sign with
# SECRET_KEY, or outside production with the one key kept in /app/.secret_key). Extraction stays exactly-once across workers (see README).
ENV PORT=8000 WEB_CONCURRENCY=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
# app.serve runs uvicorn with WEB_CONCURRENCY workers, keep-alive 75 s, and caps connections (MAX_CONNECTIONS),
# header size (MAX_REQUEST_HEADER_BYTES) and request read time (REQUEST_READ_TIMEOUT_SECONDS) per worker.
# X-Forwarded-* are trusted from FORWARDED_ALLOW_IPS only (set it to the proxy's address).
CMD ["sh", "-c", "alembic upgrade head && exec python -m app.serve --host 0.0.0.0 --port ${PORT}"]
