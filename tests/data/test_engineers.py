"""The second engineer (held-out-sounds split only): other role levels and other rides."""

from __future__ import annotations

import numpy as np
import pytest

from models.data.targets import (
    FIRST_ENGINEER,
    ROLE_LEVELS_DB,
    SECOND_ENGINEER,
    SECOND_LEVELS_DB,
    Engineer,
    draw_rules,
    target_gains_db,
)

RATE = 48_000
ROLES = ["kick", "snare", "drums", "bass", "rhythm", "keys", "lead"]


def _median_levels(engineer: Engineer) -> np.ndarray:
    draws = [
        draw_rules(ROLES, {}, np.random.default_rng([s, 30]), engineer).levels_db
        for s in range(400)
    ]
    return np.median(np.asarray(draws), axis=0)


def test_the_first_engineer_is_the_documented_table() -> None:
    assert FIRST_ENGINEER.role_levels_db == ROLE_LEVELS_DB
    rules = draw_rules(ROLES, {}, np.random.default_rng([1, 30]))
    assert rules.engineer == "first" and rules.to_json()["engineer"] == "first"


def test_second_engineer_sets_other_role_levels() -> None:
    first, second = _median_levels(FIRST_ENGINEER), _median_levels(SECOND_ENGINEER)
    i = {r: k for k, r in enumerate(ROLES)}
    # The band against the lead: first uniform -2..2 (median 0), second -1..3 (median +1).
    for role in ("kick", "snare", "drums", "bass", "rhythm", "keys"):
        want_first = ROLE_LEVELS_DB[role]
        want_second = SECOND_LEVELS_DB[role] + 1.0
        assert first[i[role]] == pytest.approx(want_first, abs=0.5), role
        assert second[i[role]] == pytest.approx(want_second, abs=0.6), role
    # As documented: bass and snare over the kick for the second engineer, not for the first.
    assert second[i["bass"]] > second[i["kick"]] + 3 and first[i["bass"]] < first[i["kick"]]
    assert second[i["snare"]] > second[i["kick"]] and first[i["snare"]] < first[i["kick"]]
    assert second[i["keys"]] < first[i["keys"]] - 1
    assert first[i["lead"]] == second[i["lead"]] == 0.0


def test_second_engineer_rides_differently() -> None:
    n = 10 * RATE
    rng = np.random.default_rng(0)
    sources = (0.05 * rng.standard_normal((len(ROLES), n))).astype(np.float32)
    sections = [
        {"name": "verse", "start_s": 0.0, "end_s": 4.0},
        {"name": "chorus", "start_s": 4.0, "end_s": 10.0},
    ]
    lift = {}
    for e in (FIRST_ENGINEER, SECOND_ENGINEER):
        rules = draw_rules(ROLES, {}, np.random.default_rng([3, 30]), e)
        rules.fade_s = 0.0
        g = target_gains_db(sources, ROLES, sections, rules, RATE, hop=2400)
        # Gain in the middle of the chorus minus the middle of the verse, per role.
        lift[e.name] = dict(zip(ROLES, g[150] - g[40], strict=True))
        assert lift[e.name]["keys"] == pytest.approx(rules.chorus_lift_db, abs=1e-6)
        assert e.chorus_lift_db[0] <= rules.chorus_lift_db <= e.chorus_lift_db[1]
    assert lift["first"]["drums"] == pytest.approx(0.0, abs=1e-9)
    assert lift["second"]["drums"] >= 2.0, "the second engineer lifts the overheads in choruses"
    assert SECOND_ENGINEER.ride_s > FIRST_ENGINEER.ride_s
    assert min(SECOND_ENGINEER.lead_ride_depth) > np.mean(FIRST_ENGINEER.lead_ride_depth)
    assert SECOND_ENGINEER.lead_ride_max_db > FIRST_ENGINEER.lead_ride_max_db
    assert SECOND_ENGINEER.solo_ride_db[1] <= FIRST_ENGINEER.solo_ride_db[0]
