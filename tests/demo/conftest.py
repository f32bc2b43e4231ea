import pytest


@pytest.fixture(autouse=True)
def few_elders(monkeypatch):
    """Forty demo elders instead of 2,000: the full county is seeded and
    checked by the benchmark (bench/bench_demo.py), not the suite (issue 15)."""
    monkeypatch.setattr("tanfang.demo.elders.ELDERS", 40)
