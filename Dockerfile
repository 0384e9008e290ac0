# One image for every Vigía service (connectors, stream worker, alert dispatcher).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
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
