from __future__ import annotations

import pytest
from django.conf import settings as django_settings


# On SQLite the default path is the portable one: no need to run it twice.
@pytest.fixture(params=["default", "portable"] if django_settings.IS_POSTGRES else ["default"])
def charge_path(request, settings):
    """Run a test with each way of charging: PostgreSQL's single statement (the default there) and
    the portable select_for_update() path (the only one on SQLite)."""
    if request.param == "portable":
        settings.BILLING = {**settings.BILLING, "SINGLE_STATEMENT_ON_POSTGRES": False}
    return request.param


@pytest.fixture
def role_groups(db):
    """The role groups, which a transactional test's flush removes (they come from a data migration)."""
    from django.contrib.auth.models import Group

    from accounts.roles import GROUP_ROLES

    for name in GROUP_ROLES:
        Group.objects.get_or_create(name=name)
