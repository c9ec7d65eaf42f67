import pytest

pytest_plugins = [
    "tests.support.world",
    "tests.support.browser",
    "tests.support.processes",
    "tests.support.sender_numbers",
    "tests.support.receiver",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate cost is ~0.5 s a login; tests check behaviour, not it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
