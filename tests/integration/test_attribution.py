"""Who wrote an article, who took its photos, when it was published: answered from its own lines."""

from __future__ import annotations

import pytest

from conftest import CORPUS
from ttqa import QA
from ttqa.ingest.cleaning import clean_article
from ttqa.reading.attribution import Asked, asked_attribution, find_attribution


@pytest.mark.parametrize(
    "question,asked",
    [
        ("Ai viết tin về hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?", Asked.AUTHOR),
        ("Ai là tác giả bài viết về hội nghị sơ kết 6 tháng đầu năm 2020?", Asked.AUTHOR),
        ("ai viet bai ve hoi nghi tong ket nam 2024", Asked.AUTHOR),
        ("anh bai hoi thao gop y de an huyen vinh tuong do ai chup?", Asked.PHOTO),
        ("Bài về hội thảo ở Vĩnh Tường được đăng ngày nào?", Asked.PUBLISHED),
        ("Bài viết về hội nghị sơ kết được cập nhật lúc nào?", Asked.PUBLISHED),
        # Questions about the news itself, not about the article.
        ("Ai chủ trì hội thảo góp ý đề án huyện Vĩnh Tường?", None),
        ("Tác giả nổi tiếng nào đã dùng hình ảnh ấy trong bài viết của mình?", None),
        ("Galor và Zeria chỉ ra thông tin mới về bất bình đẳng khi nào?", None),
        ("Những phóng viên nào nổi tiếng ở Mỹ về các thông tin trong cuộc chiến?", None),
        ("Hội nghị rút ra bài học gì về công tác cán bộ?", None),
    ],
)
def test_attribution_questions(question: str, asked: Asked | None) -> None:
    assert asked_attribution(question) is asked


def test_attribution_spans_on_seed_articles() -> None:
    doc = clean_article((CORPUS / "000_7c61923aec2bb611.txt").read_text(encoding="utf-8"))
    for asked, value in [
        (Asked.AUTHOR, "Kiều Trang"),
        (Asked.PHOTO, "Trung Hiếu"),
        (Asked.PUBLISHED, "19/11/2020"),
    ]:
        span = find_attribution(doc.text, doc.author, asked)
        assert span is not None and doc.text[span.start : span.end] == value
        line = doc.text[span.line_start : span.line_end]
        assert "\n" not in line and span.line_start <= span.start < span.end <= span.line_end
    doc = clean_article((CORPUS / "002_c369b9d2d1f34063.txt").read_text(encoding="utf-8"))
    span = find_attribution(doc.text, doc.author, Asked.AUTHOR)
    assert span is not None and doc.text[span.start : span.end] == "Văn Hải"
    # Article 002 has no photo credit and no publication line: nothing is made up.
    assert find_attribution(doc.text, doc.author, Asked.PHOTO) is None
    assert find_attribution(doc.text, doc.author, Asked.PUBLISHED) is None


@pytest.mark.parametrize(
    "question,gold",
    [
        (
            "Ai viết tin về hội thảo góp ý đề án tổ chức bộ máy, công tác cán bộ huyện Vĩnh Tường?",
            "Kiều Trang",
        ),
        ("anh bai hoi thao gop y de an to chuc bo may huyen vinh tuong do ai chup?", "Trung Hiếu"),
        (
            "Bài viết về hội nghị sơ kết công tác tổ chức xây dựng Đảng 6 tháng đầu năm 2020 được cập nhật lúc nào?",
            "25/07/2020 13:05:15",
        ),
        (
            "Ai viết bài về hội nghị trao đổi kinh nghiệm công tác tổ chức tại Nghệ An?",
            "Mai Hương – Cảnh Toàn",
        ),
    ],
)
def test_ask_answers_attribution_from_the_article(seed_qa: QA, question: str, gold: str) -> None:
    answer = seed_qa.ask(question)
    assert not answer.abstained and answer.text == gold
    assert answer.doc_id is not None and answer.start is not None and answer.end is not None
    text = seed_qa.document(answer.doc_id).text
    assert text[answer.start : answer.end] == answer.text
    assert text[answer.sentence_start : answer.sentence_end] == answer.sentence
    assert answer.citations[0].doc_id == answer.doc_id
    c = answer.citations[0]
    assert c.start <= answer.start and answer.end <= c.end and text[c.start : c.end] == c.quote


def test_ask_abstains_when_the_article_has_no_such_line(seed_qa: QA) -> None:
    # The 2024 review article (002) carries a signature but no photo credit.
    answer = seed_qa.ask(
        "Ảnh trong bài về Hội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2024 do ai chụp?"
    )
    assert answer.abstained and answer.text is None
    assert answer.citations and answer.citations[0].doc_id == "002_c369b9d2d1f34063"
