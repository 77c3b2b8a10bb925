from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from accounts.selectors import client_exists
from privacy.selectors import client_export


class Command(BaseCommand):
    help = "Print everything stored about a client as one JSON document (a data subject's access request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", type=int, help="The client's id.")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not client_exists(client_id=options["client_id"]):
            raise CommandError(f"No client with id {options['client_id']}.")
        document = client_export(client_id=options["client_id"])
        text = json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        if options["output"] == "-":
            self.stdout.write(text)
        else:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text + "\n")
            self.stderr.write(f"Written to {options['output']}.")
