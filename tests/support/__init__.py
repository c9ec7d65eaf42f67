"""Fixtures shared by the suite: the named world and the real subprocesses."""
