"""Pictures and progress: `ailive render` on the demo song writes a summary, a trace and a gains
picture; `ailive plot` draws a show folder or a render; frozen and held spans come from a real
show; the progress helper draws a bar on a terminal and plain lines otherwise."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge import trace as trace_mod
from bridge.cli import main
from bridge.config import DEMO_SONG_DIR
from bridge.outputs.automation import AutomationRecorder
from bridge.plot import draw, grid, load, spans
from bridge.progress import Progress
from bridge.safety import ChannelState, Mode
from bridge.show import Show
from bridge.sources import FileSource
from models.gainsource import make_gain_source
from tests.test_cli import ailive
from tests.test_tui import moving_song

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_render_on_the_demo_song_writes_summary_trace_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    res = ailive("render", str(DEMO_SONG_DIR), "--out", str(out), "--gain-source", "autofader")
    assert res.returncode == 0, res.stderr
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["hops"] == 480 and summary["realtime"] is False
    assert "deadline_misses" not in summary  # an offline job has no deadline
    assert [s["name"] for s in summary["sections"]][:3] == ["intro", "verse", "chorus"]
    assert set(summary["files"]) == {"mix", "gains", "trace", "plot", "summary"}
    width, height = png_size(out.with_suffix(".gains.png"))
    assert width >= 900 and height >= 500
    tr = trace_mod.read(out.with_suffix(".trace.npz"))
    assert tr.model_db is not None and tr.model_db.shape == tr.sent_db.shape == (480, 8)
    assert tr.floor_db is not None and tr.ceiling_db is not None
    assert (tr.sent_db <= tr.ceiling_db + 1e-4).all() and (tr.sent_db >= tr.floor_db - 1e-4).all()
    assert tr.names[2] == "Overhead/hats" and len(tr.sections) >= 3
    # Not a terminal: plain progress lines, the last one at 100 %.
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("render:")]
    assert lines and "100%" in lines[-1] and "\r" not in res.stderr
    # And `ailive plot` draws it again from the mix file's name.
    again = tmp_path / "again.png"
    assert main(["plot", str(out), "--out", str(again)]) == 0
    assert png_size(again) == (width, height)


def test_plot_a_folder_with_only_a_gains_csv(tmp_path: Path) -> None:
    rec = AutomationRecorder(["Kick", "Bass"])
    for k in range(40):
        rec.send(np.array([-3.0 + 0.05 * k, -6.0]), 0.05 * (k + 1))
    rec.write_csv(tmp_path / "gains.csv")
    tr = load(tmp_path)
    assert tr.model_db is None and tr.sent_db.shape == (40, 2)
    assert main(["plot", str(tmp_path)]) == 0
    assert png_size(tmp_path / "gains.png")[0] > 0


def test_plot_of_nothing_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no trace.npz or gains.csv here" in err


def test_without_matplotlib_the_plot_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = AutomationRecorder(["Kick"])
    rec.send(np.array([0.0]), 0.05)
    rec.write_csv(tmp_path / "gains.csv")
    # matplotlib is installed here: hide it (None in sys.modules makes its import fail).
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["plot", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'ailive-mixer[plot]'" in err


def test_frozen_and_held_spans_come_from_the_show(tmp_path: Path) -> None:
    show = Show(FileSource(moving_song(3, 6.0), realtime=False), make_gain_source("autofader"))
    trace_mod.attach(show)

    def drive(snap: object) -> None:
        index = getattr(snap, "index")  # noqa: B009
        if index == 20:
            show.engine.safety.set_mode(Mode.FREEZE)
        elif index == 40:
            show.engine.safety.set_mode(Mode.AUTO)
        elif index == 50:
            show.engine.safety.set_state(1, ChannelState.LOCKED)
        elif index == 70:
            show.engine.safety.set_state(1, ChannelState.AUTO)

    show.add_listener(drive)
    show.run()
    tr = trace_mod.trace_of(show)
    assert tr is not None
    hop = 0.05
    frozen = spans(tr.frozen(), tr.t, hop)
    held = spans(tr.held()[:, 1], tr.t, hop)
    assert len(frozen) == 1 and len(held) == 1
    # Set after hop 20's listener: hops 21..40 ran frozen (their gains took effect at t+1 hop).
    assert frozen[0] == pytest.approx((21 * hop, 41 * hop))
    assert held[0] == pytest.approx((51 * hop, 71 * hop))
    assert not tr.held()[:, 0].any()
    frozen_rows = tr.frozen()
    assert np.all(tr.sent_db[frozen_rows] == tr.sent_db[np.argmax(frozen_rows) - 1])
    path = trace_mod.write(tr, tmp_path / "trace.npz")
    back = trace_mod.read(path)
    assert np.array_equal(back.frozen(), tr.frozen()) and np.array_equal(back.held(), tr.held())
    assert png_size(draw(back, tmp_path / "g.png"))[0] > 0


def test_grid_stays_readable_at_32_channels() -> None:
    assert grid(4) == (4, 1) and grid(8) == (4, 2) and grid(32) == (8, 4) and grid(17) == (5, 4)


def test_spans_of_runs() -> None:
    t = np.arange(1, 11) * 0.1
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 0, 1, 1], bool)
    assert np.allclose(spans(mask, t, 0.1), [(0.1, 0.3), (0.5, 0.6), (0.8, 1.0)])
    assert spans(np.zeros(0, bool), np.zeros(0), 0.1) == []


def test_progress_bar_on_a_terminal_and_lines_otherwise() -> None:
    now = [0.0]
    tty = io.StringIO()
    bar = Progress(40.0, "render", unit=" s", stream=tty, tty=True, clock=lambda: now[0])
    now[0] = 5.0
    bar.update(10.0)
    text = tty.getvalue()
    assert text.startswith("\rrender [#######.....................]")
    assert "25% 10.0/40.0 s" in text and "ETA 0:15" in text
    bar.done()
    assert tty.getvalue().endswith("\n") and "100%" in tty.getvalue().rsplit("\r", 1)[-1]

    plain = io.StringIO()
    lines = Progress(40.0, "eval", stream=plain, tty=False, every_s=5.0, clock=lambda: now[0])
    for k in range(1, 41):
        now[0] = 5.0 + k * 0.5  # 20 s of work: one line every 5 s, no carriage returns
        lines.update(float(k))
    lines.done()
    out = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue()
    assert 4 <= len(out) <= 6 and out[-1].startswith("eval: 100% 40/40")
