import pytest


@pytest.fixture(autouse=True)
def few_elders(request, monkeypatch):
    """Forty demo elders instead of 2,000, except in the tests that count them."""
    if "all_elders" not in request.keywords:
        monkeypatch.setattr("tanfang.demo.elders.ELDERS", 40)
