"""The chat's ``ask`` API endpoint, called with gradio_client, returns ``qa.ask(...).to_dict()``."""

from __future__ import annotations

from typing import Any

import pytest

from ttqa import QA

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

QUESTIONS = (
    "Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?",
    "ai chu tri hoi nghi so ket cong tac to chuc xay dung dang 6 thang dau nam 2020",
)


@pytest.fixture(scope="module")
def client(chat_app: Any) -> Any:
    from gradio_client import Client

    # download_files=False: gradio_client 2.x, talking to a gradio 6 server (protocol sse_v3),
    # treats any output dict with a string "path" key as a file to download, and every citation
    # carries the article's "path". The server's JSON is unchanged; only the client needs this.
    return Client(chat_app.url, verbose=False, download_files=False)


@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_endpoint_matches_the_library(client: Any, seed_qa: QA, question: str) -> None:
    got = client.predict(question, api_name="/ask")
    assert got == seed_qa.ask(question).to_dict()


def test_ask_endpoint_passes_mode_and_k(client: Any, seed_qa: QA) -> None:
    question = QUESTIONS[0]
    got = client.predict(question, "bm25", 3, api_name="/ask")
    assert got == seed_qa.ask(question, k=3, mode="bm25").to_dict()


def test_only_ask_is_public(client: Any) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/ask"]


def test_bad_input_is_an_error(client: Any) -> None:
    with pytest.raises(Exception, match=r"empty|trống"):
        client.predict("   ", api_name="/ask")
