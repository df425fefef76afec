"""The shared judgement of a reported fader value (ours, a read, or a person), and REAPER's
feedback placement by the track numbers it reports: pure, no sockets."""

from __future__ import annotations

from bridge.outputs.link import FaderState
from bridge.outputs.reaper.codec import Feedback, FeedbackPlacer


def test_ours_reads_and_people() -> None:
    f = FaderState(target=3)
    assert not f.report(-6.0, 0.02)  # before we sent anything: where the fader is
    assert (f.sent, f.confirmed) == (-6.0, -6.0)
    f.remember(-10.0, now=1.0)
    f.remember(-11.0, now=1.05)
    assert not f.report(-10.0, 0.02)  # a late echo of an earlier set
    assert not f.report(-11.01, 0.02)  # ours, within tolerance
    assert not f.report(-11.01, 0.02)  # the same report again
    assert f.report(-3.0, 0.02)  # nobody here sent -3 dB
    assert f.confirmed == -3.0 and not f.pending
    f.forget_before(10.0)
    assert not f.pending


def test_first_report_is_a_read_only_where_the_other_side_shows_positions() -> None:
    host = FaderState(target=1)
    host.remember(100, now=0.0)
    assert not host.report(5000, 2, first_report_is_read=True)  # a host showing a new bank
    controller = FaderState(target=1)
    controller.remember(100, now=0.0)
    assert controller.report(5000, 2, first_report_is_read=False)  # a CC fader only reports moves
    lost = FaderState(target=1, confirmed=-20.0, sent=-20.0)
    lost.remember(-12.0, now=0.0)
    assert not lost.report(-20.0, 0.02)  # still the old level: our set was lost, not a person


def test_feedback_is_placed_by_reported_track_numbers() -> None:
    placer = FeedbackPlacer(bank_size=4)
    # Before REAPER says anything, the bank we asked for is assumed.
    assert placer.feed("/track/2/volume/db", [-6.0], 0.0, 1) == [Feedback(6, "db", -6.0)]
    # A bank refresh: name, then number (REAPER clamped bank 3 to tracks 5-8), then levels.
    assert placer.feed("/track/1/name", ["Bass"], 0.0, 2) == []
    assert placer.feed("/track/1/number/str", ["5"], 0.0, 2) == [Feedback(5, "name", "Bass")]
    assert placer.feed("/track/1/volume/str", ["-12.50dB"], 0.0, 2) == [Feedback(5, "db", -12.5)]
    assert placer.feed("/track/0/volume/db", [0.0], 0.0, 2) == []  # the master
    assert placer.feed("/track/1/volume", [0.5], 0.0, 2) == []  # preference-dependent scale
    # A rename: no number follows, so after a moment the name belongs to the slot's track.
    assert placer.feed("/track/2/name", ["Keys"], 1.0, 2) == []
    assert placer.due_names(1.01, 2) == []
    assert placer.due_names(1.2, 2) == [Feedback(6, "name", "Keys")]


def test_a_report_settles_every_set_before_it() -> None:
    f = FaderState(target=1, confirmed=-30.0, sent=-30.0)
    for k, db in enumerate([-20.0, -15.0, -10.0, -15.0, -20.0, -12.0]):
        f.remember(db, now=float(k))
    assert not f.report(-15.0, 0.02)  # the echo of the oldest -15 (the -20 before it was lost)
    assert not f.report(-10.0, 0.02)
    assert not f.report(-15.0, 0.02)  # the second -15: still ours
    assert not f.report(-12.0, 0.02)  # the last set: everything is settled
    assert not f.pending
    assert f.report(-20.0, 0.02)  # the model passed -20 dB twice, but that is behind us: a person


def test_a_refresh_of_where_the_fader_is_settles_no_newer_set_of_the_same_value() -> None:
    """The model rides over the top (-6.5, -6, -5.5, -6, -6.5); REAPER's heartbeat refresh,
    made before our burst arrived, shows -6.5, where the fader already was. It must not be
    taken for the echo of the second -6.5 (which would settle every set before it, and make
    the echo of the first -6 a "person")."""
    f = FaderState(target=1, confirmed=-6.5, sent=-6.5)
    for k, db in enumerate([-6.0, -5.5, -6.0, -6.5, -7.0]):
        f.remember(db, now=float(k))
    assert not f.report(-6.5, 0.02)  # the refresh: the fader is still at -6.5
    assert len(f.pending) == 5  # nothing settled
    for db in [-6.0, -5.5, -6.0, -6.5, -7.0]:
        assert not f.report(db, 0.02)  # every echo ours
    assert not f.pending


def test_a_read_back_shows_only_the_last_sets_before_the_query() -> None:
    f = FaderState(target=1, confirmed=0.0, sent=0.0)
    for k in range(20):
        f.remember(float(k), now=float(k))
    assert not f.take_echo(3.0, 0, sent_before=15.0, last=8)  # older than the last 8 sets
    assert not f.take_echo(17.0, 0, sent_before=15.0, last=8)  # sent after the query
    assert f.take_echo(12.0, 0, sent_before=15.0, last=8)
    assert f.confirmed == 12.0
    assert [v for _, v in f.pending] == [float(k) for k in range(13, 20)]
