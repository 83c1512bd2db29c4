"""Peak memory: the baseline resets the high-water mark, so a later allocation shows as the difference."""

import mmap
import sys

import pytest

from snndeploy.bench.memory import peak_rss_mb, rss_baseline_mb


@pytest.mark.skipif(sys.platform != "linux", reason="the baseline resets the peak through Linux's /proc")
def test_peak_above_baseline_sees_a_new_allocation():
    base = rss_baseline_mb()
    block = mmap.mmap(-1, 64 << 20)  # fresh pages (freed heap memory could still be resident)
    for page in range(0, len(block), mmap.PAGESIZE):
        block[page] = 1
    grown = peak_rss_mb() - base
    block.close()
    assert 60 <= grown < 100
    assert peak_rss_mb() - base >= 60  # the peak stays after the memory is given back
