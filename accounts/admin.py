"""Operators manage clients, their roles and their API keys here.

A key is shown exactly once, in the message after it is created; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiKey, Client, Subscription
from accounts.roles import GROUP_ROLES, PREMIUM_AI
from accounts.selectors import client_roles, premium_until
from accounts.services import (
    api_key_create,
    api_key_revoke,
    client_create,
    client_deactivate,
    client_roles_set,
    subscription_revoke,
)


class ClientForm(forms.ModelForm):
    roles = forms.ModelMultipleChoiceField(
        queryset=Group.objects.filter(name__in=GROUP_ROLES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="billing.topup: may credit accounts · ingest: may post ingest records. "
        "Premium AI is a subscription: see Subscriptions below.",
    )

    class Meta:
        model = Client
        fields = ["name", "is_active", "max_rating"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = self.instance.user.groups.filter(name__in=GROUP_ROLES)


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["plan", "starts_at", "ends_at", "note", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name_plural = "Subscriptions (premium AI while one runs; set an end date to stop it then)"


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = readonly_fields = ("prefix", "name", "created_at", "last_used_at", "revoked_at")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = ["name", "id", "is_active", "max_rating", "roles_display", "created_at"]
    list_filter = ["is_active", "max_rating", "user__groups"]
    search_fields = ["name", "=id"]
    inlines = [SubscriptionInline, ApiKeyInline]
    actions = ["issue_api_key"]

    @admin.display(description="roles")
    def roles_display(self, obj: Client) -> str:
        return ", ".join(sorted(client_roles(client=obj))) or "-"

    def save_model(self, request: HttpRequest, obj: Client, form: forms.ModelForm, change: bool) -> None:
        roles = [group.name for group in form.cleaned_data.get("roles", [])]
        if change:
            obj.save()
            if "is_active" in form.changed_data and not obj.is_active:
                client_deactivate(client=obj)  # its keys and JWTs stop at once
            # The subscription inline manages premium; keep whatever it holds.
            premium = [PREMIUM_AI] if premium_until(client=obj) is not None else []
            client_roles_set(client=obj, roles=roles + premium)
            if "name" in form.changed_data:
                obj.user.username = obj.name
                obj.user.save(update_fields=["username"])
        else:
            created = client_create(name=obj.name, roles=roles)
            obj.pk, obj.user_id = created.pk, created.user_id
            obj.is_active = form.cleaned_data["is_active"]
            obj.created_at = created.created_at
            obj.save()

    @admin.action(description="Issue a new API key (shown once)")
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        for client in queryset:
            _, raw_key = api_key_create(client=client, name=f"issued in admin by {request.user}")
            self.message_user(
                request,
                f"New API key for {client.name} (copy it now, it is not shown again): {raw_key}",
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "client", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "client__name", "name"]
    fields = ["client", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["client"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return [*self.readonly_fields, "client"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        created, raw_key = api_key_create(client=obj.client, name=obj.name)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = (
            created.pk,
            created.prefix,
            created.key_hash,
            created.created_at,
        )
        self.message_user(
            request, f"API key for {obj.client} (copy it now, it is not shown again): {raw_key}", messages.WARNING
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the ledger refers to keys' clients, and history stays readable

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["client", "plan", "starts_at", "ends_at", "active_now"]
    list_filter = ["plan", ("ends_at", admin.EmptyFieldListFilter)]
    search_fields = ["client__name", "note"]
    autocomplete_fields = ["client"]
    actions = ["end_now"]

    @admin.display(boolean=True, description="active now")
    def active_now(self, obj: Subscription) -> bool:
        return obj.is_active()

    @admin.action(description="Revoke premium now for these clients")
    def end_now(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        clients = {subscription.client for subscription in queryset.select_related("client")}
        ended = sum(subscription_revoke(client=client) for client in clients)
        self.message_user(request, f"Ended {ended} running subscription(s).", messages.SUCCESS)
