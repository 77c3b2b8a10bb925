"""MaaS settings, read once from the environment.

With no environment at all the service runs on an *embedded default*: SQLite in ``var/``, a
local-memory cache and Dramatiq's in-process stub broker. Set ``DATABASE_URL``, ``REDIS_URL`` and
``BROKER_URL`` to run on PostgreSQL, Redis and RabbitMQ/Redis with no code change.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MAAS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _development_secret_key() -> str:
    """A secret generated on first run and kept in var/, so sessions survive restarts."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY_FROM_ENVIRONMENT = bool(env.str("DJANGO_SECRET_KEY", default=""))
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _development_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
# Networks of the reverse proxies / load balancers in front of the servers: only their
# X-Forwarded-For hops are believed when telling who a client is (config/proxies.py). Empty: none.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "axes",  # login attempts limited per address: the admin, the portal and POST /api/auth/token
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_dramatiq",
    "memes",
    "accounts",
    "billing",
    "ingest",
    "webhooks",
    "privacy",
    "portal",
]

MIDDLEWARE = [
    # First: the request id is bound before anything logs, and returned whatever answers.
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ApiErrorMiddleware",
    "config.middleware.ChunkedBodyMiddleware",  # chunked bodies under /api/ read, not taken as empty
    # Django's session, CSRF, login and messages middlewares, skipped under /api/ (see config/middleware.py).
    "config.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.BrowserCsrfViewMiddleware",
    "config.middleware.BrowserAuthenticationMiddleware",
    "config.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.BrowserCSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "config.middleware.BrowserAxesMiddleware",
]
if env.bool("MAAS_METRICS", default=True):
    # Prometheus request metrics (django-prometheus's, two series a request: see config/metrics.py);
    # outermost, so the latency covers every middleware.
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = ["config.metrics.RequestMetricsMiddleware", *MIDDLEWARE]

# Who may read /metrics (config/metrics_access.py): the scraper's networks; never through a proxy.
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# Off by default: it costs a `SELECT 1` round trip per request (measured: 2.06 → 0.94 ms per
# authenticated call). Django still drops a connection that failed at the end of its request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: IMMEDIATE transactions take the write lock at BEGIN, so two debits
    # of the same account serialise instead of both reading the old balance. WAL lets readers run
    # beside the one writer; the timeout makes writers wait instead of failing "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
# DATABASE_POOLER=pgbouncer: DATABASE_URL points at PgBouncer in transaction mode, where each
# transaction may run on a different server connection. Nothing may outlive a transaction there:
# QuerySet.iterator()'s server-side cursors (declared WITH HOLD outside a transaction) and prepared
# statements would be looked for on a connection that does not have them. Django's psycopg cursors
# bind client-side and prepare nothing; prepare_threshold=None keeps it so. Persistent connections
# (CONN_MAX_AGE) stay on: they are connections to PgBouncer, which holds a server connection only
# for the length of a transaction.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}")
if DATABASE_POOLER and IS_POSTGRES:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="maas"),
            "OPTIONS": {
                "CLIENT_CLASS": "config.cache.FailFastClient",  # skips a hung Redis (config/cache.py)
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Redis down: a cache read is a miss and a write is skipped, instead of a 500. The
                # cache holds only copies (key records, rendered PNGs); the throttle counters fall
                # back to per-process counting (accounts/credentials.py), logged there once.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False  # one traceback per cache call of an outage otherwise
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "maas"}}

# --- Queue (Dramatiq) -----------------------------------------------------------------------
BROKER_URL = env.str("BROKER_URL", default="")
if BROKER_URL.startswith("amqp"):
    _broker = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        # Publisher confirms: send() returns only once RabbitMQ has the message.
        "OPTIONS": {"url": BROKER_URL, "confirm_delivery": True},
    }
elif BROKER_URL.startswith(("redis", "rediss")):
    _broker = {"BROKER": "dramatiq.brokers.redis.RedisBroker", "OPTIONS": {"url": BROKER_URL}}
