"""The regularised incomplete gamma function, scaled and in log space, for the Erlang formulas.

Erlang C and A need two sums that overflow a float long before 20,000 agents:

    lower(a, x) = sum over k >= 0 of x**k / ((a+1)(a+2)...(a+k))  =  P(a, x) / D(a, x)
    upper(a, x) = Q(a, x) / D(a, x)   (for a whole number n: sum over m = 1..n of n!/((n-m)! x**m))

where P and Q are the regularised lower and upper incomplete gamma functions and
D(a, x) = x**a e**-x / Gamma(a + 1), the Poisson-like prefactor. This module returns
their natural logarithms, accurate to a few units in the last place of the result
in every regime, at a cost that does not grow with `a`:

- near the transition x ~ a, for large a: Temme's uniform asymptotic expansion
  (DLMF 8.12.8 to 8.12.12, the method of Cephes' igam and DiDonato & Morris), with
  the prefactor D taken out analytically so that nothing underflows;
- otherwise: the power series of P, the continued fraction of Q (Numerical Recipes'
  modified Lentz), or the asymptotic series of Q, which terminates for whole a and
  converges geometrically wherever it is used here.

Pure: no I/O, no state. Only the Erlang module should need it.
"""

from __future__ import annotations

import math

A_MIN_TEMME = 100.0  # below this the series and the continued fraction are quick and exact
ETA_MAX = 0.8  # |eta| up to which the table's Taylor series in eta reach 1e-17
_EPS = 1e-17
_MAX_ITERATIONS = 100_000  # a bound that only a bug could reach; each loop converges far sooner
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_PI = math.sqrt(math.pi)

