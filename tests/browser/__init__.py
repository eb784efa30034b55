"""Browser tests of the explorers.

A package, so that its conftest.py does not clash with tests/conftest.py (both would be
imported as the module `conftest` when pytest collects doctests over tests/).
"""