else:
    _broker = {"BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}}
DRAMATIQ_BROKER = {
    **_broker,
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        # Before Retries: after_* hooks run in reverse order, and it acts on what Retries decided.
        "ingest.middleware.DeadLetters",
        "ingest.middleware.OutboxRelay",  # each worker process relays the ingest outbox to the queue
        "dramatiq.middleware.Retries",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
if env.bool("MAAS_METRICS", default=True):
    # The worker's /metrics: Dramatiq's own series (messages, errors, retries, duration) and ours
    # (ingest.metrics), summed over its processes by an exposition server it forks on
    # $dramatiq_prom_port (deploy/worker sets it, and the multiprocess directory). Inert in web
    # processes: its hooks run only in a Dramatiq worker.
    DRAMATIQ_BROKER["MIDDLEWARE"] = [*DRAMATIQ_BROKER["MIDDLEWARE"], "dramatiq.middleware.prometheus.Prometheus"]
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
# The embedded default has no separate worker: the web process consumes its own stub queue, with a
# worker its request handler starts (ingest/embedded.py).
QUEUE_IN_PROCESS = str(_broker["BROKER"]).endswith("StubBroker")
if QUEUE_IN_PROCESS:
    MIDDLEWARE.append("ingest.embedded.EmbeddedWorkerMiddleware")

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a login from a locked-out address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: after AXES_FAILURE_LIMIT failed logins (admin or token endpoint) from one address,
# that address is refused for AXES_COOLOFF_MINUTES. The address is config.proxies.client_ip's.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Axes looks for its own middleware class; ours is a subclass of it (config.middleware.BrowserAxesMiddleware).
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
LOGIN_URL = "/portal/login/"
LOGIN_REDIRECT_URL = "/portal/"
# Browser sessions (portal, admin). HTTPS-only cookies and HSTS come with MAAS_HTTPS (below);
# `make run` serves plain HTTP.
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) for the browser pages: nothing but our own origin; no inline
# script at all (the portal has none), images also as data: (the playground's PNG). Not under
# /api/ (JSON, and the Swagger page's inline bootstrap) — see config.middleware.BrowserCSPMiddleware.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, with deep nesting a 400 (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.negotiation.FastContentNegotiation",
    # API keys first: its WWW-Authenticate header makes a missing credential a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.ClientJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsClient"],
    # Per-client limit, counted in the cache (Redis in real mode) with one atomic INCR per request.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="30/min"),
        "client": env.str("THROTTLE_CLIENT", default="6000/min"),
        # POST /api/ingest: machine senders posting thousands a second; an abuse limit only.
        "ingest": env.str("THROTTLE_INGEST", default="600000/min"),
        # POST /api/memes/{id}/report: people flagging memes, not machines; free, so limited.
        "reports": env.str("THROTTLE_REPORTS", default="30/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MaaS — Memes-as-a-Service",
    "DESCRIPTION": "A metered meme API: search the catalogue by text and place, pay per meme in prepaid tokens.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The error responses the layers around the views give (401, 429, 503, ...) and the links
    # between operations: config/schema.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.error_responses",
        "config.schema.response_links",
    ],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAAS_MAX_BODY_BYTES", default=64 * 1024)
# Set by deploy/serve, not by operators: the file whose existence means "shutting down, drain"
# (config.lifecycle). Empty: never draining (runserver, tests in process).
MAAS_DRAIN_FILE = env.str("MAAS_DRAIN_FILE", default="")

# --- HTTPS (production) ------------------------------------------------------------------------
# Behind a TLS-terminating ingress: MAAS_HTTPS=true (deploy/k8s sets it). Then HSTS, cookies only
# over HTTPS, and the ingress' X-Forwarded-Proto believed for request.is_secure(). Off by default:
# `make run` serves plain HTTP on 127.0.0.1, where Secure cookies would make the admin unusable.
MAAS_HTTPS = env.bool("MAAS_HTTPS", default=False)
if MAAS_HTTPS:
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)  # a year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- App settings (one namespaced dict per app, like REST_FRAMEWORK) -------------------------
# Ingest pipeline (ingest/conf.py lists every key and its default).
INGEST = {
    # Queue name: give each deployment (or test run) sharing a broker its own.
    "QUEUE_NAME": env.str("INGEST_QUEUE", default="ingest"),
    # Records per relayed message (see ingest/conf.py).
    "RELAY_BATCH": env.int("INGEST_RELAY_BATCH", default=500),
    # Days sent-from-ip is kept whole, then truncated to /24 (docs/privacy.md).
    "IP_RETENTION_DAYS": env.int("INGEST_IP_RETENTION_DAYS", default=30),
}
# Memes (memes/conf.py lists every key and its default).
MEMES = {
    "DEFAULT_LANGUAGE": env.str("MEMES_DEFAULT_LANGUAGE", default="en"),
    # Each process checks the catalogue version at most this often and refreshes its search index.
    "INDEX_CHECK_SECONDS": env.float("MEMES_INDEX_CHECK_SECONDS", default=1.0),
    # AI memes (memes.generation): "local" (Markov model, offline) or "openai"; empty = "openai" when a
    # base URL and a key are set, else "local". The OpenAI backend falls back to the local model.
    "AI_GENERATOR": env.str("MEMES_AI_GENERATOR", default=""),
    "AI_MODEL_DIR": env.str("MEMES_AI_MODEL_DIR", default=str(VAR_DIR)),  # ai_model_<lang>.json (train_ai)
    "AI_TRAIN_ON_THE_FLY": env.bool("MEMES_AI_TRAIN_ON_THE_FLY", default=True),  # no file: train from the DB once
    "OPENAI_BASE_URL": env.str("OPENAI_BASE_URL", default=""),  # e.g. https://api.openai.com/v1
    "OPENAI_API_KEY": env.str("OPENAI_API_KEY", default=""),
    "OPENAI_MODEL": env.str("OPENAI_MODEL", default="gpt-4o-mini"),
    "OPENAI_TIMEOUT": env.float("OPENAI_TIMEOUT", default=3.0),  # seconds per attempt
    "OPENAI_RETRIES": env.int("OPENAI_RETRIES", default=2),  # retries after the first attempt
    "OPENAI_DEADLINE": env.float("OPENAI_DEADLINE", default=5.0),  # seconds for all attempts, then local
}
# Billing (billing/conf.py lists every key and its default).
BILLING = {
    # Tokens charged per meme served, by meme kind.
    "PRICES": {
        "text": env.int("BILLING_PRICE_TEXT", default=1),
        "image": env.int("BILLING_PRICE_IMAGE", default=1),
        "ai": env.int("BILLING_PRICE_AI", default=1),
    },
    "IDEMPOTENCY_TTL_HOURS": env.int("BILLING_IDEMPOTENCY_TTL_HOURS", default=24),
    "TOPUP_MAX_TOKENS": env.int("BILLING_TOPUP_MAX_TOKENS", default=10_000_000),  # per top-up
}

