"""Tests for index.clean: boilerplate removal by offsets into the original text."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.clean import BOILERPLATE_PATTERNS, Cleaned, clean_text  # noqa: E402

SEEDS = ROOT / "corpus" / "seeds"
MANIFEST = tomllib.loads((SEEDS / "manifest.toml").read_text(encoding="utf-8"))
REALTIMEQA = ROOT.parent / "shared" / "realtimeqa" / "articles.jsonl.gz"

# Noise in each seed file, copied from the seed README's map.  Each entry is
# the start of a noise line; every line starting with it must be dropped.
NOISE: dict[str, list[str]] = {
    "000_8897612e89bc42ed.txt": [
        "U.S. Says Russia Not 'Stalled' in East Ukraine, but 'Refitting, Refreshing'",
        "Russia, fires, Smerch, multiple, rocket, launcher, Ukraine",
        # The caption: its first sentence repeats the lede up to ", an official".
        "The White House has not viewed a recent slowing of Russia's military"
        " operations in Ukraine's eastern Donbas region as a stalling of Moscow's"
        " war effort, an official said Friday.",
        "This is a developing news story. More information will be added as it becomes available.",
    ],
    "001_0fa0538ff5d991b7.txt": [
        "Meanwhile, the US has declined to comment on the military value of Ukraine’s"
        " incursion in Kursk Region",
        "You can share this story on social media:",
    ],
    "002_a14a31d47b36e4a7.txt": [
        "×",
        "Enjoying ad-free content?",
        "Since July 1, 2024, we have disabled all ads",
        "This commitment costs us $10,000 a month.",
        "Support us",
        "Our journalism is banned in Russia.",
        "U.S. Says Russian Offensive Against Kharkiv 'Stalled'",
        "Russian serviceman. Alexander Reka / TASS",
        "A Message from The Moscow Times:",
        "Once",
        "Monthly",
        "Annual",
        "Continue",
        "paiment methods",
        "Remind me later.",
        "Read more",
    ],
    "003_45894fdbe1c545f1.txt": [
        "BACK STORY",
        "Russian-Ukraine war stalemated, a new round of talks hope to put an end to the crisis.",
    ],
    "004_7c0fd61f95ef5008.txt": [
        "admin in: ",
        "Great article with insight ...",
        "https://www.viagrapascherfr.com/",
        "Hello there, just became aware of your blog through Google, and found ...",
    ],
}
# Sections that run from a line starting with this text to the end of the file.
NOISE_TO_END: dict[str, str] = {
    "002_a14a31d47b36e4a7.txt": "A Message from The Moscow Times:",
    "004_7c0fd61f95ef5008.txt": "admin in: ",
}

SENTENCE = re.compile(r"\S.*?(?:[.!?…][\"'”’)]*(?=\s|$)|$)")


def lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, stripped."""
    out = []
    for m in re.finditer(r"[^\r\n]+", text):
        stripped = m.group().strip()
        if stripped:
            start = m.start() + m.group().index(stripped)
            out.append((start, start + len(stripped)))
    return out


def covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when [start, end) lies inside one kept span."""
    return any(s <= start and end <= e for s, e in spans)


def noise_lines(name: str, text: str) -> set[tuple[int, int]]:
    """Offsets of every noise line of a seed file, per the README map."""
    found: set[tuple[int, int]] = set()
    all_lines = lines(text)
    for prefix in NOISE[name]:
        hits = {(s, e) for s, e in all_lines if text[s:e].startswith(prefix)}
        assert hits, f"{name}: README noise {prefix!r} not found in the file"
        found |= hits
    if name in NOISE_TO_END:
        first = next(s for s, e in all_lines if text[s:e].startswith(NOISE_TO_END[name]))
        found |= {(s, e) for s, e in all_lines if s >= first}
    return found


def seed(name: str) -> tuple[str, str]:
    return (SEEDS / name).read_text(encoding="utf-8"), MANIFEST[name]["title"]


def assert_valid_offsets(text: str, result: Cleaned) -> None:
    """Spans are stripped, non-empty, ordered, non-overlapping; dropped too."""
    for start, end in result.spans:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
    for (_, end1), (start2, _) in itertools.pairwise(result.spans):
        assert end1 <= start2
    every = sorted(result.spans + [(s, e) for s, e, _ in result.dropped])
    assert every == lines(text), "each non-blank line is either kept or dropped"


# --- Seed corpus -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NOISE))
def test_seed_noise_is_dropped(name: str) -> None:
    text, title = seed(name)
    result = clean_text(text, title=title)
    for start, end in noise_lines(name, text):
        assert not covered(result.spans, start, end), f"kept noise: {text[start:end]!r}"


@pytest.mark.parametrize("name", sorted(NOISE))
def test_seed_body_sentences_are_kept(name: str) -> None:
    text, title = seed(name)
    result = clean_text(text, title=title)
    noise = noise_lines(name, text)
    body = [(s, e) for s, e in lines(text) if (s, e) not in noise]
    assert body
    for line_start, line_end in body:
        for m in SENTENCE.finditer(text, line_start, line_end):
            start, end = m.start(), min(m.end(), line_end)
            assert covered(result.spans, start, end), f"lost: {text[start:end]!r}"


@pytest.mark.parametrize("name", sorted(NOISE))
def test_seed_offsets_are_valid(name: str) -> None:
    text, title = seed(name)
    result = clean_text(text, title=title)
    assert result.title == title
    assert_valid_offsets(text, result)


def test_seed_reasons_name_the_rule() -> None:
    text, title = seed("002_a14a31d47b36e4a7.txt")
    reasons = {text[s:e]: why for s, e, why in clean_text(text, title=title).dropped}
    assert reasons["×"] == "before-headline"
    assert reasons["U.S. Says Russian Offensive Against Kharkiv 'Stalled'"] == "headline"
    assert reasons["Russian serviceman. Alexander Reka / TASS"] == "caption"
    assert reasons["Dear readers,"] == "trailing-appeal"


def test_crlf_line_endings_keep_the_same_paragraphs() -> None:
    text, title = seed("002_a14a31d47b36e4a7.txt")
    crlf = text.replace("\n", "\r\n")
    plain = clean_text(text, title=title)
    result = clean_text(crlf, title=title)
    assert [crlf[s:e] for s, e in result.spans] == [text[s:e] for s, e in plain.spans]
    assert all("\r" not in crlf[s:e] for s, e in result.spans)
    assert_valid_offsets(crlf, result)


# --- Title detection ---------------------------------------------------------


def test_title_detected_from_first_line_when_none_given() -> None:
    text, title = seed("000_8897612e89bc42ed.txt")
    result = clean_text(text)
    assert result.title == title
    first_line = lines(text)[0]
    assert not covered(result.spans, *first_line)
    assert (*first_line, "headline") in result.dropped


def test_title_detection_skips_banner_lines() -> None:
    text, title = seed("002_a14a31d47b36e4a7.txt")
    result = clean_text(text)
    assert result.title == title
    assert text[result.spans[0][0] :].startswith("U.S. President Joe Biden's")


def test_no_title_detected_when_text_starts_with_prose() -> None:
    text, _ = seed("004_7c0fd61f95ef5008.txt")
    result = clean_text(text)
    assert result.title is None
    assert text[slice(*result.spans[0])].startswith("Moscow dismissed a diplomatic overture")


def test_repeated_headline_matches_despite_quotes_and_period() -> None:
    text = "“Talks Stall,” Officials Say.\n\nThe talks stalled on Monday, officials said.\n"
    result = clean_text(text, title='"Talks stall," officials say')
    assert [text[s:e] for s, e in result.spans] == ["The talks stalled on Monday, officials said."]
    assert result.dropped[0][2] == "headline"


# --- Edge cases --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", "\r\n\r\n"])
def test_empty_and_blank_text(text: str) -> None:
    assert clean_text(text) == Cleaned(title=None, spans=[], dropped=[])


def test_all_noise_text_keeps_nothing() -> None:
    text = (
        "×\nSupport us\n\nRead more\nShare this story:\nRussia, fires, rocket, launcher, Ukraine\n"
    )
    result = clean_text(text, title="Some headline")
    assert result.spans == []
    assert len(result.dropped) == 5


def test_long_text_is_handled() -> None:
    paragraph = "On day {0}, the council of district {0} met again and voted {0} times."
    noise = "Read more\nSign up for our newsletter here\n"
    text = "\n\n".join(paragraph.format(i) + "\n" + noise for i in range(10_000))
    result = clean_text(text, title="Council votes")
    assert len(result.spans) == 10_000
    assert len(result.dropped) == 20_000
    assert_valid_offsets(text, result)


# --- Individual rules --------------------------------------------------------


def test_duplicate_paragraph_keeps_the_first() -> None:
    text = "The mayor spoke on Monday.\nIt rained.\nThe mayor spoke on Monday.\n"
    result = clean_text(text)
    assert [text[s:e] for s, e in result.spans] == ["The mayor spoke on Monday.", "It rained."]
    assert result.dropped[0][2] == "duplicate"


def test_body_that_mentions_an_agency_is_kept() -> None:
    text = (
        "Russia said it struck two depots overnight, Reuters reported.\n"
        "The claim could not be verified, according to AFP.\n"
        "A view of the damaged depot. Getty Images\n"
    )
    result = clean_text(text)
    assert len(result.spans) == 2
    assert result.dropped[0][2] == "caption"


def test_appeal_early_in_the_text_does_not_cut_the_body() -> None:
    text = "Dear readers,\n" + "".join(f"Sentence number {i} of the story.\n" for i in range(6))
    result = clean_text(text)
    assert len(result.spans) == 6


def test_comment_widget_at_the_end_is_dropped() -> None:
    body = "".join(f"Paragraph {i} of the article ends here.\n" for i in range(6))
    widget = "admin in: Why did it happen?\nGreat post, thanks ...\n"
    result = clean_text(body + widget)
    assert len(result.spans) == 6
    assert [why for _, _, why in result.dropped] == ["comment-widget"] * 2


def test_boilerplate_patterns_compile_and_are_lower_case() -> None:
    for pattern in BOILERPLATE_PATTERNS:
        re.compile(pattern)
        literal = re.sub(r"\\.", "", pattern)  # ignore escapes such as \W
        assert literal == literal.lower(), pattern


# --- RealTime QA sample --------------------------------------------------------

# Scraping noise named in the RealTime QA README (ad feedback, video teasers).
WIDGET_PHRASES = (
    "How relevant is this ad to you",
    "Video player was slow to load content",
    "Ad froze or did not finish loading",
    "JUST WATCHED",
    "Replay More Videos",
    "MUST WATCH",
)
# Prompts that must not start a kept paragraph (newsletter, links, related).
PROMPT_STARTS = re.compile(
    r"(Read more|Related|Sign up|Subscribe|Get our free|Video Ad Feedback)\b", re.IGNORECASE
)


def realtimeqa_sample(n: int = 200) -> list[dict[str, str]]:
    if not REALTIMEQA.exists():
        pytest.skip(f"{REALTIMEQA} not available")
    with gzip.open(REALTIMEQA, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in itertools.islice(f, n)]


def test_realtimeqa_noise_removed_and_prose_kept() -> None:
    long_prose = kept_prose = 0
    for record in realtimeqa_sample():
        text = record["text"]
        result = clean_text(text, title=record["title"])
        assert_valid_offsets(text, result)
        kept = [text[s:e] for s, e in result.spans]
        for paragraph in kept:
            assert not any(phrase in paragraph for phrase in WIDGET_PHRASES), paragraph
            assert not PROMPT_STARTS.match(paragraph), paragraph
            assert "sign up here" not in paragraph.lower(), paragraph
        kept_set = set(kept)
        for s, e in lines(text):
            paragraph = text[s:e]
            if len(paragraph.split()) > 25 and paragraph.endswith("."):
                long_prose += 1
                kept_prose += paragraph in kept_set
    assert long_prose > 1000
    assert kept_prose / long_prose >= 0.95
