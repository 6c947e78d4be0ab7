# The server image: one image for every process kind (serve, worker, scheduler, seed, all).
#   docker build -t learnhome-server .
#   docker run --rm -p 8080:8080 learnhome-server all      # everything, embedded stores (a demo)
# compose.yaml runs the real thing: MongoDB replica set, Redis, two servers behind nginx, a worker
# and a scheduler. Every dependency installs from wheels: no compiler in the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/var

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY config/ config/
COPY handlers/ handlers/
COPY models/ models/
COPY server/ server/
COPY static/ static/
COPY workers/ workers/
COPY run.py ./

RUN mkdir -p /app/var && chown app:app /app/var
USER 10001:10001

EXPOSE 8080
# /health answers as soon as the process serves HTTP (worker and scheduler: see compose.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/health\", timeout=2)"]

ENTRYPOINT ["python", "run.py"]
CMD ["serve"]