# Webhooks (webhooks/conf.py lists every key and its default).
WEBHOOKS = {
    "QUEUE_NAME": env.str("WEBHOOKS_QUEUE", default="webhooks"),
    # Off in production: deliveries to loopback/private/link-local addresses are refused (SSRF).
    "ALLOW_PRIVATE_ADDRESSES": env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False),
    "MAX_ATTEMPTS": env.int("WEBHOOKS_MAX_ATTEMPTS", default=10),
    "TIMEOUT_SECONDS": env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0),
    # The key signing secrets are derived from (empty: DJANGO_SECRET_KEY); see webhooks/models.py.
    "SECRET_KEY": env.str("WEBHOOKS_SECRET_KEY", default=""),
}

# --- Logging: JSON lines on stderr, with the request id (config/logs.py) ----------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_LEVEL, env.str("LOG_FORMAT", default="json"))
LOGGING["loggers"].update(
    {
        # pika logs every connection's workflow at INFO: a dozen lines per readiness probe.
        "pika": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        # django-axes logs every failed login at INFO; its lockouts (WARNING) are what matters.
        "axes": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    }
)

# --- Memory-leak hunting: tracemalloc snapshots on SIGUSR2 (config/memdebug.py), off by default ---
if env.bool("MAAS_TRACEMALLOC", default=False):
    from config import memdebug

    memdebug.install()
