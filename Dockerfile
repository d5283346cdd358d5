FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The dependencies first, in a layer of their own: read from pyproject.toml alone, so a change to the
# code (or to the README) does not reinstall them. Only a change to pyproject.toml does.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the code: installed without its dependencies (they are above), a matter of seconds.
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY dialogs ./dialogs
COPY db ./db
RUN pip install --no-deps . && rm -rf build *.egg-info

COPY content ./content
COPY alembic.ini ./

# An unprivileged user of its own; it may write only in /app/data.
RUN useradd --system --uid 10001 --home /app bot && mkdir -p /app/data && chown bot /app/data
USER bot
VOLUME ["/app/data"]
EXPOSE 8080
# Healthy while the database answers (python -m bot healthcheck exits 0, else 1).
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "healthcheck"]
# SIGTERM lets in-flight updates finish; python -m bot exits 0 after a clean shutdown.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
