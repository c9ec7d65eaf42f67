"""Loaded with `-p` before Django reads its settings: the test environment."""

import os

# Tests run tasks inline unless a test starts a real qcluster subprocess.
os.environ.setdefault("MUNJA_Q_SYNC", "1")
# The live server speaks plain HTTP on loopback and serves static files from
# the apps rather than from a collectstatic manifest.
os.environ.setdefault("MUNJA_SECURE", "0")
os.environ.setdefault("MUNJA_STATIC_MANIFEST", "0")
# Playwright's sync API runs an event loop in the test thread; Django refuses
# ORM calls from such a thread unless told this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests assert the English source messages; Korean, the product's default, is
# checked by the catalogue and language-switch tests, which ask for it.
os.environ.setdefault("MUNJA_LANGUAGE", "en")
# The webhook tests deliver to a real receiver on 127.0.0.1 and read its
# answer back: allow loopback and the body log explicitly (both are off by
# default; tests/test_webhook_addresses.py checks refusal with them off).
os.environ.setdefault("MUNJA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1")
os.environ.setdefault("MUNJA_WEBHOOK_LOG_RESPONSE_BODY", "1")
