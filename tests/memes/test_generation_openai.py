"""The OpenAI-compatible backend against a fake server on 127.0.0.1: success, retries, and every fallback."""

from __future__ import annotations

import pytest

from memes.generation import generators_reset
from memes.generation.local import LocalGenerator, registry
from memes.generation.openai import OpenAIConfig, OpenAIGenerator, caption_parse
from memes.geo import Place
from memes.models import Meme
from tests.memes.ai_corpus import ENGLISH
from tests.memes.fake_openai import FakeOpenAI, Reply, completion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated_models(settings, tmp_path):
    settings.MEMES = {**settings.MEMES, "AI_MODEL_DIR": str(tmp_path)}
    registry.reset()
    generators_reset()
    Meme.objects.bulk_create(
        Meme(template=t, upper_text=u, lower_text=lw, text=f"{u} {lw}", language="en") for t, u, lw in ENGLISH
    )
    yield
    registry.reset()


@pytest.fixture
def server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def make_generator(server: FakeOpenAI, **overrides) -> OpenAIGenerator:
    config = {
        "base_url": server.base_url,
        "api_key": "sk-test",
        "model": "meme-model",
        "timeout": 2.0,
        "retries": 2,
        "deadline": 5.0,
        **overrides,
    }
    return OpenAIGenerator(fallback=LocalGenerator(), config=OpenAIConfig(**config))


PARIS = Place(city="Paris", region="Île-de-France", country="France", country_code="FR", distance_km=2.0)


def test_caption_from_the_api(server: FakeOpenAI) -> None:
    server.script = [Reply.caption("grumpy cat", "Coffee in Paris", "still tired")]
    caption = make_generator(server).generate(query="coffee", place=PARIS, lang="en", seed=7)
    assert caption.generator == "openai" and caption.language == "en"
    assert (caption.upper, caption.lower) == ("COFFEE IN PARIS", "STILL TIRED")
    assert caption.template == "Grumpy Cat"  # matched to a template we know, whatever its case
    assert caption.text == "COFFEE IN PARIS STILL TIRED"
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "meme-model" and request.body["seed"] == 7
    prompt = request.body["messages"][-1]["content"]
    assert "coffee" in prompt and "Paris" in prompt and "Grumpy Cat" in prompt


def test_unknown_template_is_replaced_by_the_best_known_one(server: FakeOpenAI) -> None:
    server.script = [Reply.caption("Some Template We Never Heard Of", "Gym day", "gym closed")]
    caption = make_generator(server).generate(query="gym", place=None, lang="en")
    assert caption.generator == "openai" and caption.template == "Bad Luck Brian"


def test_server_error_is_retried_then_succeeds(server: FakeOpenAI) -> None:
    server.script = [
        Reply(500, {"error": "boom"}),
        Reply(503, "unavailable"),
        Reply.caption("Success Kid", "Retry", "worked"),
    ]
    caption = make_generator(server).generate(query="retry", place=None, lang="en")
    assert caption.generator == "openai" and caption.upper == "RETRY"
    assert len(server.requests) == 3


def test_errors_past_the_retries_fall_back_to_the_local_model(server: FakeOpenAI) -> None:
    server.script = [Reply(500, {"error": "boom"})]
    caption = make_generator(server, retries=2).generate(query="pizza", place=None, lang="en", seed=1)
    assert caption.generator == "local" and "PIZZA" in caption.text
    assert len(server.requests) == 3


def test_slow_api_falls_back_to_the_local_model_in_bounded_time(server: FakeOpenAI) -> None:
    # The answer would come, a good one, five times the deadline later: a local caption means the
    # generator stopped waiting for it on its own.
    server.script = [Reply.caption("Success Kid", "too", "late", delay=5.0)]
    caption = make_generator(server, timeout=0.3, deadline=1.0).generate(query="pizza", place=None, lang="en", seed=1)
    assert caption.generator == "local" and "PIZZA" in caption.text
    assert len(server.requests) == 1  # a slow answer is not waited for twice


