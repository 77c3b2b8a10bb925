"""The operators' admin: top-ups go through the ledger, the balance and the ledger cannot be edited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import LedgerEntry, TokenAccount
from tests.billing.helpers import assert_ledger_consistent, balance, charge

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("operator", password="not-a-real-password-1")
    client.force_login(user)
    return client


def _topup_url(client_id: int) -> str:
    return reverse("admin:billing_tokenaccount_topup", args=[client_id])


def test_account_page_offers_a_top_up_and_shows_usage(operator, make_client):
    customer, _ = make_client(tokens=10)
    charge(customer.pk, price=3)
    page = operator.get(reverse("admin:billing_tokenaccount_change", args=[customer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert _topup_url(customer.pk) in html
    assert "paid calls per day" in html.lower() and "<td>1</td><td>3</td>" in html
    assert 'name="balance"' not in html  # shown, never an input


def test_top_up_form_writes_a_ledger_credit_in_the_operators_name(operator, make_client):
    customer, _ = make_client(tokens=10)
    response = operator.post(_topup_url(customer.pk), {"tokens": 250, "reason": "goodwill"}, follow=True)
    assert response.status_code == 200
    assert "Credited 250 tokens" in response.content.decode()
    assert balance(customer.pk) == 260
    entry = LedgerEntry.objects.filter(account_id=customer.pk).first()  # newest first
    assert (entry.kind, entry.amount, entry.reason, entry.actor) == ("credit", 250, "goodwill", "admin:operator")
    assert_ledger_consistent()


def test_top_up_form_with_a_purchase_id_credits_it_once(operator, make_client):
    customer, _ = make_client()
    for _ in range(2):
        operator.post(_topup_url(customer.pk), {"tokens": 30, "purchase_id": "inv-7"})
    assert balance(customer.pk) == 30
    conflict = operator.post(_topup_url(customer.pk), {"tokens": 31, "purchase_id": "inv-7"})
    assert conflict.status_code == 200 and "already credited with another amount" in conflict.content.decode()
    assert balance(customer.pk) == 30


@pytest.mark.parametrize("tokens", ["0", "-3", "1.5", "abc", "10000001"])
def test_top_up_form_rejects_bad_amounts(operator, make_client, tokens):
    customer, _ = make_client(tokens=1)
    response = operator.post(_topup_url(customer.pk), {"tokens": tokens})
    assert response.status_code == 200  # the form again, with its error
    assert "errorlist" in response.content.decode()
    assert balance(customer.pk) == 1


def test_balance_cannot_be_edited_and_accounts_cannot_be_added_or_deleted(operator, make_client):
    customer, _ = make_client(tokens=5)
    change = operator.post(reverse("admin:billing_tokenaccount_change", args=[customer.pk]), {"balance": 999})
    assert change.status_code == 403
    assert operator.get(reverse("admin:billing_tokenaccount_add")).status_code == 403
    assert operator.post(reverse("admin:billing_tokenaccount_delete", args=[customer.pk])).status_code == 403
    assert balance(customer.pk) == 5


def test_ledger_is_read_only_in_the_admin(operator, make_client):
    customer, _ = make_client(tokens=5)
    entry = LedgerEntry.objects.get(account_id=customer.pk)
    assert operator.get(reverse("admin:billing_ledgerentry_add")).status_code == 403
    view = operator.get(reverse("admin:billing_ledgerentry_change", args=[entry.pk]))
    assert view.status_code == 200 and 'name="amount"' not in view.content.decode()
    assert operator.post(reverse("admin:billing_ledgerentry_change", args=[entry.pk]), {"amount": 1}).status_code == 403
    assert operator.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk])).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 5


def test_ledger_list_filters_by_account_kind_and_search(operator, make_client):
    alice, _ = make_client("alice", tokens=5)
    make_client("bob", tokens=5)
    charge(alice.pk)
    url = reverse("admin:billing_ledgerentry_changelist")
    only_alice = operator.get(url, {"account": alice.pk}).content.decode()
    assert only_alice.count(">alice<") == 2 and ">bob<" not in only_alice
    debits = operator.get(url, {"kind__exact": "debit"}).content.decode()
    assert debits.count(">alice<") == 1 and ">bob<" not in debits
    assert ">bob<" in operator.get(url, {"q": "bob"}).content.decode()


def test_account_list_shows_usage_per_client(operator, make_client):
    customer, _ = make_client("heavy-user", tokens=9)
    for _ in range(4):
        charge(customer.pk, price=2)
    html = operator.get(reverse("admin:billing_tokenaccount_changelist")).content.decode()
    assert "heavy-user" in html and '<td class="field-paid_calls">4</td>' in html
    assert '<td class="field-tokens_spent">8</td>' in html


def test_staff_without_the_top_up_permission_cannot_top_up(client, django_user_model, make_client):
    customer, _ = make_client(tokens=1)
    viewer = django_user_model.objects.create_user("viewer", password="x-1-not-real", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_tokenaccount"))
    client.force_login(viewer)
    page = client.get(reverse("admin:billing_tokenaccount_change", args=[customer.pk]))
    assert page.status_code == 200 and _topup_url(customer.pk) not in page.content.decode()
    assert client.post(_topup_url(customer.pk), {"tokens": 5}).status_code == 403
    assert TokenAccount.objects.get(client=customer).balance == 1
