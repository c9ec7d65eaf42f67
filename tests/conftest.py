pytest_plugins = ["tests.support.world", "tests.support.browser"]
