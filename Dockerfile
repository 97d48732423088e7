# HgWatch dashboard. Build: docker build -t hgwatch .   Run: docker run -p 8501:8501 hgwatch
# The wheels of pyogrio, rasterio and pyproj carry GDAL and PROJ, so no system GIS packages are needed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Leaflet and its plugins come from the pinned XStatic packages, copied into Streamlit's static folder.
RUN python scripts/install_assets.py

# A mounted workspace replaces the embedded demo: docker run -v /srv/hgwatch:/data -e HGWATCH_WORKSPACE=/data/ws.gpkg ...
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["streamlit", "run", "app.py", "--server.headless", "true", "--server.address", "0.0.0.0", "--server.port", "8501"]
