"""Font families from Debian packages, split so that some families are never trained on."""
from __future__ import annotations

import subprocess
from collections import defaultdict

# Whole families kept out of training for evaluation: a serif, a sans, a monospace and a
# distinctive book face, so held-out figures measure generalisation to unseen designs.
HELD_OUT_FAMILIES = ("Liberation Serif", "FreeSans", "DejaVu Sans Mono", "URW Bookman")
# Not text faces: symbols, dingbats, maths, script.
EXCLUDED_FAMILIES = ("Standard Symbols PS", "D050000L", "DejaVu Math TeX Gyre", "Z003")
PACKAGES = "fonts-dejavu, fonts-dejavu-extra, fonts-liberation2, fonts-freefont-ttf, fonts-urw-base35"


def font_families() -> dict[str, list[str]]:
    """family -> font files (TrueType / OpenType only), regular, bold and italic styles alike."""
    out = subprocess.run(["fc-list", "--format", "%{family[0]}|%{file}\n"], capture_output=True, text=True,
                         check=True).stdout
    families: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        family, _, path = line.partition("|")
        if path.endswith((".ttf", ".otf")) and family not in EXCLUDED_FAMILIES:
            families[family].append(path)
    return {f: sorted(p) for f, p in sorted(families.items())}


def split_fonts() -> tuple[list[str], list[str]]:
    """(training font files, held-out font files)."""
    families = font_families()
    missing = [f for f in HELD_OUT_FAMILIES if f not in families]
    if missing:
        raise RuntimeError(f"held-out font families {missing} are not installed (apt-get install {PACKAGES})")
    train = [p for f, paths in families.items() if f not in HELD_OUT_FAMILIES for p in paths]
    held = [p for f in HELD_OUT_FAMILIES for p in families[f]]
    return train, held
