"""Operators' view of billing: accounts (balance read-only, top-ups only through the ledger), the
read-only ledger, and usage per client."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from billing.conf import billing_setting
from billing.exceptions import PurchaseConflict
from billing.models import LedgerEntry, TokenAccount
from billing.selectors import usage_for
from billing.services import account_credit, topup_create


class TopUpForm(forms.Form):
    tokens = forms.IntegerField(min_value=1, help_text="Whole tokens to add.")
    reason = forms.CharField(max_length=150, required=False, initial="operator top-up")
    purchase_id = forms.CharField(
        max_length=100,
        required=False,
        help_text="Optional. If set, this purchase is credited at most once, whoever submits it again.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = int(billing_setting("TOPUP_MAX_TOKENS"))
        tokens = self.fields["tokens"]
        tokens.validators.append(MaxValueValidator(limit))
        tokens.widget.attrs["max"] = limit


class NoWritesAdmin(admin.ModelAdmin):
    """Money changes only through the ledger's services: the admin may show, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TokenAccount)
class TokenAccountAdmin(NoWritesAdmin):
    list_display = ["client", "client_id", "balance", "paid_calls", "tokens_spent", "updated_at", "ledger_link"]
    list_select_related = ["client"]
    search_fields = ["client__name", "=client__id"]
    fields = ("client", "balance", "paid_calls", "tokens_spent", "created_at", "updated_at", "usage", "recent_entries")
    readonly_fields = fields
    change_form_template = "admin/billing/tokenaccount/change_form.html"
    actions = ["top_up"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.view_tokenaccount") or self._may_top_up(request)

    @staticmethod
    def _may_top_up(request: HttpRequest) -> bool:
        return request.user.has_perm("billing.topup_tokenaccount")

    @admin.display(description="ledger")
    def ledger_link(self, obj: TokenAccount) -> str:
        url = reverse("admin:billing_ledgerentry_changelist")
        return format_html('<a href="{}?account={}">entries</a>', url, obj.client_id)

    @admin.display(description="paid calls per day (UTC, last 14 days)")
    def usage(self, obj: TokenAccount) -> str:
        days = usage_for(client_id=obj.client_id, days=14, recent=0)["per_day"]
        if not days:
            return "no paid calls in the last 14 days"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((d["date"], d["calls"], d["tokens_spent"]) for d in days)
        )
        return format_html("<table><tr><th>day</th><th>calls</th><th>tokens</th></tr>{}</table>", rows)

    @admin.display(description="last ledger entries")
    def recent_entries(self, obj: TokenAccount) -> str:
        entries = LedgerEntry.objects.filter(account_id=obj.client_id).order_by("-id")[:10]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{:+d}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.created_at, e.kind, e.amount, e.balance_after, e.reason, e.actor) for e in entries),
        )
        link = format_html(
            '<a href="{}?account={}">all entries</a>', reverse("admin:billing_ledgerentry_changelist"), obj.client_id
        )
        return format_html(
            "<table><tr><th>at</th><th>kind</th><th>amount</th><th>balance after</th><th>reason</th><th>by</th></tr>"
            "{}</table>{}",
            rows,
            link,
        )

    def get_urls(self) -> list[Any]:
        topup = path(
            "<path:object_id>/topup/",
            self.admin_site.admin_view(self.topup_view),
            name="billing_tokenaccount_topup",
        )
        return [topup, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_top_up": self._may_top_up(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def topup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self._may_top_up(request):
            raise PermissionDenied
        account = self.get_object(request, unquote(object_id))
        if account is None:
            raise Http404("No such token account.")
        form = TopUpForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            actor = f"admin:{request.user.get_username()}"
            try:
                if data["purchase_id"]:
                    result = topup_create(
                        client_id=account.client_id, tokens=data["tokens"], purchase_id=data["purchase_id"], actor=actor
                    )
                    balance, replayed = result.balance_after, result.replayed
                else:
                    entry = account_credit(
                        client_id=account.client_id,
                        amount=data["tokens"],
                        reason=data["reason"] or "operator top-up",
                        actor=actor,
                    )
                    balance, replayed = entry.balance_after, False
            except PurchaseConflict:
                form.add_error("purchase_id", "This purchase was already credited with another amount or client.")
            else:
                if replayed:
                    note = f"Purchase {data['purchase_id']} was already credited; nothing added."
                    self.message_user(request, note, messages.WARNING)
                else:
                    self.message_user(
                        request,
                        f"Credited {data['tokens']} tokens to {account.client}; balance now {balance}.",
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(reverse("admin:billing_tokenaccount_change", args=[account.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "title": f"Top up tokens for {account.client}",
        }
        return TemplateResponse(request, "admin/billing/tokenaccount/topup.html", context)

    @admin.action(description="Top up tokens (one account at a time)")
    def top_up(self, request: HttpRequest, queryset: QuerySet[TokenAccount]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one account to top up.", messages.WARNING)
            return None
        account = queryset.get()
        return HttpResponseRedirect(reverse("admin:billing_tokenaccount_topup", args=[account.pk]))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self._may_top_up(request):
            actions.pop("top_up", None)
        return actions


class AccountFilter(admin.SimpleListFilter):
    """``?account=<client id>``: one account's entries (linked from the account pages; no list)."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"client {value}")] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
        value = self.value()
        if value:
            if not value.isdigit():
                return queryset.none()
            return queryset.filter(account_id=int(value))
        return queryset


class PurchaseFilter(admin.SimpleListFilter):
    title = "origin"
    parameter_name = "origin"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("purchase", "purchase top-ups"), ("operator", "operator credits"), ("call", "paid calls")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
        value = self.value()
        if value == "purchase":
            return queryset.filter(purchase_id__isnull=False)
        if value == "operator":
            return queryset.filter(kind=LedgerEntry.Kind.CREDIT, purchase_id__isnull=True)
        if value == "call":
            return queryset.filter(kind=LedgerEntry.Kind.DEBIT)
        return queryset


@admin.register(LedgerEntry)
class LedgerEntryAdmin(NoWritesAdmin):
    list_display = [
        "id",
        "created_at",
        "client_name",
        "kind",
        "amount",
        "balance_after",
        "reason",
        "request_ref",
        "actor",
        "purchase_id",
    ]
    list_select_related = ["account__client"]
    list_filter = [AccountFilter, "kind", PurchaseFilter, "created_at"]
    search_fields = ["account__client__name", "=purchase_id", "=idempotency_key", "request_ref", "reason", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT(*) over the whole ledger on every page is not free
    list_per_page = 50

    @admin.display(description="client", ordering="account__client__name")
    def client_name(self, obj: LedgerEntry) -> str:
        return obj.account.client.name
