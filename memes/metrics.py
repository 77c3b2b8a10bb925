"""Prometheus series of serving memes: paid calls by outcome, tokens charged by meme kind, search
latency by mode, AI generation latency and fallbacks, and the PNG cache.

Counters and histograms of prometheus_client, so they are multiprocess-safe the same way as the
HTTP series (``config.metrics``): with ``PROMETHEUS_MULTIPROC_DIR`` set (deploy/serve sets it),
each process writes its values to a memory-mapped file there and ``/metrics`` sums the files of
every process. Label values are a small fixed set, and the children for them are made once here:
``.labels()`` takes a lock and a dict lookup, ~1 µs a call, on the paid call's hot path.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# --- Paid calls -------------------------------------------------------------------------------
PAID_OUTCOMES = ("served", "replayed", "insufficient_tokens", "not_found")
_paid_calls = Counter(
    "maas_paid_calls",
    "Paid meme calls (search, by id, PNG) by outcome: served (charged), replayed (an Idempotency-Key "
    "repeat, charged 0), insufficient_tokens (402), not_found (404: no match or no such meme).",
    ["outcome"],
)
PAID_CALLS = {outcome: _paid_calls.labels(outcome=outcome) for outcome in PAID_OUTCOMES}

TOKEN_KINDS = ("text", "image", "ai")
_tokens_charged = Counter(
    "maas_tokens_charged",
    "Tokens charged for memes served, by the kind that set the price: text, image (a PNG or an image "
    "meme) or ai (a generated meme, as JSON or PNG).",
    ["kind"],
)
TOKENS_CHARGED = {kind: _tokens_charged.labels(kind=kind) for kind in TOKEN_KINDS}

# --- Search -------------------------------------------------------------------------------------
_search_seconds = Histogram(
    "maas_search_seconds",
    "Time to search the in-memory index, by mode (exact: BM25; fuzzy: typo-tolerant).",
    ["mode"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
SEARCH_SECONDS = {mode: _search_seconds.labels(mode=mode) for mode in ("exact", "fuzzy")}

# --- AI generation ------------------------------------------------------------------------------
AI_SECONDS = Histogram(
    "maas_ai_generation_seconds",
    "Time to generate an AI caption, by the generator that produced it (local, openai); a fallback "
    "counts under local and its time includes the failed OpenAI attempts.",
    ["generator"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AI_FALLBACKS = Counter(
    "maas_ai_fallbacks",
    "AI captions the OpenAI backend could not give, answered by the local model instead, by reason "
    "(timeout, http_5xx, circuit_open, not_configured, unsafe_text, ...).",
    ["reason"],
)

# --- Images -------------------------------------------------------------------------------------
_png_cache = Counter(
    "maas_png_cache_lookups",
    "PNG renders looked up in the cache: hit (served from the cache) or miss (rendered, 10-30 ms).",
    ["result"],
)
PNG_CACHE = {result: _png_cache.labels(result=result) for result in ("hit", "miss")}
