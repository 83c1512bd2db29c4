"""Resource budgets: the largest T that fits, the one-line refusal, the memory a process may still allocate."""

import resource

import pytest

from snndeploy.core import budget
from snndeploy.core.errors import SnnDeployError


def test_largest_T_is_rounded_down_and_fits():
    cost = budget.Linear(fixed=1e6, per_step=4.1e5)
    T = cost.largest_T(3.9e9)
    assert T == 9_500 and cost.at(T) <= 3.9e9
    assert budget.Linear(1e6, 1e9).largest_T(1e8) == 0  # not even T = 1


def test_refusal_is_one_line_with_estimate_limit_and_largest_T():
    cost = budget.Linear(0, 4.12e5 * 64)
    with pytest.raises(SnnDeployError) as e:
        budget.check_memory(100_000, cost, "for small-cnn at batch 64", available=3_900_000_000)
    assert str(e.value) == ("--T 100000 needs about 2636.8 GB for small-cnn at batch 64 (3.9 GB available); "
                            "the largest T that fits is 140")
    budget.check_memory(100, cost, "for small-cnn at batch 64", available=3_900_000_000)  # fits: no error


def test_unknown_memory_refuses_nothing(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: None)
    budget.check_memory(10**9, budget.Linear(0, 1e9), "for x")


def test_address_space_limit_caps_the_memory_available(monkeypatch):
    """`ulimit -v`: what is left is the limit less this process's virtual size, not the machine's free memory."""
    real = resource.getrlimit
    monkeypatch.setattr(resource, "getrlimit", lambda r: (4_000_000 * 1024, resource.RLIM_INFINITY)
                        if r == resource.RLIMIT_AS else real(r))
    available = budget.available_memory()
    assert available is not None and available < 4_000_000 * 1024
