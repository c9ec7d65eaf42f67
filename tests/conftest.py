pytest_plugins = ["tests.support.world", "tests.support.browser", "tests.support.processes"]
