"""Font families from Debian packages, split so that some families are never trained on."""
from __future__ import annotations

import subprocess
from collections import defaultdict
from functools import lru_cache

# Whole families kept out of training for evaluation: a serif, a sans, a monospace and a
# distinctive book face, so held-out figures measure generalisation to unseen designs.
HELD_OUT_FAMILIES = ("Liberation Serif", "FreeSans", "DejaVu Sans Mono", "URW Bookman")
# A second held-out group, from packages added for real-looking text (issue 17): Lato and Carlito
# (Carlito is drawn from Lato, so they go together) and Cantarell. Never trained on either.
UNSEEN_FAMILIES = ("Lato", "Carlito", "Cantarell")
# Not text faces: symbols, dingbats, maths, script; the CJK face only supplies foreign glyphs.
CJK_FAMILY = "WenQuanYi Micro Hei"
EXCLUDED_FAMILIES = ("Standard Symbols PS", "D050000L", "DejaVu Math TeX Gyre", "Z003", CJK_FAMILY,
                     "WenQuanYi Micro Hei Mono")
# Display faces without lower case: text rendered in them is upper-cased so labels match the ink.
CAPS_ONLY_FAMILIES = ("Bebas Neue",)
PACKAGES = "fonts-dejavu, fonts-dejavu-extra, fonts-liberation2, fonts-freefont-ttf, fonts-urw-base35"
REAL_LOOKING_PACKAGES = ("fonts-roboto, fonts-roboto-slab, fonts-open-sans, fonts-league-spartan, fonts-bebas-neue, "
                         "fonts-comfortaa, fonts-inter, fonts-lato, fonts-crosextra-carlito, fonts-cantarell, "
                         "fonts-wqy-microhei")


def _fc_list() -> list[tuple[str, str]]:
    out = subprocess.run(["fc-list", "--format", "%{family[0]}|%{file}\n"], capture_output=True, text=True,
                         check=True).stdout
    return [tuple(line.partition("|")[::2]) for line in out.splitlines()]


def font_families() -> dict[str, list[str]]:
    """family -> font files (TrueType / OpenType only), regular, bold and italic styles alike."""
    families: dict[str, list[str]] = defaultdict(list)
    for family, path in _fc_list():
        if path.endswith((".ttf", ".otf")) and family not in EXCLUDED_FAMILIES:
            families[family].append(path)
    return {f: sorted(p) for f, p in sorted(families.items())}


def split_fonts() -> tuple[list[str], list[str]]:
    """(training font files, held-out font files); UNSEEN_FAMILIES are in neither (see unseen_fonts)."""
    families = font_families()
    missing = [f for f in HELD_OUT_FAMILIES if f not in families]
    if missing:
        raise RuntimeError(f"held-out font families {missing} are not installed (apt-get install {PACKAGES})")
    train = [p for f, paths in families.items() if f not in HELD_OUT_FAMILIES + UNSEEN_FAMILIES for p in paths]
    held = [p for f in HELD_OUT_FAMILIES for p in families[f]]
    return train, held


def unseen_fonts() -> list[str]:
    """Font files of UNSEEN_FAMILIES (a second held-out group)."""
    families = font_families()
    missing = [f for f in UNSEEN_FAMILIES if f not in families]
    if missing:
        raise RuntimeError(f"font families {missing} are not installed (apt-get install {REAL_LOOKING_PACKAGES})")
    return [p for f in UNSEEN_FAMILIES for p in families[f]]


def caps_only(font_path: str) -> bool:
    return any(family.replace(" ", "") in font_path.replace(" ", "") for family in CAPS_ONLY_FAMILIES)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A CJK face for foreign glyphs in real-looking lines (None when not installed)."""
    return next((p for family, p in _fc_list() if family == CJK_FAMILY and p.endswith((".ttf", ".ttc"))), None)
