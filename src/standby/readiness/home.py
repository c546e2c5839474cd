"""Agents available to work from home: the one rule impact, the live forecast and relocation share.

Pure. A team whose agents have taken the home check recently (`ready` is given) counts
the agents who passed it, at most the team's agents on shift; a team with no recent
checks counts the plan's `home_capable` share of its agents, rounded down.
"""

from __future__ import annotations

from collections.abc import Mapping

from standby.plan.schema import Plan, Team


def agents_available_from_home(team: Team, ready: int | None) -> int:
    """How many of `team`'s agents can work from home: those ready, else its `home_capable` share."""
    if ready is None:
        return int(team.agents * team.home_capable)
    return max(0, min(ready, team.agents))


def home_agents_by_team(plan: Plan, ready: Mapping[str, int]) -> dict[str, int]:
    """Every team's agents available from home; `ready` holds the teams with recent checks."""
    return {t.id: agents_available_from_home(t, ready.get(t.id)) for t in plan.teams}
