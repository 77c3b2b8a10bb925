"""Reports from clients and operators' decisions: what hides a meme, and what an operator may do.

A meme reported by ``MEMES["REPORTS_TO_HIDE"]`` distinct clients (default 3) since the last
decision about it is hidden: served nowhere until an operator decides. A decision (keep with a
rating, re-rate by the rules, block) is recorded with who, when, what and why, and locks the
meme's rating (``rating_locked``): imports and ``rate_memes`` never undo it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.principal import Principal
from memes.conf import memes_setting
from memes.exceptions import MemeNotFound
from memes.models import Meme, MemeReport, ModerationDecision
from memes.rating import BLOCKED, CEILINGS, Rating
from memes.services.catalogue import catalogue_changed, meme_rating, rating_fields


@dataclass(frozen=True, slots=True)
class ReportResult:
    report: MemeReport
    created: bool  # False: this client had reported this meme already (nothing changed)
    hidden: bool  # the meme is hidden now


def meme_report(*, principal: Principal, meme_id: int, reason: str, note: str = "") -> ReportResult:
    """Record the client's report of a meme (once per client and meme); hide the meme when enough
    distinct clients reported it since the last decision. 404 for a meme the client cannot see."""
    with transaction.atomic():
        # The row lock serialises concurrent reports of one meme, so the count that hides it is exact.
        meme = Meme.objects.select_for_update().filter(pk=meme_id).first()
        if meme is None or meme.hidden or meme.rating == BLOCKED:
            raise MemeNotFound()
        if meme.kind == Meme.Kind.AI and meme.owner_id != principal.client_id:
            raise MemeNotFound()
        report, created = MemeReport.objects.get_or_create(
            meme=meme, client_id=principal.client_id, defaults={"reason": reason, "note": note[:500]}
        )
        hide = created and _reporters_since_decision(meme) >= int(memes_setting("REPORTS_TO_HIDE"))
        if hide:
            Meme.objects.filter(pk=meme.pk).update(hidden=True)
    if hide:
        catalogue_changed()  # every process drops it from search
    return ReportResult(report=report, created=created, hidden=hide or meme.hidden)


def _reporters_since_decision(meme: Meme) -> int:
    last = meme.decisions.order_by("-decided_at").values_list("decided_at", flat=True).first()
    reports = MemeReport.objects.filter(meme=meme)
    if last is not None:
        reports = reports.filter(created_at__gt=last)
    return reports.values("client_id").distinct().count()


def meme_decide(
    *, meme: Meme, operator_id: int | None, action: str, rating: str = "", note: str = ""
) -> ModerationDecision:
    """An operator's decision: ``keep`` (with ``rating``, else the current one), ``rerate`` (the
    rules' rating now), ``block``. Unhides the meme, locks its rating, records the decision."""
    before, was_hidden = meme.rating, meme.hidden
    if action == ModerationDecision.Action.KEEP:
        level = rating or (meme.rating if meme.rating != BLOCKED else "")
        if level not in CEILINGS:
            raise ValueError("keep needs a rating: g, pg, pg-13 or r")
        new = Rating(level, "operator", f"kept as {level} by an operator")
    elif action == ModerationDecision.Action.RERATE:
        new = meme_rating(meme)
    elif action == ModerationDecision.Action.BLOCK:
        new = Rating(BLOCKED, "operator", "blocked by an operator")
    else:
        raise ValueError(f"unknown moderation action {action!r}")
    with transaction.atomic():
        for name, value in rating_fields(new).items():
            setattr(meme, name, value)
        meme.rating_locked, meme.hidden = True, False
        meme.save(update_fields=[*rating_fields(new), "rating_locked", "hidden", "updated_at"])
        decision = ModerationDecision.objects.create(
            meme=meme,
            operator_id=operator_id,
            action=action,
            rating_before=before,
            rating_after=new.level,
            was_hidden=was_hidden,
            note=note[:500],
        )
    catalogue_changed()
    return decision
