"""Copy the pinned map assets into static/vendor/ so the app serves them offline.

Run by `make install`. Leaflet and its marker-cluster plugin come from the XStatic packages
pinned in requirements.txt; protomaps-leaflet, pmtiles and pbf (vector tiles for large layers, and
the protocol-buffers reader the page's tile decoder uses) are installed from the npm registry into
build/npm/ at the versions and SHA-256 pinned in render/map/assets.py, as are the PDFs' fonts (DejaVu
Sans, and Noto Sans Khmer, SC and KR for the Khmer, Chinese, Japanese and Korean it lacks). Without npm
those are skipped with a warning (large layers then draw the row-based way, and PDFs print Latin-1
only) unless --require-npm is given.
"""
from __future__ import annotations

import argparse
import sys

from render.map.assets import VENDOR_DIR, install, npm_install


def main(argv: list[str] | None = None) -> int:
    """Install the assets and print what was written; 1 on an error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require-npm", action="store_true",
                        help="fail when the npm assets (vector tiles) cannot be installed")
    args = parser.parse_args(argv)
    npm = True
    try:
        npm_install()
    except RuntimeError as exc:
        if args.require_npm:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"warning: {exc}; large layers will draw without vector tiles and PDFs print Latin-1 only",
              file=sys.stderr)
        npm = False
    try:
        files = install(VENDOR_DIR, npm=npm)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"installed {len(files)} map asset files into {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
