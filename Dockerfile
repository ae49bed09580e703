# mlmodel-emulator: migrates its database, then serves the API on port 8585.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The service runs unprivileged; /data holds the SQLite file and the JWT signing key.
RUN useradd --system --user-group --uid 10001 --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown app:app /data

WORKDIR /app

# Dependencies get a layer keyed on pyproject.toml alone, so code edits reuse it. The stub
# package and README (pyproject names it as the long description) let pip build now.
COPY pyproject.toml ./
RUN mkdir -p src/mlmodel_emulator \
    && touch src/mlmodel_emulator/__init__.py README.md \
    && pip install -e .

# Editable on purpose: `mlmodel-emulator migrate` looks for alembic.ini and migrations/ two
# levels above the package, which is /app here and nothing inside site-packages.
COPY alembic.ini ./
COPY migrations/ migrations/
COPY src/ src/
RUN pip install --no-deps -e .

ENV MLMODEL_EMULATOR_DATA_DIR=/data
# Declared after the chown above, so a fresh named volume starts out owned by app.
VOLUME /data

USER app
EXPOSE 8585

# Readiness: healthy only while the database answers and its schema is migrated (a 503
# makes urlopen raise, so the command fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8585/api/v1/system/ready', timeout=4)"]

# Migrate every start (serve alone migrates only SQLite), then exec so that uvicorn replaces
# the shell as PID 1 and receives the SIGTERM of `docker stop` for a graceful shutdown.
CMD ["sh", "-c", "mlmodel-emulator migrate && exec mlmodel-emulator serve --host 0.0.0.0 --port 8585"]
