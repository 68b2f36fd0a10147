# Production image: migrations run at start, then uvicorn serves the app.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app

RUN useradd --create-home --uid 10001 app && chown -R app /app
USER app

# One process fills one core: raise WEB_CONCURRENCY to the cores you have (all workers sign with
# SECRET_KEY, or outside production with the one key kept in /app/.secret_key). Extraction stays exactly-once across workers (see README).
# Keep-alive above common load-balancer idle timeouts (60 s), so a reused connection is never cut.
ENV PORT=8000 WEB_CONCURRENCY=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
CMD ["sh", "-c", "alembic upgrade head && exec uvicorn app.main:app --host 0.0.0.0 --port ${PORT} --workers ${WEB_CONCURRENCY} --timeout-keep-alive 75 --proxy-headers"]
