"""Train the local AI caption model from the safe catalogue captions, one model file per language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memes.generation.training import ai_model_train, language_normalize, model_path, training_languages


class Command(BaseCommand):
    help = (
        "Train the local AI meme model from the safe catalogue captions (AI memes excluded) and store it as "
        "ai_model_<lang>.json in MEMES['AI_MODEL_DIR'] (default: the var directory). Running servers pick "
        "the new file up within a second. Default: every language with at least --min-captions captions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lang",
            action="append",
            dest="languages",
            metavar="CODE",
            help="ISO 639-1 language to train (repeatable). Default: all languages with enough captions.",
        )
        parser.add_argument(
            "--min-captions",
            type=int,
            default=20,
            help="Without --lang, skip languages with fewer safe captions than this (default 20).",
        )
        parser.add_argument(
            "--output-dir", type=Path, help="Write the model files here instead of MEMES['AI_MODEL_DIR']."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        available = training_languages(min_captions=1)
        if options["languages"]:
            languages = list(dict.fromkeys(language_normalize(code) for code in options["languages"]))
            missing = [code for code in languages if code not in available]
            if missing:
                raise CommandError(
                    f"no safe captions in language(s) {', '.join(missing)}: import memes first "
                    f"(available: {', '.join(available) or 'none'})"
                )
        else:
            languages = [code for code, count in available.items() if count >= options["min_captions"]]
            if not languages:
                raise CommandError(
                    f"no language has {options['min_captions']} safe captions: import memes first "
                    "(manage.py import_memes) or lower --min-captions"
                )
        for index, lang in enumerate(languages, start=1):
            path = options["output_dir"] / model_path(lang).name if options["output_dir"] else None
            report = ai_model_train(lang=lang, path=path)
            self.stdout.write(
                f"[{index}/{len(languages)}] lang={lang} captions={report.captions} templates={report.templates} "
                f"bytes={report.bytes} seconds={report.seconds:.2f} path={report.path}"
            )
        self.stdout.write(self.style.SUCCESS(f"trained {len(languages)} model(s)"))
