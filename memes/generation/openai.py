"""AI memes from an OpenAI-compatible chat-completions API, with the local model as the safety net.

``POST {OPENAI_BASE_URL}/chat/completions`` with ``Authorization: Bearer {OPENAI_API_KEY}``; the prompt
asks for one JSON object ``{"template", "upper", "lower"}``. Whatever goes wrong falls back to the local
generator, so a client always gets a meme and the call stays bounded in time:

* each attempt has a timeout (``OPENAI_TIMEOUT``) and all attempts together a deadline
  (``OPENAI_DEADLINE``); a slow answer is not waited for twice (a timeout is not retried);
* connection errors, 429 and 5xx are retried (``OPENAI_RETRIES`` times) with exponential backoff and
  jitter, never past the deadline; other 4xx (bad key, unknown model) are not;
* an answer that is not the JSON we asked for, or whose caption fails the safety filter, is not retried:
  the local model answers at once;
* after ``_BREAKER_FAILURES`` calls in a row that fell back, the backend is skipped for
  ``_BREAKER_SECONDS`` (every call would otherwise wait for the deadline while the API is down).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from memes import metrics
from memes.conf import memes_setting
from memes.generation.base import GeneratedCaption, MemeGenerator
from memes.generation.local import LocalGenerator, caption_is_safe, place_label
from memes.generation.training import language_normalize

if TYPE_CHECKING:
    from memes.geo import Place

logger = logging.getLogger("memes.generation")

_RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_BACKOFF_BASE = 0.2  # seconds before the first retry; doubles each time
_CONNECT_TIMEOUT = 2.0
_BREAKER_FAILURES = 3
_BREAKER_SECONDS = 30.0
_MAX_LINE_CHARS = 150
_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)

_SYSTEM_PROMPT = (
    "You write captions for image macro memes: a top line and a bottom line, like real memes. "
    "Be funny and short (at most 10 words per line) and safe for work: no slurs, no profanity, no sexual "
    "content, no links. Reply with one JSON object and nothing else, exactly of the form "
    '{"template": "<one of the templates offered>", "upper": "<top line>", "lower": "<bottom line>"}.'
)


@dataclass(frozen=True)
class OpenAIConfig:
    base_url: str
    api_key: str
    model: str
    timeout: float
    retries: int
    deadline: float

    @classmethod
    def from_settings(cls) -> OpenAIConfig:
        return cls(
            base_url=str(memes_setting("OPENAI_BASE_URL") or "").rstrip("/"),
            api_key=str(memes_setting("OPENAI_API_KEY") or ""),
            model=str(memes_setting("OPENAI_MODEL")),
            timeout=float(memes_setting("OPENAI_TIMEOUT")),
            retries=max(0, int(memes_setting("OPENAI_RETRIES"))),
            deadline=float(memes_setting("OPENAI_DEADLINE")),
        )


class _Failure(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def caption_parse(body: Any) -> dict[str, str]:
    """``{"template", "upper", "lower"}`` from a chat-completions response body; ``ValueError`` if it is not one.

    Defensive: the content may be wrapped in a Markdown fence or surrounded by chatter, values may be
    missing, of the wrong type, or far too long.
    """
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise ValueError("content is not a string")
    content = _FENCE_RE.sub("", content.strip())
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the content")
    try:
        data = json.loads(content[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"content is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError("content is not a JSON object")
    caption = {}
    for key in ("template", "upper", "lower"):
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"{key} is not a string")
        value = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value).split())
        if len(value) > _MAX_LINE_CHARS:
            raise ValueError(f"{key} is too long")
        caption[key] = value
    if not (caption["upper"] or caption["lower"]):
        raise ValueError("empty caption")
    return caption


class OpenAIGenerator:
    """Captions from an OpenAI-compatible API; the fallback generator answers whenever it cannot."""

    name = "openai"

    def __init__(self, *, fallback: MemeGenerator | None = None, config: OpenAIConfig | None = None) -> None:
        self._fallback = fallback or LocalGenerator()
        self._config = config  # None: read the settings on each call, so they can change under tests
        self._local = threading.local()
        self._lock = threading.Lock()
        self._failures = 0
        self._skip_until = 0.0

    def generate(self, *, query: str, place: Place | None, lang: str, seed: int | None = None) -> GeneratedCaption:
        config = self._config or OpenAIConfig.from_settings()
        lang = language_normalize(lang)
        started = time.monotonic()
        reason, attempts = "", 0
        if not (config.base_url and config.api_key):
            reason = "not_configured"
        elif started < self._skip_until:
            reason = "circuit_open"
        else:
            candidates = self._template_candidates(query, lang)
            payload = self._payload(config, query=query, place=place, lang=lang, seed=seed, templates=candidates)
            try:
                caption, attempts = self._call(config, payload, started)
                template = next((t for t in candidates if t.lower() == caption["template"].lower()), "")
                upper, lower = caption["upper"].upper(), caption["lower"].upper()
                text = " ".join(part for part in (upper, lower) if part)
                if not caption_is_safe(text, lang=lang):
                    raise _Failure("unsafe_text", retry=False)
                self._record(success=True)
                return GeneratedCaption(
                    # A template we do not know would have no picture: use the best one for the query.
                    template=template or (candidates[0] if candidates else caption["template"] or "Meme"),
                    upper=upper,
                    lower=lower,
                    text=text,
                    generator=self.name,
                    language=lang,
                )
            except _Failure as failure:
                reason = failure.reason
                self._record(success=False)
        metrics.AI_FALLBACKS.labels(reason=reason or "unknown").inc()
        logger.warning(
            "ai_openai_fallback reason=%s attempts=%d elapsed_ms=%.0f fallback=%s",
            reason,
            attempts,
            (time.monotonic() - started) * 1000,
            self._fallback.name,
        )
        return self._fallback.generate(query=query, place=place, lang=lang, seed=seed)

    def _call(self, config: OpenAIConfig, payload: dict[str, Any], started: float) -> tuple[dict[str, str], int]:
        deadline = started + config.deadline
        url = f"{config.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {config.api_key}", "Content-Type": "application/json"}
        failure = _Failure("deadline", retry=False)
        for attempt in range(1, config.retries + 2):
            remaining = deadline - time.monotonic()
            if remaining <= 0.01:
                raise failure
            try:
                response = self._session().post(
                    url,
                    json=payload,
                    headers=headers,
                    timeout=(min(_CONNECT_TIMEOUT, remaining), min(config.timeout, remaining)),
                )
            except requests.ConnectTimeout:
                failure = _Failure("connect_timeout", retry=True)
            except requests.Timeout:
                raise _Failure("timeout", retry=False) from None  # slow: waiting again would be slower
            except requests.RequestException as exc:
                failure = _Failure(f"connection_error:{type(exc).__name__}", retry=True)
            else:
                if response.status_code in _RETRY_STATUSES:
                    failure = _Failure(f"http_{response.status_code}", retry=True)
                elif response.status_code >= 300:
                    raise _Failure(f"http_{response.status_code}", retry=False)
                else:
                    try:
                        return caption_parse(response.json()), attempt
                    except ValueError as exc:  # requests' JSONDecodeError is a ValueError too
                        raise _Failure(f"malformed:{str(exc)[:60].replace(' ', '_')}", retry=False) from None
            # Exponential backoff with jitter, so that many workers do not retry in step.
            pause = _BACKOFF_BASE * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
            if attempt > config.retries or time.monotonic() + pause >= deadline:
                break
            logger.info("ai_openai_retry reason=%s attempt=%d pause_ms=%.0f", failure.reason, attempt, pause * 1000)
            time.sleep(pause)
        raise failure

    def _record(self, *, success: bool) -> None:
        with self._lock:
            if success:
                self._failures = 0
                return
            self._failures += 1
            if self._failures >= _BREAKER_FAILURES:
                self._skip_until = time.monotonic() + _BREAKER_SECONDS
                self._failures = 0
                logger.warning("ai_openai_circuit_open seconds=%.0f", _BREAKER_SECONDS)

    def _session(self) -> requests.Session:
        # One session (connection pool) per thread: requests does not promise a Session is thread-safe.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _template_candidates(self, query: str, lang: str) -> list[str]:
        if isinstance(self._fallback, LocalGenerator):
            return self._fallback.model_for(lang).template_candidates(query, limit=8)
        return []

    @staticmethod
    def _payload(
        config: OpenAIConfig, *, query: str, place: Place | None, lang: str, seed: int | None, templates: list[str]
    ) -> dict[str, Any]:
        where = place_label(place)
        parts = [f"Write a new meme in the language with ISO code '{lang}'."]
        parts.append(f"Topic: {query.strip()[:200]!r}." if query.strip() else "Topic: anything fun.")
        if where:
            parts.append(f"The reader is in {where}.")
        parts.append("The caption must mention the topic" + (" or the place." if where else "."))
        if templates:
            parts.append("Choose the template from: " + "; ".join(templates) + ".")
        payload: dict[str, Any] = {
            "model": config.model,
            "messages": [{"role": "system", "content": _SYSTEM_PROMPT}, {"role": "user", "content": " ".join(parts)}],
            "temperature": 0.9,
            "max_tokens": 150,
            "response_format": {"type": "json_object"},
        }
        if seed is not None:
            payload["seed"] = seed
        return payload
