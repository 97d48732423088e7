# HgWatch dashboard. Build: docker build -t hgwatch .   Run alone (embedded GeoPackage demo):
#   docker run -p 127.0.0.1:8501:8501 hgwatch
# With PostGIS for a shared server: docker compose up (docker-compose.yml beside this file).
# The wheels of pyogrio, rasterio and pyproj carry GDAL and PROJ, so no system GIS packages are
# needed; npm fetches the pinned protomaps-leaflet/pmtiles/pbf files (vector tiles) at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt pyproject.toml ./
RUN pip install -r requirements.txt

COPY . .
# HgWatch's own modules compiled once here: PYTHONDONTWRITEBYTECODE would otherwise have every command
# compile them again (about 0.1-0.2 s of each start)
RUN pip install --no-deps -e . && python scripts/install_assets.py --require-npm \
    && python -m compileall -q cli.py app.py served_app.py api commands geo layers render services settings ui \
    && useradd --system --home /app hgwatch && chown -R hgwatch /app/data
USER hgwatch

EXPOSE 8501 8502
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
# The app serves on every address only once an account exists (cli.py users add ...).
# The dashboard on 8501 and the partner API (OGC API - Features, API keys only) on 8502; either stopping stops both.
CMD ["python", "cli.py", "serve", "--address", "0.0.0.0", "--port", "8501", "--api-port", "8502"]
