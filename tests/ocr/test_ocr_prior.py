"""The O/0 l/1 language prior, the end-glyph trim and the k-of-n line stabiliser."""
import pytest

from pipeline.skills.ocr import prior
from pipeline.skills.ocr.ctc import Decoded, trim_edges
from pipeline.skills.ocr.reader import TextLine
from pipeline.skills.ocr.stability import LineStabiliser

needs_words = pytest.mark.skipif(not prior.lexicon(), reason="no system word list (Debian wamerican)")


@needs_words
@pytest.mark.parametrize("read, fixed", [
    ("B0ARDING PASS", "BOARDING PASS"), ("GATES CL0SE 10 MINUTES", "GATES CLOSE 10 MINUTES"),
    ("HeIIo w0rld", "Hello world"), ("0pen", "Open"), ("PERI0DICALLY,", "PERIODICALLY,")])
def test_letters_inside_dictionary_words_are_fixed(read, fixed):
    assert prior.apply_prior(read) == fixed


@pytest.mark.parametrize("read, fixed", [
    ("SEAT N0.", "SEAT NO."), ("G0 T0 GATE", "GO TO GATE"), ("pay 1n cash", "pay in cash"),
    ("HOUSE 0F CARDS", "HOUSE OF CARDS"), ("1T IS", "IT IS")])
def test_common_short_words_on_a_text_line_are_fixed(read, fixed):
    assert prior.apply_prior(read) == fixed


@pytest.mark.parametrize("text", ["N0.", "G0 T0", "ROOM A1", "ZONE B0", "page 10", "Room l0", "0K"])
def test_short_codes_and_lone_short_words_are_left_alone(text):
    """Codes (A1, B0) are not common words; a lone N0 or a line of codes has no text around it."""
    assert prior.apply_prior(text) == text


@pytest.mark.parametrize("read, fixed", [("2O13-O7", "2013-07"), ("19/O6/2004", "19/06/2004")])
def test_digits_among_digits_are_fixed(read, fixed):
    assert prior.apply_prior(read) == fixed


@pytest.mark.parametrize("text", ["G11", "Z57A001950", "ISO400", "ABC0D", "Opinions", "open", "N0.", "l0", "1"])
def test_mixed_codes_and_good_words_are_left_alone(text):
    assert prior.apply_prior(text) == text


def test_without_a_word_list_only_the_digit_rule_applies(monkeypatch):
    monkeypatch.setattr(prior, "lexicon", lambda: frozenset())
    assert prior.apply_prior("B0ARDING 2O13") == "B0ARDING 2013"


def test_uncertain_end_glyphs_are_trimmed_and_certain_ones_kept():
    assert trim_edges(Decoded("EXIT 42|", [1.0] * 7 + [0.6])).text == "EXIT 42"
    assert trim_edges(Decoded("[EXIT 42", [0.7] + [1.0] * 7)).text == "EXIT 42"
    assert trim_edges(Decoded("EXIT 421", [1.0] * 7 + [0.3])).text == "EXIT 42"
    assert trim_edges(Decoded("EXIT 421", [1.0] * 7 + [0.6])).text == "EXIT 421"   # a digit at 0.6 stays
    assert trim_edges(Decoded("(TIME)", [0.9] * 6)).text == "(TIME)"
    assert trim_edges(Decoded("A|", [1.0, 0.1])).text == "A|"                    # too short to trim


def line(text):
    return TextLine([[0, 0], [10, 0], [10, 5], [0, 5]], text, 0.9, [0.9] * len(text), 0.9)


def test_a_line_is_shown_once_read_in_three_of_five_frames_and_junk_never():
    stab = LineStabiliser(needed=3, window=5)
    frames = [["EXIT 42", "k K"], ["EXIT 42"], ["EXIT 42", "zs"], [], ["EXIT 42", "k K"], ["EXIT 42"]]
    shown = [[l.text for l in stab.update([line(t) for t in frame])] for frame in frames]
    assert shown == [[], [], ["EXIT 42"], ["EXIT 42"], ["EXIT 42"], ["EXIT 42"]]


def test_the_stabiliser_rejects_an_impossible_rule():
    with pytest.raises(ValueError):
        LineStabiliser(needed=6, window=5)


@needs_words
def test_one_unsure_letter_of_an_unknown_word_is_spelled_from_the_dictionary():
    from pipeline.skills.ocr.prior import fix_line
    confs = [1.0] * 14
    confs[11] = 0.5
    assert fix_line(Decoded("Free Admisslon", confs)).text == "Free Admission"
    assert fix_line(Decoded("Free Admisslon", [1.0] * 14)).text == "Free Admisslon"    # sure of every letter
    assert fix_line(Decoded("Pyeongyang", [0.5] * 10)).text == "Pyeongyang"            # no single-letter match
    fixed = fix_line(Decoded("B0ARDING PASS", [0.9] * 13))
    assert fixed.text == "BOARDING PASS" and len(fixed.char_confidences) == 13


@needs_words
def test_a_spelled_word_gets_its_letter_case_fixed_too():
    """Real sudoku.png read SUDoxU: spelling makes it SUDoKU, a known word, whose o then follows the capitals."""
    from pipeline.skills.ocr.prior import fix_line
    confs = [0.9] * 6
    confs[4] = 0.4
    assert fix_line(Decoded("SUDoxU", confs)).text == "SUDOKU"


@needs_words
@pytest.mark.parametrize("read, fixed", [("halter Defant", "halter Defiant"), ("3 atackers", "3 attackers"),
                                         ("OFICE HOURS", "OFFICE HOURS"), ("frewalls:", "firewalls:")])
def test_a_letter_swallowed_by_a_ligature_is_put_back(read, fixed):
    from pipeline.skills.ocr.prior import fix_line
    out = fix_line(Decoded(read, [0.8] * len(read)))
    assert out.text == fixed and len(out.char_confidences) == len(fixed)


@needs_words
@pytest.mark.parametrize("text", ["fleeced: Sofa,", "Kaf 12", "Iritant"])
def test_known_words_and_words_no_ligature_explains_are_kept(text):
    from pipeline.skills.ocr.prior import fix_line
    assert fix_line(Decoded(text, [0.8] * len(text))).text == text
