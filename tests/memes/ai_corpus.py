# ruff: noqa: RUF001  (Cyrillic test captions are intended)
"""Small caption corpora (written for these tests) for the AI generator: (template, upper, lower)."""

from __future__ import annotations

import re

ENGLISH = [
    ("Grumpy Cat", "You made coffee for me", "I prefer it cold and bitter"),
    ("Grumpy Cat", "Another monday morning", "wake me up on friday"),
    ("Grumpy Cat", "I had fun once", "it was terrible"),
    ("Grumpy Cat", "You want a hug", "how about no"),
    ("Grumpy Cat", "They asked me to smile", "so I stared at the wall"),
    ("Grumpy Cat", "Sunshine and birds singing", "close the curtains"),
    ("Grumpy Cat", "A party at the office", "I will stay home"),
    ("Grumpy Cat", "The coffee machine is broken", "today is cancelled"),
    ("Grumpy Cat", "My owner bought a new sofa", "it is my scratching post now"),
    ("Success Kid", "Found money in my old jacket", "buying a pizza tonight"),
    ("Success Kid", "The bus came on time", "best day of the week"),
    ("Success Kid", "Fixed the bug on the first try", "nobody saw the mess"),
    ("Success Kid", "Made coffee before the meeting", "finally awake on monday"),
    ("Success Kid", "Passed the exam", "without opening the book"),
    ("Success Kid", "The printer worked", "on the first try"),
    ("Success Kid", "Got the last slice of pizza", "victory is mine"),
    ("Success Kid", "Woke up before the alarm", "feeling like a hero"),
    ("Success Kid", "Cleaned the kitchen", "and found my keys"),
    ("Philosoraptor", "If coffee is a bean", "is my latte a salad"),
    ("Philosoraptor", "If the early bird gets the worm", "why is the cat still sleeping"),
    ("Philosoraptor", "If time is money", "is an atm a time machine"),
    ("Philosoraptor", "Why is it called a building", "when it is already built"),
    ("Philosoraptor", "If a pizza is round", "why does it come in a square box"),
    ("Philosoraptor", "If you clean a vacuum", "do you become the vacuum"),
    ("Philosoraptor", "If monday is the first day", "why does it feel like the last"),
    ("Philosoraptor", "What if the cat", "is the one training us"),
    ("Bad Luck Brian", "Orders a pizza", "delivered to his old house"),
    ("Bad Luck Brian", "Finally gets a day off", "it rains all day"),
    ("Bad Luck Brian", "Buys a new phone", "drops it in the coffee"),
    ("Bad Luck Brian", "Wins a free trip", "to his own town"),
    ("Bad Luck Brian", "Goes to the gym", "it is closed on monday"),
    ("Bad Luck Brian", "Takes a selfie with a cat", "the cat leaves the photo"),
    ("Bad Luck Brian", "Studies all night", "the exam was yesterday"),
    ("Bad Luck Brian", "Finds the perfect parking spot", "for a bicycle"),
]

RUSSIAN = [
    ("Грустный кот", "Опять понедельник", "и кофе закончился"),
    ("Грустный кот", "Сказали улыбаться", "я смотрю в стену"),
    ("Грустный кот", "Купили новый диван", "теперь это моя когтеточка"),
    ("Грустный кот", "Выпил кофе утром", "всё равно хочу спать"),
    ("Грустный кот", "На улице солнце", "закройте шторы"),
    ("Успешный малыш", "Нашёл деньги в куртке", "вечером будет пицца"),
    ("Успешный малыш", "Автобус пришёл вовремя", "лучший день недели"),
    ("Успешный малыш", "Сварил кофе до совещания", "наконец проснулся"),
    ("Успешный малыш", "Сдал экзамен", "не открывая книгу"),
    ("Успешный малыш", "Принтер заработал", "с первого раза"),
    ("Успешный малыш", "Убрал на кухне", "и нашёл ключи"),
]


def words_of(upper: str, lower: str) -> str:
    """A caption's words, for comparing captions regardless of case, punctuation and line break."""
    return " ".join(re.findall(r"\w+", f"{upper} {lower}".lower()))


def training_set(corpus: list[tuple[str, str, str]]) -> set[str]:
    return {words_of(upper, lower) for _, upper, lower in corpus}
