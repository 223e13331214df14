import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ttqa.text.normalize import (
    fold_accents,
    fold_tones,
    has_diacritics,
    match_key,
    nfc,
    tokenize,
    tokenize_folded,
)


def test_nfd_and_nfc_give_the_same_tokens() -> None:
    text = "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert nfc(nfd) == text
    assert tokenize(nfd) == tokenize(text)


def test_tone_mark_placement_is_folded() -> None:
    for old, new in [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Hoá", "Hóa"), ("tuỳ", "tùy")]:
        assert old != new
        assert fold_tones(old) == fold_tones(new), (old, new)
    # Different tones stay different.
    assert fold_tones("hòa") != fold_tones("hóa")
    assert fold_tones("chủ") != fold_tones("chú")


def test_accent_folding_for_unaccented_questions() -> None:
    assert fold_accents("Ai chủ trì hội thảo?") == "ai chu tri hoi thao?"
    assert fold_accents("Đảng bộ tỉnh Đồng Tháp") == "dang bo tinh dong thap"
    assert tokenize_folded("Ai CHỦ TRÌ") == ["ai", "chu", "tri"]
    assert not has_diacritics("ai chu tri hoi nghi")
    assert has_diacritics("ai chủ trì hội nghị")
    assert has_diacritics("dđ")


def test_one_letter_syllables_and_numbers_are_kept() -> None:
    tokens = tokenize("Ở đâu, y tế và a? Giảm 6.666 biên chế, đạt 8,1%, ngày 19/11/2020, giai đoạn 2020-2025")
    assert tokenize("ở")[0] in tokens
    assert "y" in tokens and "a" in tokens
    assert "6.666" in tokens and "8,1" in tokens and "19/11/2020" in tokens and "2020-2025" in tokens


def test_match_key_ignores_case_spacing_and_tone_placement() -> None:
    assert match_key("  Thanh  Hoá ") == match_key("thanh hóa")


@given(st.text())
def test_normalisation_never_fails_and_is_stable(text: str) -> None:
    once = nfc(text)
    assert nfc(once) == once
    assert tokenize(once) == tokenize(unicodedata.normalize("NFD", text))
    assert fold_accents(fold_accents(text)) == fold_accents(text)
    assert all(tok for tok in tokenize(text))
    from ttqa.text.terms import key_term_spans, key_terms, missing_share

    spans = key_term_spans(once)
    assert spans == sorted(spans) and all(0 <= s < e <= len(once) and once[s:e].strip() for s, e in spans)
    assert missing_share(key_terms(text), text) == 0.0  # a text holds its own names and numbers


def test_key_terms_are_the_question_names_and_numbers() -> None:
    from ttqa.text.terms import key_term_spans, key_terms, missing_share

    q = "Từ 2015 – 2018, tỉnh Hà Tĩnh giảm được bao nhiêu biên chế theo Nghị định 108?"
    assert [q[s:e] for s, e in key_term_spans(q)] == ["Hà Tĩnh", "Nghị", "108"]
    # dates and years are not asked about but date the question: they are no key terms
    dated = "Chiều 15/5/2017, tháng 6/2017, năm 2017 và giai đoạn 2010-2015, ai nói gì?"
    assert key_term_spans(dated) == []
    # the first word is capitalised as any sentence is; adjacent capitalised words are one name
    q2 = "Đồng chí Đàm Hữu Khanh giữ chức vụ gì ở Huyện ủy Vĩnh Tường?"
    assert [q2[s:e] for s, e in key_term_spans(q2)] == ["Đàm Hữu Khanh", "Huyện", "Vĩnh Tường"]
    # keys fold tone placement and the normal form; typed without accents, they fold accents
    assert key_terms(unicodedata.normalize("NFD", "Ông Hoà nói ở Thanh Hoá")) == key_terms(
        "Ông Hòa nói ở Thanh Hóa"
    )
    assert key_terms("nam 2017 ai lam bi thu huyen uy Chu Se, giam 6.666") == ["chu se", "6.666"]
    assert key_terms("ai chu tri hoi nghi?") == [] and key_terms("") == []

    article = "Giai đoạn 2015 – 2018, Nghệ An đã giảm được 6.666 biên chế theo Nghị định 108."
    assert missing_share(key_terms(q), article) == 1 / 3  # Hà Tĩnh is not there
    assert missing_share(key_terms("Nghệ An giảm 6.666 biên chế từ 2015?"), article) == 0.0
    assert missing_share(key_terms("Nghệ An giảm 6.667 biên chế?"), article) == 0.5
    assert missing_share(key_terms("nghe an giam 6.666 bien che"), article, accents=False) == 0.0
    assert missing_share([], article) == 0.0


VIETNAMESE = st.text(
    alphabet=st.sampled_from(
        list(
            "aăâeêioôơuưyđdnhgtAĂÂĐÊÔƠƯ áàảãạấầẩẫậếềểễệốồổỗộớờởỡợứừửữựíìỉĩịİ0123456789.,-_/:\n\t–(\u0301\u0323"
        )
    )
    | st.characters(),
    max_size=80,
)


@given(VIETNAMESE, st.integers(0, 80), st.integers(1, 12), st.booleans())
def test_holds_finds_a_term_as_folding_the_whole_text_would(
    text: str, at: int, width: int, accents: bool
) -> None:
    from ttqa.text.terms import holds, term_key

    text = nfc(text)
    whole = f" {term_key(text, accents=accents)} "
    # a term that the text holds (its own words), one it may hold in part, and a near one
    words = term_key(text, accents=accents).split()
    for term in (" ".join(words[at : at + width]), term_key(text[at : at + width], accents=accents)):
        for t in (term, term + "1", "a" + term.replace(" ", "")):
            assert holds(text, t, accents=accents) == (f" {t} " in whole), t


def test_holds_agrees_with_the_whole_key_at_token_bounds() -> None:
    from ttqa.text.terms import holds, term_key

    cases = [  # (text, words of the term, whether the text holds them)
        ("Tỉnh Hà.5 đơn vị", "Hà", True),  # a word before a number's separator
        ("Tỉnh Hà.5 đơn vị", "5", True),
        ("Tỉnh Hà.5.6", "5", False),  # inside the number 5.6
        ("6.666biên chế", "biên chế", True),  # a word right after a number
        ("16.666 biên chế", "6.666", False),
        ("giảm 6.666, còn 39", "39", True),
        ("İstanbul và Hà Nội", "stanbul", True),  # "İ" lower-cases to "i" and a mark
        ("Thanh Hoá, Thanh Hóa", "Thanh Hòa", False),
        ("Thanh Hoá, Thanh Hóa", "thanh hóa", True),  # tone placement folded
        ("Nghệ  –  An", "Nghệ An", True),
        ("Nghệ An", "Nghễ An", False),  # the letters, another tone
        ("ThanhHoá", "Thanh Hoá", False),
        ("covid19 covid-19", "covid 19", True),
        (unicodedata.normalize("NFD", "Tỉnh Hà Tĩnh"), "Hà Tĩnh", True),
    ]
    for text, words, held in cases:
        for accents in (True, False):
            term = term_key(words, accents=accents)
            whole = f" {term} " in f" {term_key(text, accents=accents)} "
            assert holds(text, term, accents=accents) == whole, (text, words, accents)
            assert whole == held or not accents, (text, words)


def test_holds_finds_names_and_numbers_in_long_articles() -> None:
    from pathlib import Path

    from ttqa.text.terms import FOLDING_BLOCKS, holds, key_terms, term_key

    article = (Path(__file__).parents[2] / "corpus" / "003_755f0a2fc64bc61b.txt").read_text(encoding="utf-8")
    long = (article + "\n") * 200  # half a megabyte: its terms are found without folding it all
    tail = long + "Hội nghị có đồng chí Võ Văn Dũng, Bí thư Tỉnh ủy Hà Tĩnh, dự."
    for question, accents in (
        ("Tỉnh Hà Tĩnh và Thanh Hoá giảm 6.666 hay 39 hay 66 biên chế?", True),
        ("tinh Ha Tinh va Thanh Hoa giam 6.666 hay 39 hay 66 bien che", False),
    ):
        for term in key_terms(question):
            for text in (article, long, tail):
                assert holds(text, term, accents=accents) == (
                    f" {term} " in f" {term_key(text, accents=accents)} "
                )
        # Hà Tĩnh only in the last line; no Thanh Hoá; 66 only inside 6.666
        assert [holds(tail, t, accents=accents) for t in key_terms(question)] == [
            True,
            False,
            True,
            True,
            False,
        ]
        assert not holds(long, key_terms(question)[0], accents=accents)
    # every character that folds to an ASCII letter or digit is in the blocks searched
    outside = [
        cp
        for cp in range(0x110000)
        if chr(cp).isalnum()
        and not any(lo <= cp < hi for lo, hi in FOLDING_BLOCKS)
        and fold_accents(chr(cp)) != chr(cp)
        and fold_accents(chr(cp)).isascii()
        and fold_accents(chr(cp)).isalnum()
        and len(fold_accents(chr(cp))) == 1
    ]
    assert outside == []
