from __future__ import annotations

import pytest
from django.conf import settings

from billing.services import paid_calls


# On SQLite the default path is the portable one: no need to run it twice.
@pytest.fixture(params=["default", "portable"] if settings.IS_POSTGRES else ["default"])
def charge_path(request, monkeypatch):
    """Run a test with each way of charging: PostgreSQL's single statement (the default there) and
    the portable select_for_update() path (the only one on SQLite)."""
    if request.param == "portable":
        monkeypatch.setattr(paid_calls, "SINGLE_STATEMENT_ON_POSTGRES", False)
    return request.param


@pytest.fixture
def role_groups(db):
    """The role groups, which a transactional test's flush removes (they come from a data migration)."""
    from django.contrib.auth.models import Group

    from accounts.roles import GROUP_ROLES

    for name in GROUP_ROLES:
        Group.objects.get_or_create(name=name)
