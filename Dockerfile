# The hotline worker image: `hotline worker` with the schemas and default config.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /opt/hotline
COPY pyproject.toml README.md ./
COPY services ./services
COPY schemas ./schemas
COPY config ./config
COPY data ./data
RUN pip install --no-cache-dir -e . && useradd --system --home /var/lib/hotline hotline \
    && mkdir -p /var/lib/hotline && chown hotline /var/lib/hotline
USER hotline
ENV HOTLINE_DATA_DIR=/var/lib/hotline HOTLINE_WEB_HOST=0.0.0.0
EXPOSE 6066
ENTRYPOINT ["hotline"]
CMD ["worker", "-l", "warn"]
