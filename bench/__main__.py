"""`make bench`: run every bench/bench_*.py on a fresh database and print its figures.

Without DATABASE_URL the benchmarks run on a new SQLite file in a temporary
directory; with it (a throwaway PostgreSQL database) they run there.
"""

import importlib
import os
import pkgutil
import platform
import sys
import tempfile
from datetime import datetime


def main() -> None:
    var = tempfile.mkdtemp(prefix="tanfang-bench-")
    os.environ.setdefault("TANFANG_VAR_DIR", var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanfang.settings")
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0)
    print(
        f"# {datetime.now().astimezone():%Y-%m-%d %H:%M %z} · {platform.node()} · "
        f"{platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {connection.vendor}"
    )
    wanted = sys.argv[1:]
    package = os.path.dirname(__file__)
    for module in sorted(m.name for m in pkgutil.iter_modules([package])):
        if module.startswith("bench_") and (not wanted or module in wanted):
            importlib.import_module(f"bench.{module}").run()


if __name__ == "__main__":
    main()
