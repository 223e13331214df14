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
