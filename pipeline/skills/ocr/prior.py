"""A language prior over the recogniser's output: fix O/0 and l/I/1 from the rest of the word.

The recogniser sees one character at a time; `0` and `O`, `1`, `l` and `I` are nearly the same
shapes, and on real signs it writes `B0ARDING` or `CL0SE`. Here each space-separated word is
judged by its unambiguous characters:
- letters only (two or more, no digit other than 0/1) and a dictionary word once 0 -> O/o and
  1 -> I/l (case from the rest of the word): the fixed word ("B0ARDING" -> "BOARDING");
  the dictionary check keeps codes such as `AB0D` as read;
- digits (at least one of 2-9) and no letter other than O/o/l/I: those become 0 and 1 ("2O13");
- inside a word of letters, `I` among lower-case letters becomes `l` and `l` among capitals
  becomes `I` ("HeIIo", "MlNATO"), when the result is a dictionary word.
Words with both kinds of characters ("A3400", "E05535540") are left alone. Then (fix_line, which
has the per-character confidences) a letters-only word of 4 or more that is not in the dictionary
gets its least certain letter (below 0.9) replaced when exactly one letter makes it a dictionary
word ("Admisslon" -> "Admission", "GHINA" -> "CHINA"). Two-character words are too short for the
letter rule (the word list holds most letter pairs: codes such as `A1`, `B0` would become words), so
only a short list of common English words is fixed ("SEAT N0." -> "SEAT NO.", "G0 T0 GATE" -> "GO TO GATE"),
and only on a line that also holds a word of letters (a text line, not a list of codes). Last, an unknown
word that a letter swallowed by a ligature explains (fi, fl, ff, tt drawn as one glyph: "Defant" ->
"Defiant") gets it back. Measured with export/ocr_peers.py's line sets (500-1,000 lines each, no
change elsewhere): short words, clean 0.34% unchanged, degraded 1.23% -> 1.24% (one wrong fix);
ligatures, clean 0.34% -> 0.33% on the held-out families, 0.74% -> 0.71% on Lato/Carlito/Cantarell
(the rule was written from those errors), one line of 1,000 fixed and none broken on a third group
never looked at before (Caladea, EB Garamond, Linux Libertine, Noto). Measured on 300 + 300 held-out-font
synthetic lines (export/ocr_peers.py's sets): CER clean 0.61% -> 0.45% (O/0 l/1 rules) -> 0.39%
(spelling), degraded 1.64% -> 1.39% (with the end trim) -> 1.26%, every change checked by hand;
those lines draw their words from the same dictionary, so real text gains less: on the TUNE real
photos the spelling step adds 2 words of 178. Cost: about 60 us per line.

The dictionary is the system word list (Debian `wamerican`, /usr/share/dict/words); without it
only the digit rule applies.
"""
from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

from pipeline.skills.ocr.ctc import Decoded

WORDS_FILE = Path("/usr/share/dict/words")
MAX_WORDS_BYTES = 20 * 1024 * 1024     # a word list larger than this is not a word list
AMBIGUOUS = set("0Oo1lI")
TO_DIGIT = {"O": "0", "o": "0", "l": "1", "I": "1"}
MIN_LETTERS = 2
_EDGE = re.compile(r"^([^0-9A-Za-z]*)(.*?)([^0-9A-Za-z]*)$")
MIN_SPELL_LENGTH = 4         # shorter words have too many one-letter neighbours to correct
SPELL_BELOW = 0.9            # only a letter read with less confidence than this may be replaced
# Common two-letter words holding O or I: on signs and forms they are read as N0, T0, 0F, 1N.
# Ligatures many faces draw by default (fi, fl, ff, tt as one glyph): the recogniser reads the
# first letter and drops the second ("Sofia" -> "Sofa", "mummified" -> "mummifed").
LIGATURE_LETTERS = {"f": "ilf", "t": "t"}
MIN_LIGATURE_LENGTH = 4
SHORT_WORDS = frozenset("no to go so do of on or ok oh in is it if".split())


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    """Lower-cased dictionary words, or an empty set when the system has no word list."""
    try:
        if WORDS_FILE.stat().st_size > MAX_WORDS_BYTES:
            return frozenset()
        return frozenset(w.strip().lower() for w in WORDS_FILE.read_text(encoding="utf-8", errors="ignore").split())
    except OSError:
        return frozenset()


def _as_letters(core: str) -> str:
    letters = [c for c in core if c.isalpha() and c not in AMBIGUOUS]
    upper = sum(c.isupper() for c in letters) * 2 > len(letters)
    out = []
    for i, c in enumerate(core):
        if i == 0 and c in "OoI":    # the case of a word's first letter is its own ("Open", "open")
            pass
        elif c == "0" and i == 0:     # "0pen" -> "Open": a word-initial 0 stands for a capital
            c = "O"
        elif c in "0Oo":
            c = "O" if upper else "o"
        elif c in "1lI":
            c = "I" if upper else "l"
        out.append(c)
    return "".join(out)


