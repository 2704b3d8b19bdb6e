"""Copy the front-end libraries installed by npm into static/vendor (never committed)."""

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
TARGET = ROOT / "static" / "vendor"

FILES = {
    "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    # Only the browser tests load it (tests/browser/test_accessibility.py); no page does.
    "axe/axe.min.js": "axe-core/axe.min.js",
    "axe/LICENSE": "axe-core/LICENSE",
    "pico/pico.min.css": "@picocss/pico/css/pico.min.css",
    "sortable/Sortable.min.js": "sortablejs/Sortable.min.js",
    "chartjs/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    # collectstatic's manifest storage follows the sourceMappingURL comments.
    "chartjs/chart.umd.min.js.map": "chart.js/dist/chart.umd.min.js.map",
    "tom-select/tom-select.complete.min.js": "tom-select/dist/js/tom-select.complete.min.js",
    "tom-select/tom-select.complete.min.js.map": (
        "tom-select/dist/js/tom-select.complete.min.js.map"
    ),
    "tom-select/tom-select.min.css": "tom-select/dist/css/tom-select.min.css",
    "tom-select/tom-select.min.css.map": "tom-select/dist/css/tom-select.min.css.map",
    # Latin and Latin Extended cover French and English; static/css/tokens.css declares them.
    "inter/inter-latin-wght-normal.woff2": (
        "@fontsource-variable/inter/files/inter-latin-wght-normal.woff2"
    ),
    "inter/inter-latin-ext-wght-normal.woff2": (
        "@fontsource-variable/inter/files/inter-latin-ext-wght-normal.woff2"
    ),
    "inter/LICENSE": "@fontsource-variable/inter/LICENSE",
    "lucide/LICENSE": "lucide-static/LICENSE",
}

# The icons the pages use, gathered into one sprite (templates/components/icon.html):
# one request instead of one per icon, and no inline SVG copied into the templates.
ICONS = [
    "arrow-down",
    "arrow-right",
    "arrow-up",
    "arrow-up-down",
    "bookmark",
    "briefcase-business",
    "building-2",
    "calendar-check",
    "chart-column",
    "chart-line",
    "check",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-alert",
    "circle-check",
    "contact",
    "download",
    "ellipsis",
    "file-plus-2",
    "filter",
    "handshake",
    "inbox",
    "info",
    "key-round",
    "keyboard",
    "languages",
    "layout-dashboard",
    "list-checks",
    "log-out",
    "menu",
    "monitor",
    "moon",
    "palette",
    "panel-left-close",
    "panel-left-open",
    "pencil",
    "plus",
    "printer",
    "scroll-text",
    "search",
    "settings",
    "shield",
    "square-kanban",
    "star",
    "store",
    "sun",
    "trash-2",
    "triangle-alert",
    "upload",
    "user-round-plus",
    "x",
]

# On each symbol: the sprite's root attributes do not reach an icon drawn with <use>.
_STROKE = (
    ' fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"'
    ' stroke-linejoin="round"'
)
_SVG_BODY = re.compile(r"<svg[^>]*>(.*)</svg>", re.S)


def icon_sprite() -> str:
    symbols = []
    for name in ICONS:
        source = (MODULES / "lucide-static" / "icons" / f"{name}.svg").read_text()
        body = " ".join(_SVG_BODY.search(source).group(1).split())
        symbols.append(f'<symbol id="{name}" viewBox="0 0 24 24"{_STROKE}>{body}</symbol>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg">'
        "<!-- Lucide icons (ISC licence, lucide/LICENSE) -->" + "".join(symbols) + "</svg>\n"
    )


def main() -> int:
    missing = [src for src in FILES.values() if not (MODULES / src).is_file()]
    missing += [
        f"lucide-static/icons/{name}.svg"
        for name in ICONS
        if not (MODULES / "lucide-static" / "icons" / f"{name}.svg").is_file()
    ]
    if missing:
        print("Missing from node_modules (run npm ci):", ", ".join(missing), file=sys.stderr)
        return 1
    for dest, src in FILES.items():
        target = TARGET / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODULES / src, target)
    sprite = TARGET / "lucide" / "icons.svg"
    sprite.write_text(icon_sprite())
    where = TARGET.relative_to(ROOT)
    print(f"Copied {len(FILES)} front-end files and {len(ICONS)} icons into {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
