"""The incomplete gamma machinery under Erlang C and A, against exact arithmetic."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.impact import gamma
from standby.impact.gamma import erfcx, log_lower, log_p_q, log_upper


def temme_coefficients(rows: int, columns: int) -> list[list[Fraction]]:
    """d[k][n] of DLMF 8.12.12, exactly: from the series of lam - 1 in eta and Stirling's series."""
    size = columns + 2 * rows + 2
    # eta = mu sqrt(2 (mu - log(1 + mu)) / mu**2) with mu = lam - 1; the root's series has rational terms.
    inner = [Fraction(2 * (-1) ** j, j + 2) for j in range(size)]
    root = [Fraction(1)] + [Fraction(0)] * (size - 1)
    for k in range(1, size):
        root[k] = (inner[k] - sum(root[i] * root[k - i] for i in range(1, k))) / 2
    inverse = [Fraction(1)] + [Fraction(0)] * (size - 1)
    for k in range(1, size):
        inverse[k] = -sum(root[i] * inverse[k - i] for i in range(1, k + 1))
    # Lagrange inversion: mu = sum alpha_n eta**n, alpha_n = [mu**(n-1)] inverse**n / n.
    alpha = [Fraction(0), Fraction(1)]
    power = inverse[:]
    for n in range(2, size):
        power = [sum(power[i] * inverse[k - i] for i in range(k + 1)) for k in range(size)]
        alpha.append(power[n - 1] / n)
    # Stirling: Gamma*(a) ~ sum g_k / a**k = exp(sum B_2j / (2j (2j-1) a**(2j-1))).
    bernoulli = [Fraction(1)]
    for m in range(1, 2 * rows + 2):
        bernoulli.append(-sum(math.comb(m + 1, j) * bernoulli[j] for j in range(m)) / (m + 1))
    log_series = [Fraction(0)] * (rows + 1)
    for j in range(1, rows + 1):
        if 2 * j - 1 <= rows:
            log_series[2 * j - 1] = bernoulli[2 * j] / (2 * j * (2 * j - 1))
    g = [Fraction(1)] + [Fraction(0)] * rows
    for m in range(1, rows + 1):
        g[m] = sum(i * log_series[i] * g[m - i] for i in range(1, m + 1)) / m
    d = [[Fraction(-1, 3)] + [(n + 2) * alpha[n + 2] for n in range(1, size - 2)]]
    for k in range(1, rows):
        d.append([(-1) ** k * g[k] * d[0][n] + (n + 2) * d[k - 1][n + 2] for n in range(len(d[-1]) - 2)])
    return [row[:columns] for row in d]


def test_temme_table_is_the_exact_coefficients_rounded() -> None:
    table = gamma._TEMME_D
    exact = temme_coefficients(len(table), len(table[0]))
    assert exact[0][:3] == [Fraction(-1, 3), Fraction(1, 12), Fraction(-2, 135)]
    assert exact[1][0] == Fraction(-1, 540) and exact[2][0] == Fraction(25, 6048)
    for k, row in enumerate(table):
        for n, value in enumerate(row):
            assert value == float(exact[k][n]), (k, n)


def lower_exact(a: float, x: float) -> float:
    """log sum_k x**k / ((a+1)...(a+k)), summed in 60-digit decimals."""
    with localcontext() as context:
        context.prec = 60
        da, dx = Decimal(a), Decimal(x)
        total = term = Decimal(1)
        k = 1
        while True:
            term = term * dx / (da + k)
            total += term
            if dx < da + k and term < total * Decimal("1e-40"):
                return float(total.ln())
            k += 1


def upper_exact(n: int, x: float) -> float:
    """log sum_{m=1..n} n!/((n-m)! x**m), summed in 60-digit decimals."""
    with localcontext() as context:
        context.prec = 60
        dx = Decimal(x)
        total = Decimal(0)
        term = Decimal(1)
        for m in range(1, n + 1):
            term = term * (n - m + 1) / dx
            total += term
            if n - m < x and term < total * Decimal("1e-40"):
                break
        return float(total.ln())


# Ratios x/a across every region: far below, the Temme band around 1, and far above.
RATIOS = [0.01, 0.3, 0.6, 0.9, 0.99, 1.0, 1.01, 1.1, 1.5, 2.5, 8.0]


@pytest.mark.parametrize("a", [0.013, 0.7, 3.0, 42.5, 99.9, 100.0, 730.25, 4000.0])
@pytest.mark.parametrize("ratio", RATIOS)
def test_lower_sum(a: float, ratio: float) -> None:
    x = a * ratio
    assert log_lower(a, x) == pytest.approx(lower_exact(a, x), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("n", [1, 2, 7, 99, 100, 101, 1000, 20_000])
@pytest.mark.parametrize("ratio", RATIOS)
def test_upper_sum(n: int, ratio: float) -> None:
    x = n * ratio
    assert log_upper(n, x) == pytest.approx(upper_exact(n, x), rel=1e-13, abs=1e-13)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 1e6), st.floats(0.001, 50.0))
def test_p_and_q_add_up_to_one(a: float, ratio: float) -> None:
    log_p, log_q = log_p_q(a, a * ratio)
    assert math.exp(log_p) + math.exp(log_q) == pytest.approx(1.0, abs=1e-13)
    assert log_p <= 0.0 and log_q <= 0.0


def band_edges() -> list[float]:
    """x/a where |eta| = ETA_MAX: where the Temme expansion hands over to the series."""
    half_square = gamma.ETA_MAX**2 / 2
    edges = []
    for low, high in ((1e-6, 1.0), (1.0, 10.0)):
        for _ in range(200):  # bisect lam - 1 - log(lam) = eta**2 / 2 on each side of 1
            middle = (low + high) / 2
            above = middle - 1 - math.log(middle) > half_square
            if (middle < 1) == above:
                low = middle
            else:
                high = middle
        edges.append((low + high) / 2)
    return edges


@pytest.mark.parametrize("a", [100.0, 150.5, 3000.0])
@pytest.mark.parametrize("side", [1 - 1e-9, 1 + 1e-9])
def test_both_sides_of_the_temme_band(a: float, side: float) -> None:
    for edge in band_edges():
        x = a * edge * side
        assert log_lower(a, x) == pytest.approx(lower_exact(a, x), rel=1e-13, abs=1e-13)
        if a.is_integer():
            assert log_upper(int(a), x) == pytest.approx(upper_exact(int(a), x), rel=1e-13, abs=1e-13)


def test_erfcx() -> None:
    assert erfcx(0.0) == 1.0
    assert erfcx(1.0) == pytest.approx(0.42758357615580700442, rel=1e-15)
    assert erfcx(10.0) == pytest.approx(0.056140992743822585858, rel=1e-14)
    # Either side of the switch to the asymptotic series.
    assert erfcx(26.0 - 1e-12) == pytest.approx(erfcx(26.0), rel=1e-14)
    assert erfcx(1e6) == pytest.approx(1 / (1e6 * math.sqrt(math.pi)), rel=1e-12)
