"""Offline Leaflet: the pinned JavaScript and CSS the map needs, served by the app itself.

The files come from the XStatic packages on PyPI (pinned in requirements.txt), are copied at
install time by ``scripts/install_assets.py`` into ``static/vendor/`` (gitignored) and are
served by Streamlit's static file serving under ``/app/static/vendor/``. Nothing is loaded
from a CDN. For the stand-alone HTML export the same files are inlined into one document.
"""
from __future__ import annotations

import base64
import importlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
URL_PREFIX = "/app/static/vendor"


@dataclass(frozen=True)
class Asset:
    """One pinned front-end package: where it comes from and which files the map loads."""

    key: str
    module: str
    version: str
    js: tuple[str, ...]
    css: tuple[str, ...]
    extra: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        """Folder under ``static/vendor`` named with the pinned version."""
        return f"{self.key}-{self.version}"


ASSETS: tuple[Asset, ...] = (
    Asset("leaflet", "xstatic.pkg.leaflet", "1.9.3", js=("leaflet.js",), css=("leaflet.css",),
          extra=("images",)),
    Asset("markercluster", "xstatic.pkg.leaflet_markercluster", "1.4.1",
          js=("leaflet.markercluster.js",),
          css=("MarkerCluster.css", "MarkerCluster.Default.css")),
)


def source_dir(asset: Asset) -> Path:
    """Folder of ``asset``'s files inside its installed XStatic package.

    Raises
    ------
    RuntimeError
        When the package is missing or its version differs from the pin.
    """
    try:
        pkg = importlib.import_module(asset.module)
    except ImportError:
        raise RuntimeError(
            f"package {asset.module} is not installed; run `make install`"
        ) from None
    if asset.version != pkg.VERSION:
        raise RuntimeError(
            f"{asset.module} is version {pkg.VERSION}, expected the pinned {asset.version}"
        )
    return Path(pkg.BASE_DIR)


def install(dest: Path = VENDOR_DIR) -> list[Path]:
    """Copy every pinned asset into ``dest``; returns the files written."""
    written: list[Path] = []
    for asset in ASSETS:
        src, out = source_dir(asset), dest / asset.folder
        out.mkdir(parents=True, exist_ok=True)
        for name in asset.js + asset.css:
            written.append(Path(shutil.copy2(src / name, out / name)))
        for name in asset.extra:
            shutil.copytree(src / name, out / name, dirs_exist_ok=True)
            written.extend(p for p in (out / name).rglob("*") if p.is_file())
    return written


def installed(dest: Path = VENDOR_DIR) -> bool:
    """True when every pinned file is present in ``dest``."""
    return all((dest / a.folder / n).is_file() for a in ASSETS for n in a.js + a.css)


def js_urls(*keys: str) -> list[tuple[str, str]]:
    """(name, URL) of the local JavaScript files of assets ``keys``, in load order."""
    return [(f"{a.key}_{n}", f"{URL_PREFIX}/{a.folder}/{n}")
            for a in ASSETS if a.key in keys for n in a.js]


def css_urls(*keys: str) -> list[tuple[str, str]]:
    """(name, URL) of the local stylesheets of assets ``keys``."""
    return [(f"{a.key}_{n}", f"{URL_PREFIX}/{a.folder}/{n}")
            for a in ASSETS if a.key in keys for n in a.css]


_CSS_URL = re.compile(r"url\((['\"]?)(images/[^)'\"]+)\1\)")


def _inline_css(folder: Path, text: str) -> str:
    """``text`` with every ``url(images/...)`` replaced by a data: URI."""
    def data_uri(match: re.Match[str]) -> str:
        path = folder / match.group(2)
        if not path.is_file():
            return match.group(0)
        kind = "svg+xml" if path.suffix == ".svg" else path.suffix.lstrip(".")
        return f"url(data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode()})"
    return _CSS_URL.sub(data_uri, text)


def inline_bundle(*keys: str) -> tuple[str, str]:
    """The JavaScript and CSS of assets ``keys`` as text, images as data URIs.

    Returns
    -------
    (js, css) : the concatenated scripts and stylesheets, read from the pinned packages.
    """
    js: list[str] = []
    css: list[str] = []
    for asset in ASSETS:
        if asset.key not in keys:
            continue
        src = source_dir(asset)
        js.extend((src / n).read_text(encoding="utf-8") for n in asset.js)
        css.extend(_inline_css(src, (src / n).read_text(encoding="utf-8")) for n in asset.css)
    return "\n;\n".join(js), "\n".join(css)
