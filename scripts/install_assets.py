"""Copy the pinned Leaflet assets into static/vendor/ so the app serves them offline.

Run by `make install`. The files come from the XStatic packages pinned in requirements.txt.
"""
from __future__ import annotations

import sys

from render.map.assets import VENDOR_DIR, install


def main() -> int:
    """Install the assets and print what was written."""
    try:
        files = install(VENDOR_DIR)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"installed {len(files)} Leaflet asset files into {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
