# ruff: noqa: RUF001  (Russian captions are intended)
"""Write the bundled sample catalogue: ``python memes/sample/make_sample.py``.

Every caption and template name here is our own, composed from the word lists below (nothing is
copied from the LoC data set), in the LoC 2019 format so that ``make run`` exercises the real
import. Deterministic: the same files come out on every run. What it contains, on purpose:

* ~30 made-up templates, mostly English captions, some Spanish, Russian and German;
* captions naming cities and countries (Paris, Berlin, Texas, ...) so that place ranking shows;
* "paranoid" captions for the fuzzy demo (``paran`` finds them);
* a few unsafe rows (a spam link, a call to action, mild profanity) that the safety filter hides;
* LoC "-" placeholders: no image, no MD5/size, a missing upper or lower text.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere: the repository root

from memes.loc_format import COLUMNS_2019  # noqa: E402

FIRST_ID = 90_000_001  # far above the LoC Meme IDs (10M-35M), so the sample never collides with them

TEMPLATES = [
    "Paranoid Pigeon",
    "Smug Toaster",
    "Confused Astronaut",
    "Overly Honest Barista",
    "Sleepy Office Cat",
    "Victorious Toddler",
    "Skeptical Owl",
    "Dramatic Hamster",
    "Unimpressed Llama",
    "Startled Developer",
    "Philosophical Goat",
    "Proud Grandma",
    "Suspicious Raccoon",
    "Excited Intern",
    "Tired Marathon Runner",
    "Wise Old Tortoise",
    "Nervous Penguin",
    "Optimistic Snail",
    "Lazy Sunday Dog",
    "Enlightened Cactus",
    "Conspiracy Squirrel",
    "Stubborn Printer",
    "Polite Robot",
    "Heroic Pizza Courier",
    "Bewildered Tourist",
    "Grumpy Lighthouse Keeper",
    "Jealous Houseplant",
    "Determined Sloth",
    "Cheerful Spreadsheet",
    "Overconfident Chess Pigeon",
]

EN_UPPER = [
    "when you {verb} {thing}",
    "me trying to {verb} {thing}",
    "nobody: absolutely nobody:",
    "they said i could not {verb} {thing}",
    "first day at the new job",
    "finally {verb_past} {thing}",
    "i am not saying it was aliens",
    "one more coffee",
    "monday morning meeting",
    "if you can read this",
    "my plan for the weekend",
    "every single time i {verb} {thing}",
]
EN_LOWER = [
    "and it works on the first try",
    "but it was {thing} all along",
    "i regret nothing",
    "it was at this moment he knew",
    "and then the wifi died",
    "still better than {thing}",
    "ten out of ten would do again",
    "so that is how it ends",
    "the printer saw everything",
    "nobody expected {thing}",
    "but first a nap",
    "instant regret",
]
EN_VERBS = ["fix", "find", "explain", "deploy", "cook", "forget", "lose", "paint", "rename", "email", "ignore", "hug"]
EN_VERBS_PAST = ["fixed", "found", "explained", "deployed", "cooked", "painted", "renamed", "emailed", "hugged"]
EN_THINGS = [
    "the bug",
    "the spreadsheet",
    "my keys",
    "the last slice of pizza",
    "a tiny hat",
    "the meeting notes",
    "the office plant",
    "a suspicious sandwich",
    "the group chat",
    "my password",
    "the remote control",
    "a very large cabbage",
    "the fire drill",
    "grandma's recipe",
    "the password manager",
]
PLACES = [
    "Paris",
    "Berlin",
    "Texas",
    "Tokyo",
    "London",
    "Madrid",
    "Moscow",
    "New York",
    "Rome",
    "Sydney",
    "Germany",
    "France",
    "Spain",
    "Canada",
    "Brazil",
]
EN_PLACE_CAPTIONS = [
    ("when the tourists in {place}", "ask you for directions again"),
    ("weather report for {place}", "bring an umbrella and a second umbrella"),
    ("moved to {place}", "still cannot find a good bagel"),
    ("greetings from {place}", "the pigeons here are extremely confident"),
    ("everyone in {place} on a sunny day", "outside immediately"),
    ("rush hour in {place}", "faster to walk"),
]
EN_PARANOID = [
    ("the toaster is watching me", "i am not paranoid you are paranoid"),
    ("heard a noise in the kitchen", "paranoid mode activated"),
    ("someone liked my post from 2012", "getting a little paranoid now"),
    ("paranoid about the stove", "went back home four times"),
]

ES_CAPTIONS = [
    ("cuando por fin terminas la tarea", "y era para la semana pasada"),
    ("yo en el gimnasio", "cinco minutos despues"),
    ("mi jefe el lunes", "otra reunion que pudo ser un correo"),
    ("cuando llueve en {place}", "y olvidaste el paraguas"),
    ("nadie:", "absolutamente nadie:"),
    ("la abuela cuando no comes", "come un poco mas"),
    ("intentando aprender ingles", "the book is on the table"),
    ("el wifi de la oficina", "funciona cuando quiere"),
]
RU_CAPTIONS = [
    ("когда наконец починил баг", "а это была опечатка"),
    ("я в понедельник утром", "кофе не помогает"),
    ("погода в {place}", "возьми зонтик"),
    ("нельзя просто так взять", "и уйти с работы вовремя"),
    ("бабушка когда ты не голоден", "надо покушать"),
]
DE_CAPTIONS = [
    ("wenn der Drucker wieder streikt", "und niemand weiss warum"),
    ("ich am Montag", "nur noch fuenf Minuten"),
    ("Wetter in {place}", "Regenschirm nicht vergessen"),
    ("wenn die Bahn puenktlich ist", "ein Wunder"),
]
ES_PLACES = ["Madrid", "Barcelona", "Buenos Aires", "Mexico"]
RU_PLACES = ["Moscow", "Saint Petersburg"]
DE_PLACES = ["Berlin", "Munich", "Hamburg"]

UNSAFE = [
    ("en", "Smug Toaster", "cheap memes every day", "visit www.meme-deals.example.com now"),
    ("en", "Excited Intern", "free followers", "click here to earn money fast"),
    ("en", "Stubborn Printer", "this printer", "is such bullshit"),
    ("en", "Grumpy Lighthouse Keeper", "another storm", "oh shit here we go again"),
    ("es", "Suspicious Raccoon", "el lunes otra vez", "que mierda"),
    ("de", "Stubborn Printer", "der Drucker", "so eine Scheisse"),
    ("ru", "Tired Marathon Runner", "опять дедлайн", "какое говно"),
]

COLUMNS = list(COLUMNS_2019)


def _row(meme_id: int, template: str, upper: str, lower: str, rng: random.Random, *, vary: bool = True) -> list[str]:
    # LoC's shapes: a meme with only a bottom (or top) line, and rows where only the alternate text
    # (the whole caption) is known.
    shape = rng.random() if vary else 1.0
    if shape < 0.06:
        upper = ""
    elif shape < 0.12:
        lower = ""
    alternate = " ".join(part for part in (upper, lower) if part) or "-"
    if 0.12 <= shape < 0.16:
        upper = lower = ""
    # No images ship with the sample: the archived URL, page URL, MD5 and size are LoC's "-".
    return [str(meme_id), "-", template, "-", "-", "-", alternate, template, upper or "-", lower or "-"]


def build(rng: random.Random) -> list[tuple[list[str], str]]:
    rows: list[tuple[list[str], str]] = []

    def add(language: str, template: str, upper: str, lower: str, *, vary: bool = True) -> None:
        rows.append((_row(FIRST_ID + len(rows), template, upper, lower, rng, vary=vary), language))

    def fill(pattern: str) -> str:
        return pattern.format(
            verb=rng.choice(EN_VERBS),
            verb_past=rng.choice(EN_VERBS_PAST),
            thing=rng.choice(EN_THINGS),
            place=rng.choice(PLACES),
        )

    for _ in range(280):
        add("en", rng.choice(TEMPLATES), fill(rng.choice(EN_UPPER)), fill(rng.choice(EN_LOWER)))
    for place in [*PLACES, *PLACES, "Paris", "Paris", "Berlin", "Berlin", "Texas", "Texas"]:
        upper, lower = rng.choice(EN_PLACE_CAPTIONS)
        add("en", rng.choice(TEMPLATES), upper.format(place=place), lower)
    for upper, lower in EN_PARANOID:
        add("en", "Paranoid Pigeon", upper, lower)
        add("en", rng.choice(["Suspicious Raccoon", "Conspiracy Squirrel"]), upper, lower)
    for language, captions, places, count in (
        ("es", ES_CAPTIONS, ES_PLACES, 40),
        ("ru", RU_CAPTIONS, RU_PLACES, 25),
        ("de", DE_CAPTIONS, DE_PLACES, 20),
    ):
        for _ in range(count):
            upper, lower = rng.choice(captions)
            add(language, rng.choice(TEMPLATES), upper.format(place=rng.choice(places)), lower)
    for language, template, upper, lower in UNSAFE:
        add(language, template, upper, lower, vary=False)
    return rows


def main() -> None:
    rows = build(random.Random(20240601))
    with (HERE / "sample_memes.csv").open("w", newline="", encoding="utf-8") as memes_file:
        writer = csv.writer(memes_file, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(row for row, _ in rows)
    with (HERE / "sample_languages.csv").open("w", newline="", encoding="utf-8") as languages_file:
        writer = csv.writer(languages_file, lineterminator="\n")
        writer.writerow(["Meme ID", "Language"])
        writer.writerows([row[0], language] for row, language in rows)
    print(f"wrote {len(rows)} memes to {HERE}")


if __name__ == "__main__":
    main()
