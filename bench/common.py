import statistics
import time
from collections.abc import Callable


def timed(label: str, action: Callable[[], object], repeat: int = 5) -> float:
    """Run `action` `repeat` times and print the median in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples) * 1000
    print(f"{label:<60} median {median:9.1f} ms  (n={repeat}, min {min(samples) * 1000:.1f})")
    return median