def test_retries_stop_at_the_deadline(server: FakeOpenAI) -> None:
    # 20 retries allowed, each answer 0.25 s late: fewer than 5 attempts means the deadline stopped them.
    server.script = [Reply(503, "busy", delay=0.25)]
    caption = make_generator(server, retries=20, deadline=0.8).generate(query="pizza", place=None, lang="en")
    assert caption.generator == "local"
    assert 1 <= len(server.requests) < 5


@pytest.mark.parametrize(
    "reply",
    [
        Reply.content("Sure! Here is a meme about pizza: PIZZA TIME"),  # not JSON
        Reply.content('{"template": "Success Kid", "upper": "unterminated'),  # broken JSON
        Reply.content('["a", "list"]'),
        Reply.content('{"template": "Success Kid", "upper": 42, "lower": "x"}'),
        Reply.content('{"template": "Success Kid", "upper": "", "lower": ""}'),
        Reply(200, "this is not a chat completion"),
        Reply(200, {"choices": []}),
    ],
    ids=["prose", "broken-json", "json-list", "wrong-type", "empty", "body-not-json", "no-choices"],
)
def test_garbage_answer_falls_back_to_the_local_model(server: FakeOpenAI, reply: Reply) -> None:
    server.script = [reply]
    caption = make_generator(server).generate(query="pizza", place=None, lang="en", seed=2)
    assert caption.generator == "local" and "PIZZA" in caption.text
    assert len(server.requests) == 1  # garbage is not retried


def test_unsafe_answer_falls_back_to_the_local_model(server: FakeOpenAI) -> None:
    server.script = [Reply.caption("Success Kid", "pizza is fucking great", "buy now at pizza.com")]
    caption = make_generator(server).generate(query="pizza", place=None, lang="en", seed=3)
    assert caption.generator == "local"
    assert "FUCK" not in caption.text and "PIZZA" in caption.text


def test_rejected_key_is_not_retried(server: FakeOpenAI) -> None:
    server.script = [Reply(401, {"error": {"message": "bad key"}})]
    caption = make_generator(server).generate(query="pizza", place=None, lang="en")
    assert caption.generator == "local" and len(server.requests) == 1


def test_unreachable_api_falls_back(server: FakeOpenAI) -> None:
    generator = make_generator(server, base_url="http://127.0.0.1:9/v1", retries=1, deadline=2.0)
    caption = generator.generate(query="pizza", place=None, lang="en")
    assert caption.generator == "local" and "PIZZA" in caption.text


def test_api_that_keeps_failing_is_skipped_for_a_while(server: FakeOpenAI) -> None:
    server.script = [Reply(401, "no")]
    generator = make_generator(server)
    for _ in range(3):
        generator.generate(query="pizza", place=None, lang="en")
    assert len(server.requests) == 3
    caption = generator.generate(query="pizza", place=None, lang="en")
    assert caption.generator == "local" and len(server.requests) == 3  # the circuit is open: no call


def test_not_configured_means_local(server: FakeOpenAI, settings) -> None:
    settings.MEMES = {**settings.MEMES, "OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
    caption = OpenAIGenerator(fallback=LocalGenerator()).generate(query="pizza", place=None, lang="en")
    assert caption.generator == "local" and not server.requests


def test_settings_are_read_at_call_time(server: FakeOpenAI, settings) -> None:
    server.script = [Reply.caption("Success Kid", "from", "settings")]
    settings.MEMES = {**settings.MEMES, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-settings"}
    caption = OpenAIGenerator(fallback=LocalGenerator()).generate(query="x", place=None, lang="en")
    assert caption.generator == "openai"
    assert server.requests[0].headers["authorization"] == "Bearer sk-settings"


def test_caption_parse_accepts_fenced_and_chatty_json() -> None:
    fenced = completion('```json\n{"template": "T", "upper": "a\\nb", "lower": "c"}\n```')
    assert caption_parse(fenced) == {"template": "T", "upper": "a b", "lower": "c"}
    chatty = completion('Here you go: {"upper": "top", "lower": null} Enjoy!')
    assert caption_parse(chatty) == {"template": "", "upper": "top", "lower": ""}


def test_caption_parse_refuses_overlong_lines() -> None:
    with pytest.raises(ValueError, match="too long"):
        caption_parse(completion('{"template": "T", "upper": "%s", "lower": "x"}' % ("a" * 500)))
