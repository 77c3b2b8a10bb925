"""Meme search, in memory (``memes.selectors.meme_search`` is the way in).

Why in memory: a paid search call has a budget of a few milliseconds at thousands of requests per
second, so it must not query the database. PostgreSQL full-text search measured 0.54 / 7.5 ms
p50/p99 with ranking at 100k memes (../shared/MEASUREMENTS.md) and needs a round trip. What is
indexed: catalogue memes (kinds "text" and "image"), safe and unsafe (unsafe ones are masked at
query time unless asked for), one copy of each identical re-post. AI-generated memes ("ai") are made
for one client's prompt and are not searchable.

- :mod:`memes.search.engine` — the index and its exact and fuzzy query modes (pure computation);
- :mod:`memes.search.holder` — the index this process serves: freshness, rebuild threads, memory.
"""