# Temme's coefficients d[k][n] (DLMF 8.12.12): C_k(eta) = sum_n d[k][n] eta**n. Computed
# exactly in rational arithmetic (tests/unit/test_erlang_gamma.py recomputes and compares).
_TEMME_D: tuple[tuple[float, ...], ...] = (
    (
        -0.3333333333333333,
        0.08333333333333333,
        -0.014814814814814815,
        0.0011574074074074073,
        0.0003527336860670194,
        -0.0001787551440329218,
        3.919263178522438e-05,
        -2.185448510679992e-06,
        -1.85406221071516e-06,
        8.296711340953087e-07,
        -1.7665952736826078e-07,
        6.707853543401498e-09,
        1.0261809784240309e-08,
        -4.382036018453353e-09,
        9.14769958223679e-10,
        -2.5514193994946248e-11,
        -5.830772132550426e-11,
        2.4361948020667415e-11,
        -5.0276692801141755e-12,
        1.1004392031956135e-13,
        3.371763262400985e-13,
        -1.392388722418162e-13,
        2.8534893807047445e-14,
        -5.139111834242572e-16,
        -1.9752288294349442e-15,
    ),
    (
        -0.001851851851851852,
        -0.003472222222222222,
        0.0026455026455026454,
        -0.0009902263374485596,
        0.00020576131687242798,
        -4.018775720164609e-07,
        -1.8098550334489977e-05,
        7.64916091608111e-06,
        -1.6120900894563446e-06,
        4.647127802807434e-09,
        1.378633446915721e-07,
        -5.752545603517705e-08,
        1.1951628599778148e-08,
        -1.7543241719747647e-11,
        -1.0091543710600413e-09,
        4.162792991842583e-10,
        -8.56390702649298e-11,
        6.067215101604758e-14,
        7.1624989648114856e-12,
        -2.933186643771437e-12,
        5.996696365683689e-13,
        -2.1671786527323313e-16,
        -4.978339972369262e-14,
        2.0291628823713425e-14,
        -4.13125571381061e-15,
    ),
    (
        0.004133597883597883,
        -0.0026813271604938273,
        0.0007716049382716049,
        2.0093878600823047e-06,
        -0.0001073665322636516,
        5.2923448829120125e-05,
        -1.2760635188618728e-05,
        3.423578734096138e-08,
        1.3721957309062934e-06,
        -6.298992138380055e-07,
        1.4280614206064242e-07,
        -2.0477098421990866e-10,
        -1.409252991086752e-08,
        6.228974084922022e-09,
        -1.3670488396617114e-09,
        9.428356159014678e-13,
        1.2872252400089318e-10,
        -5.5645956134363323e-11,
        1.197593554636698e-11,
        -4.1689782251838634e-15,
        -1.0940640427884595e-12,
        4.662239946390136e-13,
        -9.905105763906907e-14,
        1.8931876768373515e-17,
        8.859221872591127e-15,
    ),
    (
        0.0006494341563786008,
        0.00022947209362139917,
        -0.0004691894943952557,
        0.00026772063206283885,
        -7.561801671883977e-05,
        -2.396505113867297e-07,
        1.1082654115347302e-05,
        -5.6749528269915965e-06,
        1.4230900732435883e-06,
        -2.7861080291528143e-11,
        -1.6958404091930278e-07,
        8.099464905388083e-08,
        -1.9111168485973655e-08,
        2.3928620439808118e-12,
        2.0620131815488797e-09,
        -9.460496661855133e-10,
        2.1541049775774907e-10,
        -1.388823336813903e-14,
        -2.1894761681963938e-11,
        9.790998951171684e-12,
        -2.178219188018096e-12,
        6.208819573407901e-17,
        2.126978363279737e-13,
        -9.344688791517433e-14,
        2.045367122678285e-14,
    ),
    (
        -0.0008618882909167117,
        0.0007840392217200666,
        -0.0002990724803031902,
        -1.4638452578843418e-06,
        6.641498215465122e-05,
        -3.968365047179435e-05,
        1.1375726970678419e-05,
        2.507497226237533e-10,
        -1.6954149536558305e-06,
        8.907507532205309e-07,
        -2.292934834000805e-07,
        2.956794137544049e-11,
        2.8865829742708783e-08,
        -1.4189739437803219e-08,
        3.4463580499464896e-09,
        -2.3024517174528067e-13,
        -3.9409233028046403e-10,
        1.86023389685045e-10,
        -4.356323005056618e-11,
        1.278600101629623e-15,
        4.67927502665792e-12,
        -2.149246470613483e-12,
        4.908815614809652e-13,
        -6.33859148489156e-18,
        -5.045332069080094e-14,
    ),
    (
        -0.00033679855336635813,
        -6.972813758365857e-05,
        0.0002772753244959392,
        -0.00019932570516188847,
        6.797780477937208e-05,
        1.419062920643967e-07,
        -1.3594048189768693e-05,
        8.018470256334202e-06,
        -2.291481176508095e-06,
        -3.252473551298454e-10,
        3.4652846491085265e-07,
        -1.8447187191171344e-07,
        4.8240967037894184e-08,
        -1.7989466721743514e-14,
        -6.306194500013523e-09,
        3.162417628774568e-09,
        -7.840924253697429e-10,
        5.192679165254041e-15,
        9.358944242306784e-11,
        -4.513426216163278e-11,
        1.0799129993116828e-11,
        -3.661886712685252e-17,
        -1.210902069055155e-12,
        5.680743584990564e-13,
        -1.3249659916340829e-13,
    ),
    (
        0.0005313079364639922,
        -0.0005921664373536939,
        0.0002708782096718045,
        7.902353232660328e-07,
        -8.153969367561969e-05,
        5.61168275310625e-05,
        -1.8329116582843375e-05,
        -3.0796134506033047e-09,
        3.465155368803609e-06,
        -2.0291327396058603e-06,
        5.788792863149004e-07,
        2.338630673826657e-13,
        -8.828600746330484e-08,
        4.7435958880408125e-08,
        -1.2545415020710383e-08,
        8.649648858010293e-14,
        1.6846058979264062e-09,
        -8.575492823577594e-10,
        2.1598224929232125e-10,
        -7.613230520476153e-16,
        -2.6639822008536144e-11,
        1.3065700536611057e-11,
        -3.1799163902367977e-12,
        4.710976121367431e-18,
        3.6902800842763465e-13,
    ),
    (
        0.00034436760689237765,
        5.171790908260592e-05,
        -0.00033493161081142234,
        0.0002812695154763237,
        -0.00010976582244684731,
        -1.2741009095484485e-07,
        2.7744451511563645e-05,
        -1.8263488805711332e-05,
        5.7876949497350525e-06,
        4.93875893393627e-10,
        -1.0595367014026043e-06,
        6.166714376110408e-07,
        -1.7562973359060463e-07,
        -1.297447328701544e-12,
        2.695423606288966e-08,
        -1.4578352908731272e-08,
        3.887645959386175e-09,
        -3.881002251019412e-17,
        -5.327994173877286e-10,
        2.7437977643314844e-10,
        -6.995796092070568e-11,
        2.589986387486848e-17,
        8.856689099669639e-12,
        -4.403168815871311e-12,
        1.0865561947091654e-12,
    ),
)


