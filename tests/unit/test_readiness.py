"""The home check's core: the verdict per measure, the browser, the signed link, and who works from home."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from _plans import reference_plan

from standby.impact.results import Scenario
from standby.impact.strategies import resolve
from standby.plan.readiness import MinimumBrowser, Readiness, origin
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.readiness.home import agents_available_from_home, home_agents_by_team
from standby.readiness.links import make_readiness_token, read_readiness_token, readiness_url
from standby.readiness.verdict import Browser, Measurements, PlatformReach, browser_of, jitter, judge
from standby.respond.ack_links import InvalidLink, make_ack_token, read_ack_token
from standby.respond.continuity import relocation

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
SECRET = "s3cret-for-tests"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
GOOD = Measurements(
    round_trips_ms=(40.0, 42.0, 41.0, 45.0, 43.0, 40.0),
    download_bytes=1_000_000,
    download_ms=800.0,
    upload_bytes=500_000,
    upload_ms=900.0,
    browser=browser_of(CHROME),
    microphone="granted",
    platform=(),
)


@pytest.fixture(scope="module")
def ref() -> Plan:
    return reference_plan()


def measures(verdict_checks: object) -> dict[str, bool]:
    return {c.measure: c.passed for c in verdict_checks}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (CHROME, Browser("chrome", 131)),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            Browser("chrome", 120),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
            Browser("edge", 131),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            Browser("firefox", 133),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.6 Safari/605.1.15",
            Browser("safari", 17),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
            Browser("opera", 115),
        ),
        ("curl/8.5.0", Browser("other", None)),
    ],
)
def test_the_browser_and_its_major_version_come_from_the_user_agent(agent: str, expected: Browser) -> None:
    assert browser_of(agent) == expected


def test_jitter_is_the_mean_change_between_round_trips() -> None:
    assert jitter([]) == 0 and jitter([50.0]) == 0
    assert jitter([10.0, 30.0, 20.0, 20.0]) == pytest.approx((20 + 10 + 0) / 3)


def test_a_good_home_set_up_passes_every_default_measure() -> None:
    verdict = judge(GOOD, Readiness())
    assert verdict.passed
    assert measures(verdict.checks) == {
        "latency": True,
        "jitter": True,
        "download": True,
        "upload": True,
        "browser": True,
        "microphone": True,
    }
    assert verdict.latency_ms == 41.5  # the median
    assert verdict.download_kbps == pytest.approx(10_000)  # 8 Mbit in 0.8 s
    assert all(c.advice == "" for c in verdict.checks if c.measure == "browser")


def test_slow_round_trips_fail_latency_with_what_to_do() -> None:
    slow = replace(GOOD, round_trips_ms=(610.0, 640.0, 605.0, 620.0, 630.0))
    verdict = judge(slow, Readiness())
    assert not verdict.passed
    latency = next(c for c in verdict.checks if c.measure == "latency")
    assert (latency.passed, latency.value, latency.limit) == (False, "620 ms", "at most 400 ms")
    assert "cable rather than Wi-Fi" in latency.advice
    assert measures(verdict.checks)["jitter"]  # steady, only slow


def test_uneven_round_trips_fail_jitter_and_too_few_fail_both() -> None:
    uneven = replace(GOOD, round_trips_ms=(20.0, 120.0, 20.0, 120.0, 20.0))
    assert measures(judge(uneven, Readiness()).checks)["jitter"] is False
    few = replace(GOOD, round_trips_ms=(40.0, 40.0))
    checks = judge(few, Readiness()).checks
    assert measures(checks)["latency"] is False and measures(checks)["jitter"] is False
    assert "only 2 round trips" in checks[0].advice


def test_throughput_thresholds_come_from_the_plan() -> None:
    rules = Readiness(min_download_kbps=20_000, min_upload_kbps=1_000)
    verdict = judge(GOOD, rules)
    assert measures(verdict.checks)["download"] is False  # 10 000 kbit/s < 20 000
    assert measures(verdict.checks)["upload"] is True  # 4 444 kbit/s
    nothing = replace(GOOD, upload_bytes=0)
    assert measures(judge(nothing, Readiness(min_upload_kbps=0)).checks)["upload"] is False


def test_an_old_or_unlisted_browser_fails_with_the_supported_ones() -> None:
    old = replace(GOOD, browser=Browser("chrome", 100))
    check = next(c for c in judge(old, Readiness()).checks if c.measure == "browser")
    assert not check.passed and check.advice == "Update chrome to version 107 or later."
    safari = replace(GOOD, browser=Browser("safari", 17))
    check = next(c for c in judge(safari, Readiness()).checks if c.measure == "browser")
    assert not check.passed and "chrome 107+, edge 107+, firefox 107+" in check.advice
    allowed = Readiness(browsers=[MinimumBrowser(name="safari", version=16)])
    assert judge(safari, allowed).passed


def test_the_microphone_must_be_granted_unless_the_plan_says_not() -> None:
    for state in ("denied", "prompt", "unknown"):
        asked = replace(GOOD, microphone=state)
        assert measures(judge(asked, Readiness()).checks)["microphone"] is False, state
        assert judge(asked, Readiness(microphone=False)).passed


def test_every_platform_address_must_be_reached() -> None:
    rules = Readiness(platform_login=["https://login.example.com/", "https://ccp.example.net:8443/x"])
    one = replace(GOOD, platform=(PlatformReach("https://login.example.com/", True),))
    check = next(c for c in judge(one, rules).checks if c.measure == "platform")
    assert not check.passed and check.value == "1 of 2 reached"
    assert "https://ccp.example.net:8443/x" in check.advice
    both = replace(one, platform=(*one.platform, PlatformReach("https://ccp.example.net:8443/x", True)))
    assert judge(both, rules).passed
    assert origin("https://ccp.example.net:8443/x") == "https://ccp.example.net:8443"


@pytest.mark.parametrize(
    "address", ["ftp://x.example", "https://", "https://a.example/; script-src *", "https://a.example:99999/"]
)
def test_the_plan_refuses_addresses_a_policy_cannot_name(address: str) -> None:
    with pytest.raises(ValueError, match=r"address|port|semicolon"):
        Readiness(platform_login=[address])


def test_a_readiness_link_names_the_agent_and_campaign_until_it_expires() -> None:
    token = make_readiness_token(SECRET, agent="ag.7/x", campaign_id=3, expires_at=NOW + timedelta(days=7))
    claim = read_readiness_token(SECRET, token, NOW)
    assert (claim.agent, claim.campaign_id) == ("ag.7/x", 3)
    assert (
        readiness_url("https://standby.example/", token) == f"https://standby.example/readiness/link/{token}"
    )
    with pytest.raises(InvalidLink) as forged:
        read_readiness_token("another-secret", token, NOW)
    assert forged.value.reason == "forged"
    with pytest.raises(InvalidLink) as expired:
        read_readiness_token(SECRET, token, NOW + timedelta(days=8))
    assert expired.value.reason == "expired"
    with pytest.raises(InvalidLink) as malformed:
        read_readiness_token(SECRET, token[:-5], NOW)
    assert malformed.value.reason == "malformed"


def test_a_readiness_link_and_an_acknowledgement_link_cannot_pass_for_each_other() -> None:
    ack = make_ack_token(
        SECRET, page_id=1, incident_id=1, person_id="amara", expires_at=NOW + timedelta(days=1)
    )
    with pytest.raises(InvalidLink):
        read_readiness_token(SECRET, ack, NOW)
    token = make_readiness_token(SECRET, agent="amara", campaign_id=1, expires_at=NOW + timedelta(days=1))
    with pytest.raises(InvalidLink):
        read_ack_token(SECRET, token, NOW)


def test_ready_agents_replace_the_home_capable_share_where_the_team_has_results(ref: Plan) -> None:
    billing = ref.teams_by_id["billing-team"]
    assert agents_available_from_home(billing, None) == 30  # 50 x 0.6
    assert agents_available_from_home(billing, 12) == 12
    assert agents_available_from_home(billing, 500) == 50  # never more than the team
    assert home_agents_by_team(ref, {"billing-team": 5}) == {
        "emergency-desk": 9,  # 12 x 0.8, rounded down
        "billing-team": 5,
        "sales-team": 9,
        "billing-late": 19,
    }


def test_the_simulation_moves_the_ready_agents_home(ref: Plan) -> None:
    topology = Topology.from_plan(ref)
    shares = resolve(ref, topology, Scenario(down=("leeds-power",), at=600, minutes=120))
    assert {m.team: m.agents for m in shares.moves if m.site == "home"} == {
        "emergency-desk": 9,
        "billing-team": 30,
        "sales-team": 9,
    }  # billing-late's shift starts at 16:00, after the outage: nobody of theirs moves
    ready = Scenario(
        down=("leeds-power",), at=600, minutes=120, home_ready=(("billing-team", 5), ("sales-team", 0))
    )
    checked = resolve(ref, topology, ready)
    assert {m.team: m.agents for m in checked.moves if m.site == "home"} == {
        "emergency-desk": 9,
        "billing-team": 5,
    }


def test_live_relocation_moves_the_ready_agents_home(ref: Plan) -> None:
    moving = relocation(
        ref,
        Topology.from_plan(ref),
        ref.strategies[0],
        down_components=["leeds-power"],
        now=NOW,
        home_ready={"emergency-desk": 3},
    )
    assert moving is not None
    assert [(m.team_id, m.agents) for m in moving.moves] == [
        ("emergency-desk", 3),
        ("billing-team", 30),
        ("sales-team", 9),
    ]
