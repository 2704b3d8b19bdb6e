"""Copy the front-end libraries installed by npm into static/vendor (never committed)."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
TARGET = ROOT / "static" / "vendor"

FILES = {
    "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "pico/pico.min.css": "@picocss/pico/css/pico.min.css",
    "sortable/Sortable.min.js": "sortablejs/Sortable.min.js",
    "chartjs/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    # collectstatic's manifest storage follows the sourceMappingURL comment.
    "chartjs/chart.umd.min.js.map": "chart.js/dist/chart.umd.min.js.map",
}


def main() -> int:
    missing = [src for src in FILES.values() if not (MODULES / src).is_file()]
    if missing:
        print("Missing from node_modules (run npm ci):", ", ".join(missing), file=sys.stderr)
        return 1
    for dest, src in FILES.items():
        target = TARGET / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODULES / src, target)
    print(f"Copied {len(FILES)} front-end files into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