def log_lower(a: float, x: float) -> float:
    """log of sum_k x**k / ((a+1)...(a+k)) = P(a, x) / D(a, x), for a > 0 and x >= 0."""
    if x == 0.0:
        return 0.0
    if a >= A_MIN_TEMME:
        eta = _eta(a, x)
        if abs(eta) <= ETA_MAX:
            return _temme(a, eta, upper=False)
        if x < a:
            return math.log(_power_series(a, x))
        log_d = log_prefactor(a, x)
        q_over_d = _asymptotic_series(a, x)
        return -log_d + math.log1p(-math.exp(log_d + math.log(q_over_d)))
    if x < a + 1.0:
        return math.log(_power_series(a, x))
    log_d = log_prefactor(a, x)
    return -log_d + math.log1p(-math.exp(log_d + math.log(a * _continued_fraction(a, x))))


def log_upper(a: float, x: float) -> float:
    """log of Q(a, x) / D(a, x), for a > 0 and x > 0; for whole a, log sum_{m=1..a} a!/((a-m)! x**m)."""
    a = float(a)
    if a >= A_MIN_TEMME:
        eta = _eta(a, x)
        if abs(eta) <= ETA_MAX:
            return _temme(a, eta, upper=True)
    if x > a and (a >= A_MIN_TEMME or a.is_integer()):
        # Terminates for whole a; otherwise its terms shrink by a/x < 0.52 each step until they
        # are far below 1e-17 (x is at least 1.95 a here).
        return math.log(_asymptotic_series(a, x))
    if x >= a + 1.0:
        return math.log(a * _continued_fraction(a, x))
    log_d = log_prefactor(a, x)
    return -log_d + math.log1p(-math.exp(log_d + math.log(_power_series(a, x))))


def log_p_q(a: float, x: float) -> tuple[float, float]:
    """(log P(a, x), log Q(a, x)), each accurate even where it is near 0 or far below it."""
    log_d = log_prefactor(a, x)
    if x < a:
        log_p = log_d + log_lower(a, x)
        return log_p, math.log1p(-math.exp(log_p))
    log_q = log_d + log_upper(a, x)
    return math.log1p(-math.exp(log_q)), log_q


def log_prefactor(a: float, x: float) -> float:
    """log D(a, x) = a log x - x - log Gamma(a + 1), without cancellation for large a."""
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a + 1.0)
    # a log x - x - lgamma(a+1) loses about log10(a) digits to cancellation; this form does not.
    return -a * _lambda_minus_1_minus_log(a, x) - _LOG_SQRT_2PI - 0.5 * math.log(a) - _log_gamma_star(a)


def _lambda_minus_1_minus_log(a: float, x: float) -> float:
    """lam - 1 - log(lam) >= 0 for lam = x/a, accurate near lam = 1, where it is about (lam-1)**2 / 2."""
    # (x - a) / a, not x/a - 1: x - a is exact near x = a, so the rounding of x/a is not magnified.
    s = (x - a) / a
    if abs(s) > 0.1:
        lam = x / a
        # x/a may underflow (a caller's threshold far beyond their patience): split the log.
        return lam - 1.0 - (math.log(lam) if lam > 1e-300 else math.log(x) - math.log(a))
    # -(log1p(s) - s) = s**2/2 - s**3/3 + ...; 17 terms reach 1e-18 at |s| = 0.1.
    total = 0.0
    power = s
    for k in range(2, 20):
        power *= -s
        total += power / k
    return -total


def _log_gamma_star(a: float) -> float:
    """log of Gamma*(a) = Gamma(a) / (sqrt(2 pi) a**(a - 1/2) e**-a), the Stirling series, a >= 10."""
    inv = 1.0 / a
    inv2 = inv * inv
    return inv * (
        1.0 / 12.0
        - inv2
        * (
            1.0 / 360.0
            - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 * (1.0 / 1188.0 - inv2 * 691.0 / 360360.0)))
        )
    )


