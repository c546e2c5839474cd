"""Erlang C and Erlang A: what a queue of agents achieves for a given traffic, exactly.

Models. Calls arrive as a Poisson process (rate lambda), handling times are exponential
with mean `aht_s`, and `agents` identical agents answer in order of arrival.

- **Erlang C** (M/M/n): every caller waits as long as it takes. It has a steady state
  only when the offered load A = lambda * aht_s (in Erlangs) is below the agents;
  otherwise the queue grows without end and `Unstable` is raised.
- **Erlang A** (M/M/n+M): each waiting caller also hangs up after an exponential
  patience with mean `patience_s`. It has a steady state for any load.

Every figure is exact for the model, not an approximation: it agrees with a direct
solution of the birth-death chain to about 1e-12 for probabilities (absolute) and
1e-10 for waits (relative), usually 1e-14. The sums over the chain's states are
incomplete gamma functions, evaluated in log space (`impact.gamma`) so that nothing
overflows from 1 agent to a million, and the load may be any positive number (0.37
Erlangs included). One Erlang A evaluation takes about 0.1 ms whatever the size.

Definitions (T = `answer_within_s`; "waits" means finds every agent busy):

- `service_level`: calls answered within T over calls offered. The primary
  definition: a call that abandons, however soon, counts against it. Standby's
  targets and staffing use it.
- `service_level_of_answered`: answered within T over answered (abandoned calls are
  left out altogether; flatters a queue where many hang up).
- `service_level_excluding_short_abandons`: answered within T over offered calls
  less those abandoned within T (a caller who hangs up before T is not held
  against the centre; a common contact-centre convention).
- `asa_s`, average speed of answer: the mean wait of answered calls (those answered
  at once count as 0).
- `mean_wait_s`: the mean wait of all offered calls, an abandoned call counting the
  time until it hung up. Equal to `asa_s` under Erlang C.
- `p_wait`: the probability that a call finds every agent busy.
- `p_abandon`: the probability that a call hangs up before it is answered (0 under
  Erlang C); `p_abandon_within_threshold`: that it hangs up within T.
- `occupancy`: busy agents over agents. Under Erlang C that is A / agents; under
  Erlang A it is the carried load A (1 - p_abandon) over agents.

Erlang A's waiting time is found exactly (Garnett, Mandelbaum and Reiman 2002;
Mandelbaum and Zeltyn, "The M/M/n+G queue: summary of performance measures"): a
caller who finds n + k in the system is answered once k + 1 places ahead of them
clear, each at rate n mu + j theta, before their own patience runs out. Summed over
the states a caller finds, each measure is a ratio of incomplete gamma functions;
the mean wait of answered calls is one smooth one-dimensional integral, taken by
Gauss-Legendre quadrature around its peak.

Pure: no I/O, no clock. Inputs are checked here too (the API and the CLI check them
first), so a library caller gets `InvalidInput` naming the value, never a NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from standby.errors import InvalidInput, Unstable
from standby.impact.gamma import log_lower, log_p_q, log_prefactor, log_upper

Model = Literal["erlang-c", "erlang-a"]

MAX_AGENTS = 1_000_000
MAX_LOAD_ERLANGS = 1_000_000.0
MIN_LOAD_ERLANGS = 1e-9
MIN_SECONDS = 0.001
MAX_SECONDS = 1e9


def _check(name: str, value: float, low: float, high: float, unit: str = "") -> float:
    """`value` as a float in [low, high], or InvalidInput that starts with `name` and says what is wrong."""
    of_unit = f" of {unit}" if unit else ""
    in_unit = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number{of_unit}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InvalidInput(f"{name} must be a positive number{of_unit}, got {value!r}")
    if number < low or number > high:
        raise InvalidInput(f"{name} must be from {low:g} to {high:g}{in_unit}, got {value!r}")
    return number


def check_agents(agents: int) -> int:
    """`agents` as a whole number from 1 to MAX_AGENTS, or InvalidInput saying what is wrong."""
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise InvalidInput(f"agents must be a whole number, got {agents!r}")
    if agents < 1 or agents > MAX_AGENTS:
        raise InvalidInput(f"agents must be from 1 to {MAX_AGENTS:,}, got {agents}")
    return agents


@dataclass(frozen=True)
class Traffic:
    """What a queue is offered: calls per second, mean handling time, the threshold T, patience.

    Build it with `Traffic(calls_per_s=...)` or `Traffic.over_interval(calls=..., ...)`.
    Erlang A applies when `patience_s` is given, else Erlang C.
    """

    calls_per_s: float
    aht_s: float
    answer_within_s: float
    patience_s: float | None = None

    def __post_init__(self) -> None:
        """Check every value; InvalidInput names the first one out of range."""
        _check("calls_per_s", self.calls_per_s, 0.0, math.inf)
        _check("aht_s", self.aht_s, MIN_SECONDS, MAX_SECONDS, "seconds")
        _check("answer_within_s", self.answer_within_s, MIN_SECONDS, MAX_SECONDS, "seconds")
        if self.patience_s is not None:
            _check("patience_s", self.patience_s, MIN_SECONDS, MAX_SECONDS, "seconds")
        load = self.offered_load
        if not MIN_LOAD_ERLANGS <= load <= MAX_LOAD_ERLANGS:
            raise InvalidInput(
                f"the offered load (calls per second times aht_s) is {load:.4g} Erlangs; Standby computes"
                f" loads from {MIN_LOAD_ERLANGS:g} to {MAX_LOAD_ERLANGS:,.0f} Erlangs"
            )

    @classmethod
    def over_interval(
        cls,
        *,
        calls: float,
        interval_minutes: float,
        aht_s: float,
        answer_within_s: float,
        patience_s: float | None = None,
    ) -> Traffic:
        """Traffic of `calls` arriving evenly over `interval_minutes`."""
        count = _check("calls", calls, 0.0, math.inf)
        minutes = _check("interval_minutes", interval_minutes, 1e-6, 1e9, "minutes")
        return cls(
            calls_per_s=count / (minutes * 60.0),
            aht_s=aht_s,
            answer_within_s=answer_within_s,
            patience_s=patience_s,
        )

    @property
    def offered_load(self) -> float:
        """The offered load in Erlangs: calls per second times the mean handling time."""
        return self.calls_per_s * self.aht_s

    @property
    def model(self) -> Model:
        """Erlang A when callers have a patience, else Erlang C."""
        return "erlang-c" if self.patience_s is None else "erlang-a"

    def min_stable_agents(self) -> int:
        """The fewest agents for which Erlang C has a steady state: more than the load."""
        return math.floor(self.offered_load) + 1


@dataclass(frozen=True)
class Performance:
    """What `agents` achieve for `traffic`; see the module's docstring for each definition."""

    traffic: Traffic
    agents: int
    service_level: float
    service_level_of_answered: float
    service_level_excluding_short_abandons: float
    asa_s: float
    mean_wait_s: float
    p_wait: float
    p_abandon: float
    p_abandon_within_threshold: float
    occupancy: float

    @property
    def model(self) -> Model:
        """Which model these figures come from."""
        return self.traffic.model

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-ready record: the model, the inputs, then each measure."""
        record: dict[str, Any] = {
            "model": self.model,
            "agents": self.agents,
            "offered_load_erlangs": self.traffic.offered_load,
        }
        record.update(asdict(self.traffic))
        for key, value in asdict(self).items():
            if key not in ("traffic", "agents"):
                record[key] = value
        return record


def performance(traffic: Traffic, agents: int) -> Performance:
    """Erlang A when `traffic` has a patience, else Erlang C."""
    return erlang_c(traffic, agents) if traffic.patience_s is None else erlang_a(traffic, agents)


def erlang_c(traffic: Traffic, agents: int) -> Performance:
    """Erlang C (M/M/n, callers wait without limit); `Unstable` when the load is not below `agents`."""
    n = check_agents(agents)
    load = traffic.offered_load
    if load >= n:
        raise Unstable(unstable_message(traffic, n))
    rho = load / n
    log_below = log_upper(n, load)  # states 0..n-1 relative to state n
    log_queue = -math.log1p(-rho)  # states n, n+1, ... relative to state n: 1/(1 - rho)
    log_total = _logaddexp(log_below, log_queue)
    p_wait = math.exp(log_queue - log_total)
    drain_per_s = (n - load) / traffic.aht_s  # n mu - lambda
    p_beyond = p_wait * math.exp(-drain_per_s * traffic.answer_within_s)
    service_level = _unit(1.0 - p_beyond)
    asa_s = p_wait / drain_per_s
    return Performance(
        traffic=traffic,
        agents=n,
        service_level=service_level,
        service_level_of_answered=service_level,
        service_level_excluding_short_abandons=service_level,
        asa_s=asa_s,
        mean_wait_s=asa_s,
        p_wait=p_wait,
        p_abandon=0.0,
        p_abandon_within_threshold=0.0,
        occupancy=rho,
    )


def erlang_a(traffic: Traffic, agents: int) -> Performance:
    """Erlang A (M/M/n+M, callers hang up after an exponential patience); stable for any load."""
    n = check_agents(agents)
    if traffic.patience_s is None:
        raise InvalidInput("Erlang A needs patience_s, the callers' mean patience in seconds")
    lam = traffic.calls_per_s
    mu = 1.0 / traffic.aht_s
    theta = 1.0 / traffic.patience_s
    threshold = traffic.answer_within_s
    load = traffic.offered_load
    # With k waiting, the chain leaves state n + k at rate n mu + k theta = theta (c + k), so
    # the queue states relative to state n are x**k / ((c+1)...(c+k)).
    c = n * traffic.patience_s / traffic.aht_s
    x = lam * traffic.patience_s
    theta_t = theta * threshold
    log_below = log_upper(n, load)
    log_queue = log_lower(c, x)  # U
    log_total = _logaddexp(log_below, log_queue)  # Z; state n has probability 1/Z
    p_wait = math.exp(log_queue - log_total)
    # Answered after a wait, ever: (c/x)(U - 1)/Z = c S(c+1, x) / ((c+1) Z); the rest abandon.
    # Above capacity U is huge and U - 1 exact; below it U is near 1 and S(c+1, x) keeps the digits.
    if x >= c:
        served_after_wait = c / x * (p_wait - math.exp(-log_total))
        p_abandon = _unit(p_wait * (1.0 - c / x) + c / x * math.exp(-log_total))
    else:
        log_queue_1 = log_lower(c + 1.0, x)  # S(c+1, x): U = 1 + x S(c+1, x) / (c+1)
        served_after_wait = c / (c + 1.0) * math.exp(log_queue_1 - log_total)
        p_abandon = _unit(math.exp(-log_total) - (c - x) / (c + 1.0) * math.exp(log_queue_1 - log_total))
    # Within T (y = e**(-theta T)): of those, a share 1 - P(c+1, x y)/P(c+1, x) is answered by T,
    # and y U P(c, x y)/(P(c, x) Z) are still waiting at T. Ratios of P, not differences of
    # sums: each stays accurate when the sums are astronomically large (far above capacity).
    served_within_after_wait = served_after_wait * _one_minus_p_ratio(c + 1.0, x, theta_t)
    still_waiting = math.exp(-theta_t) * p_wait * math.exp(_log_p_ratio(c, x, theta_t))
    service_level = _unit(math.exp(log_below - log_total) + served_within_after_wait)
    p_abandon_within = _unit(p_wait - served_within_after_wait - still_waiting)
    p_answered = math.exp(log_below - log_total) + served_after_wait  # a sum: no cancellation
    served_wait = math.exp(
        -log_total + math.log(n * mu) + _log_wait_integral(n * mu + theta, theta, x)
    )  # E[wait; answered] = (1/Z) n mu  integral of t e**(-(n mu + theta) t + x (1 - e**(-theta t))) dt
    return Performance(
        traffic=traffic,
        agents=n,
        service_level=service_level,
        service_level_of_answered=_ratio(service_level, p_answered),
        service_level_excluding_short_abandons=_ratio(service_level, 1.0 - p_abandon_within),
        asa_s=served_wait / p_answered if p_answered > 0 else 0.0,
        mean_wait_s=p_abandon * traffic.patience_s,  # Little's law: theta E[queue] = lambda p_abandon
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_abandon_within_threshold=p_abandon_within,
        occupancy=_unit(load * p_answered / n),
    )


def _log_p_ratio(a: float, x: float, theta_t: float) -> float:
    """log(P(a, x y) / P(a, x)) with y = e**(-theta_t), P the regularised lower incomplete gamma."""
    xy = x * math.exp(-theta_t)
    if xy == 0.0:
        return -math.inf
    if x <= a:
        # Both small: their sums are moderate, and log D(a, x y) - log D(a, x) is exact in closed form.
        shift = -a * theta_t - x * math.expm1(-theta_t)
        return log_lower(a, xy) - log_lower(a, x) + shift
    return log_p_q(a, xy)[0] - log_p_q(a, x)[0]


def _one_minus_p_ratio(a: float, x: float, theta_t: float) -> float:
    """1 - P(a, x y) / P(a, x), y = e**(-theta_t), without cancellation when both are near 1."""
    xy = x * math.exp(-theta_t)
    if xy < a:
        return -math.expm1(_log_p_ratio(a, x, theta_t))
    # Both beyond the peak: P(a, x) - P(a, x y) = Q(a, x y) (1 - Q(a, x) / Q(a, x y)).
    shift = -a * theta_t - x * math.expm1(-theta_t)  # log D(a, x y) - log D(a, x)
    upper_x, upper_xy = log_upper(a, x), log_upper(a, xy)
    log_q_xy = log_prefactor(a, xy) + upper_xy
    log_p_x = math.log1p(-math.exp(log_prefactor(a, x) + upper_x))
    return math.exp(log_q_xy - log_p_x) * -math.expm1(upper_x - upper_xy - shift)


def unstable_message(traffic: Traffic, agents: int) -> str:
    """Why Erlang C has no answer for `agents`, and the fewest agents for which it has one."""
    return (
        f"{agents:,} agent(s) cannot keep up with an offered load of {traffic.offered_load:,.4g} Erlangs"
        f" ({traffic.calls_per_s * 3600:,.4g} calls an hour at {traffic.aht_s:g} s each): under"
        " Erlang C, where nobody hangs up, the queue grows without end and every caller waits"
        f" forever. At least {traffic.min_stable_agents():,} agents are needed; or give the"
        " callers' patience to use Erlang A, where callers abandon"
    )


# Gauss-Legendre nodes and weights on [-1, 1], 16 points: the positive half (the rule is symmetric).
_GL_X = (
    0.09501250983763744,
    0.2816035507792589,
    0.45801677765722737,
    0.6178762444026438,
    0.755404408355003,
    0.8656312023878318,
    0.9445750230732326,
    0.9894009349916499,
)
_GL_W = (
    0.18945061045506864,
    0.18260341504492364,
    0.16915651939500265,
    0.1495959888165767,
    0.12462897125553407,
    0.0951585116824926,
    0.062253523938647456,
    0.027152459411754176,
)
_GL = tuple(zip(_GL_X, _GL_W, strict=True))
_PANEL_WIDTHS = 6.0  # a 16-point rule is exact to ~1e-15 over 6 widths of this integrand's peak
_TAIL_DROP = 40.0  # beyond where the integrand is below e**-40 of its peak, the rest is negligible


def _log_wait_integral(rate: float, theta: float, x: float) -> float:
    """log of the integral over t > 0 of t e**(-rate t + x (1 - e**(-theta t))).

    In u = rate t the integrand is u e**psi(u) / rate**2 with psi(u) = -u + x (1 - e**(-eps u)),
    eps = theta / rate: log-concave with one peak. It is integrated panel by panel, each
    panel a few peak widths wide, over the stretch where it exceeds e**-40 of its peak.
    """
    eps = theta / rate
    b = x * eps  # lambda / rate
    exp = math.exp
    expm1 = math.expm1

    # The peak solves slope(u) = 1/u - 1 + b e**(-eps u) = 0: slope falls from +inf and is
    # positive at u = 1. Newton's steps, kept inside a shrinking bracket.
    low = 1.0
    high = 1.0 / (1.0 - b) if b < 1.0 else max(2.0, math.log(2.0 * b) / eps + 1.0)
    peak = 0.5 * (low + high)
    for _ in range(200):
        pull = b * exp(-eps * peak)
        slope = 1.0 / peak - 1.0 + pull
        if abs(slope) <= 1e-15 * (1.0 / peak + 1.0):
            break
        if slope > 0:
            low = peak
        else:
            high = peak
        if high - low <= 1e-13 * peak:
            break
        step = peak + slope / (1.0 / (peak * peak) + eps * pull)
        peak = step if low < step < high else 0.5 * (low + high)
    pull = b * exp(-eps * peak)
    width = 1.0 / math.sqrt(1.0 / (peak * peak) + eps * pull)
    q = x * exp(-eps * peak)  # psi(u) - psi(peak) = -d - q expm1(-eps d), with d = u - peak

    def drop(d: float) -> float:
        return math.log1p(d / peak) - d - q * expm1(-eps * d)

    right = _reach(drop, width, math.inf)
    left = _reach(lambda d: drop(-d), width, peak)
    panels = max(1, math.ceil((right + left) / (_PANEL_WIDTHS * width)))
    half = 0.5 * (right + left) / panels
    total = 0.0
    for i in range(panels):
        middle = -left + (2 * i + 1) * half  # d at the panel's middle
        for node, weight in _GL:
            for d in (middle - half * node, middle + half * node):
                total += weight * (1.0 + d / peak) * exp(-d - q * expm1(-eps * d))
    log_peak = math.log(peak) - peak - x * expm1(-eps * peak)
    return math.log(total * half) + log_peak - 2.0 * math.log(rate)


def _reach(drop: Callable[[float], float], width: float, limit: float) -> float:
    """How far from the peak (at most `limit`) the log-concave integrand falls by _TAIL_DROP."""
    near, far = 0.0, 4.0 * width
    while True:
        if far >= limit:
            return limit  # the integrand's edge (u = 0), where it is 0
        if drop(far) <= -_TAIL_DROP:
            break
        near, far = far, 2.0 * far
    for _ in range(6):  # within 1/64 of the last doubling is close enough
        middle = 0.5 * (near + far)
        if drop(middle) > -_TAIL_DROP:
            near = middle
        else:
            far = middle
    return far


def _logaddexp(a: float, b: float) -> float:
    high, low = (a, b) if a >= b else (b, a)
    return high + math.log1p(math.exp(low - high))


def _unit(p: float) -> float:
    """Clamp a probability computed as a difference into [0, 1] (rounding can step over by 1e-16)."""
    return min(1.0, max(0.0, p))


def _ratio(part: float, whole: float) -> float:
    return _unit(part / whole) if whole > 0 else 1.0
