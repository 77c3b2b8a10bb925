from __future__ import annotations

from typing import Any

from django import forms

EVENT_CHOICES = [
    ("balance.below_threshold", "Balance fell below the threshold"),
    ("balance.depleted", "Balance reached 0"),
    ("topup.credited", "Tokens credited"),
    ("key.created", "API key created"),
    ("key.revoked", "API key revoked"),
]
# The ceilings GET /api/memes takes (memes.rating); blank: the API's default ceiling.
RATING_CHOICES = [("", "default (PG-13)"), ("g", "G"), ("pg", "PG"), ("pg-13", "PG-13"), ("r", "R")]


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)


class DateRangeForm(forms.Form):
    start = forms.DateField(required=False, label="From", input_formats=["%Y-%m-%d"])
    end = forms.DateField(required=False, label="To", input_formats=["%Y-%m-%d"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("“From” must not be after “To”.")
        return data


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)
    threshold = forms.IntegerField(min_value=1, max_value=10**15, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        wants = "balance.below_threshold" in data.get("events", [])
        if wants and data.get("threshold") is None:
            self.add_error("threshold", "Required for “balance fell below the threshold”.")
        if not wants:
            data["threshold"] = None
        return data


class PlaygroundForm(forms.Form):
    query = forms.CharField(max_length=200)
    lat = forms.FloatField(min_value=-90, max_value=90, required=False)
    lon = forms.FloatField(min_value=-180, max_value=180, required=False)
    rating = forms.ChoiceField(choices=RATING_CHOICES, required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        return data
