"""Readouts an engineer can read: the strips' peak and RMS numbers and the master panel's compute
change every READOUT_FRAMES frames (the peak and the compute shown are the highest since the
last readout), the meter bars and the gains every frame, and a stalled show's readouts settle
on its latest hop (the settling tick itself runs in the snapshot tests, which wait for it).
And the strip's right edge is the cell a vkey border draws.

Real app (headless `run_test`), hops handed to the mixer screen (no engine runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np

from bridge.engine import HopSnapshot
from bridge.tui import MixerApp, make_app
from bridge.tui.strip import EDGE_CHAR, READOUT_FRAMES, ChannelStrip
from tests.test_tui import make_show
from tests.test_tui_snapshots import hop


def app_for(tmp_path: Path, n: int = 2) -> MixerApp:
    return make_app(make_show(n, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=tmp_path)


def with_levels(snap: HopSnapshot, peak: float, rms: float, compute_ms: float) -> HopSnapshot:
    n = len(snap.peak_db)
    return dataclasses.replace(
        snap, peak_db=np.full(n, peak), rms_db=np.full(n, rms), compute_ms=compute_ms
    )


def line(strip: ChannelStrip, label: str) -> str:
    return next(x for x in strip.text.splitlines() if x.startswith(label))


def master_timing(app: MixerApp) -> str:
    info = str(app.query_one("#info").content)  # type: ignore[attr-defined]
    return next(x for x in info.splitlines() if x.startswith("hop "))


def test_readouts_hold_peaks_and_settle_on_the_latest_hop(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    app.mixer.readout_settle_s = 3600.0  # no settling tick in the middle: the test calls it
    peaks = [-20.0, -3.0, -25.0, -30.0, -12.0, -40.0]
    computes = [0.5, 7.25, 0.5, 0.5, 0.5, 0.5]

    async def body() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            strip = app.mixer.strips[0]
            bars: list[str] = []
            for k, (peak, compute) in enumerate(zip(peaks, computes, strict=True)):
                snap = with_levels(hop(2, k), peak, peak - 10.0, compute)
                app.mixer.draw(snap)  # one frame per hop, as the app draws them
                await pilot.pause()
                bars.append(strip.text)
                if k == 0:  # the first hop is shown at once
                    assert line(strip, "pk") == "pk  -20.0"
                    assert master_timing(app).startswith("hop 0 ")
                elif k < READOUT_FRAMES:  # held: the numbers stay, the bars move
                    assert line(strip, "pk") == "pk  -20.0"
                    assert line(strip, "rms") == "rms -30.0"
                    assert master_timing(app).startswith("hop 0 ")
                elif k == READOUT_FRAMES:  # renewed: the highest peak and slowest hop since
                    assert line(strip, "pk") == "pk   -3.0"
                    assert line(strip, "rms") == "rms -22.0"  # the latest RMS
                    assert master_timing(app).startswith(f"hop {k} ")
                    assert "compute 7.25 ms" in master_timing(app)
            assert len(set(bars)) == len(bars)  # the meter moved on every frame
            assert not app.mixer.readouts_settled  # hop 5 is held behind the readout of hop 4
            # No more hops: the first tick after the last hop sees it, the next settles.
            app.mixer.settle_readouts()
            assert not app.mixer.readouts_settled
            app.mixer.settle_readouts()
            assert app.mixer.readouts_settled
            await pilot.pause()
            assert line(strip, "pk") == "pk  -40.0"
            assert line(strip, "rms") == "rms -50.0"
            assert master_timing(app).startswith("hop 5 ")
            await pilot.press("q")

    asyncio.run(body())


def test_a_strip_draws_its_own_right_edge(tmp_path: Path) -> None:
    app = app_for(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            app.mixer.draw(hop(2, 0))
            await pilot.pause()
            for strip in app.mixer.strips:
                width = strip.size.width
                assert width == strip.outer_size.width == 10  # no CSS border takes a cell
                for y in range(strip.size.height):
                    cells = strip.render_line(y)
                    assert cells.cell_length == width
                    assert cells.text.endswith(EDGE_CHAR)
                assert EDGE_CHAR not in strip.text  # the text is what is inside the edge
            await pilot.press("q")

    asyncio.run(body())


def test_the_sparkline_skips_the_timing_line_frame_and_follows_another_channel_at_once(
    tmp_path: Path,
) -> None:
    app = app_for(tmp_path)
    app.mixer.readout_settle_s = 3600.0  # no settling tick in the middle: the test calls it

    def label() -> str:
        return str(app.query_one("#spark-label").content)  # type: ignore[attr-defined]

    async def body() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            shown = []
            for k in range(6):
                snap = hop(2, k)
                app.history.append(snap.sent_db)  # as the app's hop listener does
                app.mixer.draw(snap)
                await pilot.pause()
                shown.append(label())
            now = [f"now {hop(2, k).sent_db[0]:+.1f} dB" for k in range(6)]
            assert len(set(now)) == 6  # the sent gain moved every hop
            # Every other hop (0, 2), but not on the frame that renews the timing line (hop 4,
            # READOUT_FRAMES): one frame later there, so the two are never redrawn together.
            assert READOUT_FRAMES == 4
            assert [n in s for n, s in zip(now, shown, strict=True)] == [
                True, False, True, False, False, True
            ]  # fmt: skip
            await pilot.press("right")  # another channel: its sparkline at once
            await pilot.pause()
            assert (
                label().startswith(f"{app.show.names[1]} sent")
                and f"now {hop(2, 5).sent_db[1]:+.1f}" in label()
            )
            snap = hop(2, 6)
            app.history.append(snap.sent_db)
            app.mixer.draw(snap)  # held (one frame since the last drawing)
            assert f"now {snap.sent_db[1]:+.1f}" not in label()
            app.mixer.settle_readouts()
            app.mixer.settle_readouts()  # no hop since the last tick: the latest is shown
            assert f"now {snap.sent_db[1]:+.1f}" in label()
            await pilot.press("q")

    asyncio.run(body())


def test_the_strips_renew_their_readouts_on_different_frames(tmp_path: Path) -> None:
    """A quarter of the strips renew their numbers each frame (by index), not all of them every
    fourth frame: the frames that redrew every number were the slowest to composite."""
    app = app_for(tmp_path, n=4)
    app.mixer.readout_settle_s = 3600.0

    async def body() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            strips = app.mixer.strips
            app.mixer.draw(with_levels(hop(4, 0), -40.0, -50.0, 0.5))  # every strip shows it
            await pilot.pause()
            before = [line(s, "pk") for s in strips]
            assert before == ["pk  -40.0"] * 4
            for k in range(1, 9):
                app.mixer.draw(with_levels(hop(4, k), -40.0 + 3 * k, -50.0, 0.5))
                await pilot.pause()
                now = [line(s, "pk") for s in strips]
                renewed = [i for i in range(4) if now[i] != before[i]]
                assert renewed == [(-k) % READOUT_FRAMES], k  # one strip a frame, in turn
                before = now
            # Each strip still shows the highest peak since its own last readout.
            assert line(strips[0], "pk") == f"pk  {-40.0 + 3 * 8:.1f}"
            await pilot.press("q")

    asyncio.run(body())