def _eta(a: float, x: float) -> float:
    """Temme's eta for lam = x/a: eta**2 / 2 = lam - 1 - log(lam), with the sign of lam - 1."""
    root = math.sqrt(2.0 * _lambda_minus_1_minus_log(a, x))
    return root if x >= a else -root


def _temme(a: float, eta: float, *, upper: bool) -> float:
    """log(Q/D) (upper) or log(P/D) (lower) by Temme's expansion, with D divided out exactly.

    Q = erfc(t)/2 + R and P = erfc(-t)/2 - R with t = eta sqrt(a/2) and
    R = e**(-t**2) / sqrt(2 pi a) * sum_k C_k(eta) / a**k (DLMF 8.12). D equals
    e**(-t**2) / (sqrt(2 pi a) Gamma*(a)), so Q/D = Gamma*(a) (sqrt(2 pi a) erfcx(t)/2 + S)
    and P/D = Gamma*(a) (sqrt(2 pi a) erfcx(-t)/2 - S), S = sum_k C_k(eta) / a**k.
    """
    series = 0.0
    scale = 1.0
    for row in _TEMME_D:
        term = 0.0
        for coefficient in reversed(row):
            term = term * eta + coefficient
        series += term * scale
        scale /= a
        if scale < _EPS:
            break
    t = eta * math.sqrt(0.5 * a)
    root = math.sqrt(2.0 * math.pi * a)
    # Take erfcx at a non-negative argument only; the other side is 2 e**(t**2) minus it.
    if (t >= 0.0) == upper:
        bracket = 0.5 * root * erfcx(abs(t)) + (series if upper else -series)
        return _log_gamma_star(a) + math.log(bracket)
    other = 0.5 * root * erfcx(abs(t)) + (-series if upper else series)
    # log(root e**(t**2) - other), kept in logs: e**(t**2) overflows for large a.
    return _log_gamma_star(a) + math.log(root) + t * t + math.log1p(-other / root * math.exp(-t * t))


def erfcx(t: float) -> float:
    """The scaled complementary error function e**(t**2) erfc(t), for t >= 0, to about 2 ulp."""
    if t < 26.0:
        # e**(t*t) with t*t split exactly: hi*hi is exact for a 25-bit hi.
        hi = math.ldexp(math.floor(math.ldexp(t, 20)), -20)
        return math.exp(hi * hi) * math.exp((t - hi) * (t + hi)) * math.erfc(t)
    # Asymptotic series: 1/(t sqrt(pi)) * sum (-1)**k (2k-1)!! / (2 t**2)**k, sharp for t >= 26.
    inv = 1.0 / (2.0 * t * t)
    total = 1.0
    term = 1.0
    for k in range(1, 40):
        term *= -(2 * k - 1) * inv
        total += term
        if abs(term) < _EPS:
            break
    return total / (t * _SQRT_PI)


def _power_series(a: float, x: float) -> float:
    """sum_k x**k / ((a+1)...(a+k)), for x < a + 1 or x well below a (terms shrink from the start)."""
    total = 1.0
    term = 1.0
    k = 1.0
    for _ in range(_MAX_ITERATIONS):
        term *= x / (a + k)
        total += term
        if term < _EPS * total:
            return total
        k += 1.0
    raise ArithmeticError(f"the incomplete gamma series did not converge for a={a!r}, x={x!r}")


def _asymptotic_series(a: float, x: float) -> float:
    """Q/D = sum_{m>=1} a(a-1)...(a-m+1) / x**m for x > a: it terminates when a is whole."""
    total = 0.0
    term = 1.0
    factor = a
    for _ in range(_MAX_ITERATIONS):
        term *= factor / x
        total += term
        if abs(term) < _EPS * total:
            return total
        factor -= 1.0
    raise ArithmeticError(f"the incomplete gamma asymptotic series did not converge for a={a!r}, x={x!r}")


def _continued_fraction(a: float, x: float) -> float:
    """Gamma(a, x) e**x / x**a by the continued fraction (modified Lentz), for x >= a + 1."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 3e-16:
            return h
    raise ArithmeticError(f"the incomplete gamma continued fraction did not converge for a={a!r}, x={x!r}")
