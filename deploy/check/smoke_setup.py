"""Run inside the app image by deploy-check (manage.py shell < this): a paying client with the ingest
role, its key printed on the last line. Through the services, as an operator's script would."""

from accounts.roles import INGEST
from accounts.selectors import client_by_name
from accounts.services import api_key_create, client_create
from billing.services import account_credit

client = client_by_name(name="deploy-check") or client_create(name="deploy-check", roles=[INGEST])
account_credit(client_id=client.pk, amount=100, reason="deploy-check smoke")
_, key = api_key_create(client=client, name="deploy-check")
print(f"KEY={key}")
