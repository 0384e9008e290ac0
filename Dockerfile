# One image for every Vigía service (connectors, stream worker, alert dispatcher).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Cairo for cairosvg: alert e-mails carry their charts as PNG (without it they fall back to SVG)
RUN apt-get update && apt-get install -y --no-install-recommends libcairo2 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY vigia ./vigia
COPY streams ./streams
COPY connectors ./connectors
COPY alerts ./alerts
RUN pip install .
COPY deploy ./deploy
COPY data ./data
RUN useradd --create-home vigia && mkdir -p /app/var && chown vigia /app/var
USER vigia
ENTRYPOINT ["vigia"]
CMD ["--help"]
