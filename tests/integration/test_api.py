"""The HTTP API in-process (FastAPI ``TestClient``): every endpoint, every bad input (schemathesis: test_api_schemathesis.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import ttqa
from ttqa import QA
from ttqa.interfaces.http import ApiSettings, create_app

DOC_000 = "000_7c61923aec2bb611"
DOC_001 = "001_af4427a512693819"
QUESTION = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?"
QUESTIONS = [
    QUESTION,
    "Nghệ An đã giảm được bao nhiêu biên chế?",
    "ai chu tri hoi thao",  # no diacritics
    "Thủ đô của nước Pháp là gì?",  # not in the articles
]


@pytest.fixture(scope="module")
def app(seed_qa: QA) -> FastAPI:
    return create_app(seed_qa)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        assert app.state.readiness.wait(300), app.state.readiness.error
        yield c


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err = cast(dict[str, Any], body["error"])
    assert err["code"] == code, err
    assert err["message_vi"] and err["message_en"]
    return err


# ---------------------------------------------------------------- service endpoints
def test_health_ready_info(client: TestClient, seed_qa: QA) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    info = client.get("/info").json()
    assert info["ttqa_version"] == ttqa.__version__
    assert info["ready"] is True
    for key, value in seed_qa.info().items():
        assert info[key] == value
    assert info["documents"] == 5


class _BlockingEmbedder:
    def __init__(self, gate: threading.Event, fail: bool = False) -> None:
        self.gate = gate
        self.fail = fail

    def embed_queries(self, texts: list[str]) -> None:
        self.gate.wait(30)
        if self.fail:
            raise RuntimeError("model file missing")


class _StubQA:
    """Just enough of QA for the warm-up and the error paths."""

    def __init__(self, embedder: Any = None) -> None:
        self.embedder = embedder

    def warm_up(self) -> None:
        self.embedder.embed_queries(["khởi động"])

    def ask(self, question: str, **_: Any) -> Any:
        raise RuntimeError("secret internal detail /home/user/.ssh")

    def search(self, question: str, **_: Any) -> Any:
        raise RuntimeError("secret internal detail /home/user/.ssh")

    def info(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize("fail", [False, True])
def test_ready_is_503_until_warm(fail: bool) -> None:
    gate = threading.Event()
    app = create_app(cast(QA, _StubQA(_BlockingEmbedder(gate, fail))))
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200  # up while the model loads
        resp = c.get("/ready")
        assert resp.status_code == 503 and resp.json()["status"] == "starting"
        gate.set()
        app.state.readiness.wait(30)
        resp = c.get("/ready")
    if fail:
        assert resp.status_code == 503
        assert resp.json()["status"] == "failed" and "model file missing" in resp.json()["detail"]
    else:
        # the stub's ask() raises: the warm-up reports it, /ready stays 503
        assert resp.status_code == 503 and "RuntimeError" in resp.json()["detail"]


def test_internal_error_is_generic_500() -> None:
    app = create_app(cast(QA, _StubQA()), ApiSettings(warmup=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/ready").status_code == 200
        for path in ("/ask", "/search"):
            resp = c.post(path, json={"question": "Ai?"})
            err = _error(resp, 500, "internal_error")
            assert "secret" not in resp.text and "Traceback" not in resp.text
            assert set(err) == {"code", "message_vi", "message_en"}


# ---------------------------------------------------------------- /search
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search(client: TestClient, seed_qa: QA, mode: str) -> None:
    resp = client.post("/search", json={"question": f"  {QUESTION} ", "k": 4, "mode": mode})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["question"] == QUESTION and body["mode"] == mode and body["k"] == 4
    hits = body["hits"]
    assert 1 <= len(hits) <= 4
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert hits == [h.to_dict() for h in seed_qa.search(QUESTION, k=4, mode=mode)]
    for h in hits:
        assert seed_qa.document(h["doc_id"]).text[h["start"] : h["end"]] == h["text"]


def test_search_default_k(client: TestClient) -> None:
    body = client.post("/search", json={"question": QUESTION}).json()
    assert body["k"] == 10 and len(body["hits"]) == 10
    body = client.post("/search", json={"question": QUESTION, "k": 3.0}).json()  # a JSON integer
    assert body["k"] == 3 and len(body["hits"]) == 3


def test_search_filters(client: TestClient) -> None:
    body = client.post("/search", json={"question": QUESTION, "k": 5, "filters": {"sources": ["đto"]}}).json()
    assert len(body["hits"]) == 5  # 001 has 5 passages: filtered before ranking
    assert {h["doc_id"] for h in body["hits"]} == {DOC_001}
    body = client.post(
        "/search",
        json={"question": QUESTION, "k": 50, "filters": {"date_from": "2020-01-01", "date_to": "2020-12-31"}},
    ).json()
    assert {h["doc_id"] for h in body["hits"]} == {DOC_000, DOC_001}
    assert body["filters"] == {"date_from": "2020-01-01", "date_to": "2020-12-31", "sources": None}
    body = client.post("/search", json={"question": QUESTION, "filters": {"date_from": "2030-01-01"}}).json()
    assert body["hits"] == []


# ---------------------------------------------------------------- /ask
@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_is_answer_to_dict(client: TestClient, seed_qa: QA, question: str) -> None:
    resp = client.post("/ask", json={"question": question})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body == seed_qa.ask(question).to_dict()
    for c in body["citations"]:
        passage = client.get(f"/documents/{c['doc_id']}", params={"start": c["start"], "end": c["end"]})
        assert passage.json()["text"] == c["quote"]
    if not body["abstained"]:
        doc = client.get(f"/documents/{body['doc_id']}").json()
        assert doc["text"][body["start"] : body["end"]] == body["text"]
        assert doc["text"][body["sentence_start"] : body["sentence_end"]] == body["sentence"]


def test_ask_with_options(client: TestClient, seed_qa: QA) -> None:
    payload = {"question": QUESTION, "k": 3, "mode": "bm25", "filters": {"sources": ["TGAG"]}}
    body = client.post("/ask", json=payload).json()
    expected = seed_qa.ask(QUESTION, k=3, mode="bm25", filters={"sources": ["TGAG"]})
    assert body == expected.to_dict()
    assert {c["source"] for c in body["citations"]} <= {"TGAG"}


def test_concurrent_asks_match_sequential(client: TestClient, seed_qa: QA) -> None:
    expected = {q: seed_qa.ask(q).to_dict() for q in QUESTIONS}
    jobs = QUESTIONS * 4

    def call(q: str) -> tuple[str, Any]:
        return q, client.post("/ask", json={"question": q}).json()

    with ThreadPoolExecutor(8) as pool:
        for q, body in pool.map(call, jobs):
            assert body == expected[q]


# ---------------------------------------------------------------- /documents
def test_document(client: TestClient, seed_qa: QA) -> None:
    body = client.get(f"/documents/{DOC_001}").json()
    doc = seed_qa.document(DOC_001)
    assert body == {
        "doc_id": DOC_001,
        "title": doc.title,
        "date": "2020-07-25T13:05:15",
        "source": "ĐTO",
        "author": doc.author,
        "url": doc.url,
        "text": doc.text,
    }


def test_document_passage(client: TestClient, seed_qa: QA) -> None:
    text = seed_qa.document(DOC_000).text
    body = client.get(f"/documents/{DOC_000}?start=10&end=60").json()
    title = seed_qa.document(DOC_000).title
    assert body == {"doc_id": DOC_000, "title": title, "start": 10, "end": 60, "text": text[10:60]}
    assert client.get(f"/documents/{DOC_000}?start=100").json()["end"] == len(text)
    assert client.get(f"/documents/{DOC_000}?end=5").json()["text"] == text[:5]


@pytest.mark.parametrize(
    "query",
    [
        "start=5&end=5",
        "start=10&end=5",
        "end=999999",
        "start=999999",
        "start=-1",
        "end=-3",
        "start=abc",
        "start=1.5",
    ],
)
def test_document_passage_out_of_range(client: TestClient, query: str) -> None:
    _error(client.get(f"/documents/{DOC_000}?{query}"), 422, "invalid_range")


@pytest.mark.parametrize("doc_id", ["nope", "000", "a/b/c", "%00", "x" * 500])
def test_unknown_document(client: TestClient, doc_id: str) -> None:
    err = _error(client.get(f"/documents/{doc_id}"), 404, "unknown_document")
    assert err["field"] == "path.doc_id"


# ---------------------------------------------------------------- bad input
BAD_BODIES: list[tuple[str, Any, str]] = [
    ("empty", {"question": ""}, "empty_question"),
    ("whitespace", {"question": " \n\t "}, "empty_question"),
    ("control chars only", {"question": "\x00\x01 \x7f"}, "empty_question"),
    ("missing question", {"k": 3}, "empty_question"),
    ("question not text", {"question": 42}, "invalid_question"),
    ("too long", {"question": "a" * 1001}, "question_too_long"),
    ("unknown mode", {"question": "Ai?", "mode": "semantic"}, "invalid_mode"),
    ("k zero", {"question": "Ai?", "k": 0}, "invalid_k"),
    ("k too big", {"question": "Ai?", "k": 51}, "invalid_k"),
    ("k negative", {"question": "Ai?", "k": -2}, "invalid_k"),
    ("k float", {"question": "Ai?", "k": 2.5}, "invalid_k"),
    ("k text", {"question": "Ai?", "k": "3"}, "invalid_k"),
    ("k bool", {"question": "Ai?", "k": True}, "invalid_k"),
    ("bad date", {"question": "Ai?", "filters": {"date_from": "19/11/2020"}}, "invalid_date"),
    ("impossible date", {"question": "Ai?", "filters": {"date_to": "2020-02-30"}}, "invalid_date"),
    ("datetime", {"question": "Ai?", "filters": {"date_from": "2020-11-19T10:00:00"}}, "invalid_date"),
    ("partial date", {"question": "Ai?", "filters": {"date_from": "--01-03"}}, "invalid_date"),
    ("timestamp date", {"question": "Ai?", "filters": {"date_from": 1600000000}}, "invalid_date"),
    (
        "inverted range",
        {"question": "Ai?", "filters": {"date_from": "2021-01-01", "date_to": "2020-01-01"}},
        "invalid_filters",
    ),
    ("unknown filter", {"question": "Ai?", "filters": {"outlet": "ĐTO"}}, "invalid_filters"),
    ("sources not list", {"question": "Ai?", "filters": {"sources": 3}}, "invalid_filters"),
    ("empty source", {"question": "Ai?", "filters": {"sources": [""]}}, "invalid_filters"),
    ("filters not object", {"question": "Ai?", "filters": "ĐTO"}, "invalid_filters"),
    ("unknown field", {"question": "Ai?", "top_k": 3}, "invalid_request"),
    ("body not object", ["Ai?"], "invalid_request"),
]


@pytest.mark.parametrize("path", ["/ask", "/search"])
@pytest.mark.parametrize(("name", "body", "code"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input(client: TestClient, path: str, name: str, body: Any, code: str) -> None:
    _error(client.post(path, json=body), 422, code)


@pytest.mark.parametrize("path", ["/ask", "/search"])
def test_bad_json(client: TestClient, path: str) -> None:
    resp = client.post(path, content=b'{"question": ', headers={"content-type": "application/json"})
    _error(resp, 422, "invalid_json")
    not_utf8 = b'{"question": "\xff\xfe"}'
    _error(
        client.post(path, content=not_utf8, headers={"content-type": "application/json"}), 422, "invalid_json"
    )
    _error(client.post(path), 422, "invalid_request")  # no body at all


def test_question_limit_is_configurable(seed_qa: QA) -> None:
    app = create_app(seed_qa, ApiSettings(max_question_chars=20, warmup=False))
    with TestClient(app) as c:
        err = _error(c.post("/search", json={"question": "x" * 21}), 422, "question_too_long")
        assert "20" in err["message_vi"] and "20" in err["message_en"]
        assert c.post("/search", json={"question": "  " + "x" * 20 + "  "}).status_code == 200


def test_unknown_route_and_method(client: TestClient) -> None:
    _error(client.get("/nope"), 404, "not_found")
    resp = client.get("/ask")
    _error(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == "POST"


# ---------------------------------------------------------------- OpenAPI
def test_openapi_documents_everything(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/ask", "/search", "/documents/{doc_id}", "/health", "/ready", "/info"} <= set(paths)
    schemas = spec["components"]["schemas"]
    names = "AskRequest SearchRequest FiltersModel AnswerModel CitationModel HitModel DocumentModel"
    for name in [*names.split(), "PassageModel", "ErrorResponse", "InfoResponse", "ReadyResponse"]:
        assert name in schemas
    ask = paths["/ask"]["post"]
    assert ask["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert schemas["AskRequest"]["properties"]["k"]["maximum"] == 50
    assert paths["/ready"]["get"]["responses"]["503"]
    assert client.get("/docs").status_code == 200
