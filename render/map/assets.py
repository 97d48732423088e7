"""Offline Leaflet: the pinned JavaScript and CSS the map needs, served by the app itself.

Leaflet and its marker-cluster plugin come from the XStatic packages on PyPI (pinned in
requirements.txt); protomaps-leaflet and pmtiles (vector tiles), and pbf (the protocol-buffers reader
the map's tile decoder ``render.map.vectorjs`` reads tiles with), from the npm registry, installed
with ``npm install`` of the pinned versions into ``build/npm/`` and checked against the SHA-256
pinned here. ``scripts/install_assets.py`` copies them at install time into ``static/vendor/``
(gitignored), which Streamlit serves under ``/app/static/vendor/``. Nothing is loaded from a CDN.
For the stand-alone HTML export the same files are inlined into one document. The PDFs' fonts
(DejaVu Sans, npm ``dejavu-fonts-ttf``; ``render.fonts``) are pinned and copied the same way.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
URL_PREFIX = "/app/static/vendor"
NPM_DIR = ROOT / "build" / "npm"


@dataclass(frozen=True)
class Asset:
    """One pinned front-end package: where it comes from and which files the map loads."""

    key: str
    module: str
    version: str
    js: tuple[str, ...]
    css: tuple[str, ...]
    extra: tuple[str, ...] = ()
    npm: str | None = None  # the npm package name: files come from its ``subdir`` folder
    sha256: tuple[str, ...] = ()  # of each file in ``js`` then ``files`` (npm assets)
    files: tuple[str, ...] = ()  # other files copied as they are (the PDF fonts)
    subdir: str = "dist"  # the npm package's folder holding the files
    loads: tuple[str, ...] = ()  # keys of assets a page loading this one loads with it (listed first)

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
    # pbf's browser bundle (window.Pbf.PbfReader): the vector tiles' decoder (render.map.vectorjs)
    # reads each tile's protocol buffers with it; every page drawing vector tiles loads it
    Asset("pbf", "", "5.1.2", js=("pbf.js",), css=(), npm="pbf",
          sha256=("7245ad659c477bae0bbede8e1776be0bf2f60fd26c34a005e55c3fbd704d2572",)),
    Asset("protomaps-leaflet", "", "5.1.0", js=("protomaps-leaflet.js",), css=(),
          npm="protomaps-leaflet", loads=("pbf",),
          sha256=("26af014f7b1af308ec120b791cff76657bb9c3383633b52033e6edf9e5e4cdb5",)),
    Asset("pmtiles", "", "3.2.1", js=("pmtiles.js",), css=(), npm="pmtiles",
          sha256=("367c19f8936d1d6c1b1820b0dee053f793fc29277655c3e471f5ed4d37b5f045",)),
    # the PDFs' fonts (render.fonts): DejaVu Sans has Cyrillic, Greek and more; Bitstream Vera licence
    Asset("dejavu-fonts", "", "2.37.3", js=(), css=(), npm="dejavu-fonts-ttf", subdir="ttf",
          files=("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
                 "DejaVuSansMono.ttf"),
          sha256=("7da195a74c55bef988d0d48f9508bd5d849425c1770dba5d7bfc6ce9ed848954",
                  "e6476c1b80502924294eed40894c5b18e06c181444ca953e5334262df9c27724",
                  "4af75fa16ee6d3ad43e1ecec41862c24954af26a55c6bb1ebb27bd486a50f5f4",
                  "eb436dca0c2594b73d8b603b892e374fdfd8d885d25ffb4f18df4c4c0b49e50f",
                  "b4a6c3e4faab8773f4ff761d56451646409f29abedd68f05d38c2df667d3c582")),
    # the PDFs' fallback fonts (render.fonts) for what DejaVu lacks, TrueType (glyf) files of Google Fonts'
    # Noto builds as the Expo packages ship them; SIL Open Font License 1.1 (each package's LICENSE_FONT).
    # Khmer (Cambodia's names; shaped by uharfbuzz), regular and bold
    Asset("noto-sans-khmer", "", "0.4.3", js=(), css=(), npm="@expo-google-fonts/noto-sans-khmer",
          subdir="400Regular", files=("NotoSansKhmer_400Regular.ttf",),
          sha256=("fff6f415386616d8d99c4f64b876e54e6e231dc0c007c87a61b254b3795957f9",)),
    Asset("noto-sans-khmer-bold", "", "0.4.3", js=(), css=(), npm="@expo-google-fonts/noto-sans-khmer",
          subdir="700Bold", files=("NotoSansKhmer_700Bold.ttf",),
          sha256=("c72f01526f03b16b64a355cc898605c950c0c5bdcef6d00974a8e753358d3a8e",)),
    # Chinese (and Japanese kana), then Korean (Hangul); regular only (10 MB each), used for bold too
    Asset("noto-sans-sc", "", "0.4.3", js=(), css=(), npm="@expo-google-fonts/noto-sans-sc",
          subdir="400Regular", files=("NotoSansSC_400Regular.ttf",),
          sha256=("d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16",)),
    Asset("noto-sans-kr", "", "0.4.3", js=(), css=(), npm="@expo-google-fonts/noto-sans-kr",
          subdir="400Regular", files=("NotoSansKR_400Regular.ttf",),
          sha256=("8cbc9b353bb9ce848fd69bb6a507319dfacc659cf5fd643db5d88f3c4970e1dd",)),
)
NPM_ASSETS = tuple(a for a in ASSETS if a.npm)


def _with_loads(keys: tuple[str, ...]) -> set[str]:
    """``keys`` and the keys of the assets they load with them (``Asset.loads``)."""
    return set(keys).union(*(a.loads for a in ASSETS if a.key in keys))


def npm_install(build: Path = NPM_DIR) -> Path:
    """``npm install`` the pinned npm assets into ``build`` (a package.json naming exact
    versions, scripts off); returns its node_modules folder.

    Raises
    ------
    RuntimeError
        When npm is missing or the install fails (npm's last lines are quoted).
    """
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm); it fetches "
                           + ", ".join(f"{a.npm}@{a.version}" for a in NPM_ASSETS))
    build.mkdir(parents=True, exist_ok=True)
    (build / "package.json").write_text(json.dumps({
        "name": "hgwatch-assets", "private": True,
        "dependencies": {a.npm: a.version for a in NPM_ASSETS}}, indent=2) + "\n", encoding="utf-8")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts",
                           "--omit=dev", "--no-package-lock"], cwd=build, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npm install failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return build / "node_modules"


def source_dir(asset: Asset) -> Path:
    """Folder of ``asset``'s files inside its installed XStatic package.

    Raises
    ------
    RuntimeError
        When the package is missing or its version differs from the pin.
    """
    if asset.npm:
        folder = NPM_DIR / "node_modules" / asset.npm
        meta = folder / "package.json"
        if not meta.is_file():
            raise RuntimeError(f"npm package {asset.npm} is not installed; run `make install`")
        version = json.loads(meta.read_text(encoding="utf-8")).get("version")
        if version != asset.version:
            raise RuntimeError(f"npm package {asset.npm} is version {version}, expected the "
                               f"pinned {asset.version}")
        for name, digest in zip(asset.js + asset.files, asset.sha256, strict=True):
            got = hashlib.sha256((folder / asset.subdir / name).read_bytes()).hexdigest()
            if got != digest:
                raise RuntimeError(f"{asset.npm}/{asset.subdir}/{name} has SHA-256 {got}, expected the "
                                   f"pinned {digest}")
        return folder / asset.subdir
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


def install(dest: Path = VENDOR_DIR, *, npm: bool = True) -> list[Path]:
    """Copy every pinned asset into ``dest`` (the npm ones only when ``npm``, after
    ``npm_install``); returns the files written."""
    written: list[Path] = []
    for asset in ASSETS:
        if asset.npm and not npm:
            continue
        src, out = source_dir(asset), dest / asset.folder
        out.mkdir(parents=True, exist_ok=True)
        for name in asset.js + asset.css + asset.files:
            written.append(Path(shutil.copy2(src / name, out / name)))
        for name in asset.extra:
            shutil.copytree(src / name, out / name, dirs_exist_ok=True)
            written.extend(p for p in (out / name).rglob("*") if p.is_file())
    return written


def installed(dest: Path = VENDOR_DIR, *keys: str) -> bool:
    """True when every pinned file (of assets ``keys``; default: Leaflet and its plugin) is
    present in ``dest``."""
    wanted = _with_loads(keys or ("leaflet", "markercluster"))
    return all((dest / a.folder / n).is_file() for a in ASSETS if a.key in wanted
               for n in a.js + a.css)


def js_urls(*keys: str) -> list[tuple[str, str]]:
    """(name, URL) of the local JavaScript files of assets ``keys`` (and those they load with
    them), in load order."""
    wanted = _with_loads(keys)
    return [(f"{a.key}_{n}", f"{URL_PREFIX}/{a.folder}/{n}")
            for a in ASSETS if a.key in wanted for n in a.js]


def css_urls(*keys: str) -> list[tuple[str, str]]:
    """(name, URL) of the local stylesheets of assets ``keys`` (and those they load with them)."""
    wanted = _with_loads(keys)
    return [(f"{a.key}_{n}", f"{URL_PREFIX}/{a.folder}/{n}")
            for a in ASSETS if a.key in wanted for n in a.css]


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
    """The JavaScript and CSS of assets ``keys`` (and those they load with them) as text, images
    as data URIs, in the order of ``ASSETS``.

    Returns
    -------
    (js, css) : the concatenated scripts and stylesheets, read from the pinned packages.
    """
    js: list[str] = []
    css: list[str] = []
    wanted = _with_loads(keys)
    for asset in ASSETS:
        if asset.key not in wanted:
            continue
        copied = VENDOR_DIR / asset.folder
        src = copied if asset.npm and all((copied / n).is_file() for n in asset.js) else source_dir(asset)
        js.extend((src / n).read_text(encoding="utf-8") for n in asset.js)
        css.extend(_inline_css(src, (src / n).read_text(encoding="utf-8")) for n in asset.css)
    return "\n;\n".join(js), "\n".join(css)
