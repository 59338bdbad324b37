# Waypoint API image: slim, non-root, no build tools at run time.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc make \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY artifacts ./artifacts
COPY intent ./intent
COPY context ./context
COPY recommender ./recommender
COPY experiments ./experiments
COPY service ./service
COPY app ./app
COPY demo ./demo
COPY evaluation ./evaluation
COPY waypoint ./waypoint
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 waypoint
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER waypoint
WORKDIR /home/waypoint
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["waypoint"]
# No key is baked in: on 0.0.0.0 the server refuses to start without WAYPOINT_API_KEYS.
# The demo is an opt-in (WAYPOINT_DEMO=true): it then needs WAYPOINT_DEMO_KEY, or generates a
# random key and prints it once.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
