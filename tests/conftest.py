import os

# Tests run tasks inline unless a test starts a real qcluster subprocess.
os.environ.setdefault("MUNJA_Q_SYNC", "1")

pytest_plugins = ["tests.support.world"]
