"""Pure spatial logic for HgWatch: CRS handling, exact distances, rules, surfaces.

Nothing in this package imports streamlit or folium or opens a file.
"""
