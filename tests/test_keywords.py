from platypus.data.keywords import STEM_KEYWORDS, KeywordMatcher


def test_the_two_original_bugs_are_fixed():
    match = KeywordMatcher()
    # The original fused these into "calculationscience"; each must match on its own.
    assert match("Do a quick calculation for me")
    assert match("Why does science need experiments?")
    assert "calculationscience" not in STEM_KEYWORDS
    # The original lower-cased the text, so "AI" never matched.
    assert match.first_match("How is AI used in medicine?") == "AI"


def test_acronyms_are_case_sensitive_and_words_are_not():
    match = KeywordMatcher()
    assert not match("He said hello")  # "ai" inside a word, and lower-case, must not match
    assert not match("Konnichiwa, ai shiteru")
    assert match("PHYSICS homework")
    assert match("quantum")


def test_whole_words_only_and_longest_reported():
    match = KeywordMatcher()
    assert not match("a summary of the meeting")  # "sum" inside "summary"
    assert not match("cellar door")
    assert match.first_match("solve this differential equation") == "differential equation"


def test_list_has_no_duplicates():
    assert len(STEM_KEYWORDS) == len(set(STEM_KEYWORDS))
    assert KeywordMatcher(["x", "x", "y"]).keywords == ("x", "y")
