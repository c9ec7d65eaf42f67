"""Django's SQLite backend with a start-up probe that does not need the write lock."""
