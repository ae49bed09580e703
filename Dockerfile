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

# The package is built and installed here, then this directory goes: the service runs from
# site-packages, migrations included, as any non-editable install does.
WORKDIR /build

# Dependencies get a layer keyed on pyproject.toml alone, so code edits reuse it: the
# requirements are read out of it, and nothing of the package is installed yet.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')" > requirements.txt \
    && pip install -r requirements.txt

COPY README.md ./
COPY src/ src/
RUN pip install --no-deps . \
    && rm -rf "$PWD"

WORKDIR /data
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