def fix_word(word: str) -> str:
    lead, core, trail = _EDGE.match(word).groups()
    if not core or not AMBIGUOUS.intersection(core):
        return word
    letters = sum(c.isalpha() and c not in AMBIGUOUS for c in core)
    digits = sum(c.isdigit() and c not in "01" for c in core)
    if digits and not letters:
        return lead + "".join(TO_DIGIT.get(c, c) for c in core) + trail
    if letters >= MIN_LETTERS and not digits and core.replace("'", "").replace("-", "").isalnum():
        fixed = _as_letters(core)
        if fixed != core and _known(fixed):
            return lead + fixed + trail
    return word


def _known(word: str) -> bool:
    words = lexicon()
    return all(part.lower() in words for part in word.split("-") if part)


def _is_text_word(word: str) -> bool:
    core = _EDGE.match(word).group(2)
    return len(core) >= MIN_LETTERS and core.isalpha()


def fix_short_word(word: str, text_line: bool) -> str:
    """A letter and a 0/1 that spell a common short word, on a text line: that word ("N0." -> "NO.")."""
    lead, core, trail = _EDGE.match(word).groups()
    if not text_line or len(core) != 2 or not AMBIGUOUS.intersection(core):
        return word
    letter = [c for c in core if c.isalpha() and c not in AMBIGUOUS]
    upper = letter[0].isupper() if letter else core.isupper()
    fixed = "".join(c if c not in AMBIGUOUS else ("O" if c in "0Oo" else "I") for c in core)
    fixed = fixed.upper() if upper else fixed.lower()
    if fixed.lower() not in SHORT_WORDS:
        return word
    return lead + fixed + trail


def _fix_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, fixed word) for each word of the line: fix_word, then the short-word rule."""
    spans = [(m.start(), m.end(), fix_word(m.group(0))) for m in re.finditer(r"\S+", text)]
    text_words = sum(_is_text_word(w) for _, _, w in spans)
    return [(a, b, fix_short_word(word, text_words - _is_text_word(word) > 0)) for a, b, word in spans]


def apply_prior(text: str) -> str:
    """The line with each word fixed as above; spacing kept as read."""
    out = list(text)
    for a, b, word in reversed(_fix_words(text)):
        out[a:b] = word
    return "".join(out)


def spell_fix(core: str, confs: list[float]) -> str:
    """A word that is not in the dictionary, with exactly one dictionary word one letter away at
    its least certain letter: that word ("Admisslon" -> "Admission", "GHINA" -> "CHINA")."""
    words = lexicon()
    if len(core) < MIN_SPELL_LENGTH or not core.isalpha() or not words or core.lower() in words:
        return core
    i = min(range(len(core)), key=lambda k: confs[k])
    if confs[i] >= SPELL_BELOW:
        return core
    found = [c for c in string.ascii_lowercase if (core[:i] + c + core[i + 1:]).lower() in words]
    if len(found) != 1:
        return core
    upper = sum(ch.isupper() for k, ch in enumerate(core) if k != i) * 2 > len(core) - 1
    return core[:i] + (found[0].upper() if upper else found[0]) + core[i + 1:]


def ligature_fix(core: str) -> tuple[str, int]:
    """A word that is not in the dictionary, and one dictionary word it becomes when a letter a
    typographic ligature swallows is put back (fi, fl, ff, tt drawn as one glyph and read as `f` or
    `t`: "Defant" -> "Defiant", "atackers" -> "attackers"): (that word, where the letter went in);
    else (core, -1)."""
    words = lexicon()
    if len(core) < MIN_LIGATURE_LENGTH or not core.isalpha() or not words or core.lower() in words:
        return core, -1
    upper = core.isupper()
    found = {(core[:i + 1] + (extra.upper() if upper else extra) + core[i + 1:], i + 1)
             for i, c in enumerate(core) for extra in LIGATURE_LETTERS.get(c.lower(), "")}
    found = [(w, i) for w, i in found if w.lower() in words]
    return found[0] if len(found) == 1 else (core, -1)


def fix_line(decoded: Decoded) -> Decoded:
    """The prior over a decoded line: O/0 l/1 per word, then one uncertain letter per unknown word,
    then a letter lost in a ligature. The per-character confidences stay aligned: a letter put back
    takes the confidence of the glyph it was read into."""
    text, confs = decoded.text, list(decoded.char_confidences)
    out_text, out_confs, done = [], [], 0
    for a, b, word in _fix_words(text):
        lead, core, _ = _EDGE.match(word).groups()
        start = a + len(lead)
        spelt = spell_fix(core, confs[start:start + len(core)])
        if spelt != core:      # the word is known only now: its O/0 l/1 rule can apply ("SUDoxU" -> "SUDOKU")
            core = fix_word(spelt)
        word_confs = confs[a:b]
        core, at = ligature_fix(core)
        if at >= 0:
            word_confs.insert(len(lead) + at, word_confs[len(lead) + at - 1])
        out_text += [text[done:a], word[:len(lead)] + core + word[len(lead) + len(core) - (at >= 0):]]
        out_confs += confs[done:a] + word_confs
        done = b
    out_text.append(text[done:])
    out_confs += confs[done:]
    return Decoded("".join(out_text), out_confs)
