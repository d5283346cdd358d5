FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY dialogs ./dialogs
COPY db ./db
RUN pip install .

COPY content ./content
COPY alembic.ini ./

RUN useradd --system --home /app bot && mkdir -p /app/data && chown bot /app/data
USER bot
VOLUME ["/app/data"]
EXPOSE 8080
# SIGTERM lets in-flight updates finish; python -m bot exits 0 after a clean shutdown.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
