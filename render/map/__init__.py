"""The folium web map: layers, symbols, popups, overlays, offline assets, stand-alone HTML."""
