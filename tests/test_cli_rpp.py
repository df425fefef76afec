"""`ailive render FOLDER --out mix.wav --rpp out.RPP`: the render's automation as REAPER tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rpp

from bridge.cli import main
from bridge.outputs.automation import read_automation_csv
from bridge.outputs.rpp.envelope import db_to_amplitude, envelope_points


def test_render_writes_a_reaper_project(
    song_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mix.wav"
    project = tmp_path / "mix.RPP"
    assert main(["render", str(song_dir), "--out", str(out), "--rpp", str(project)]) == 0
    assert f"reaper: {project}" in capsys.readouterr().out
    names, times, gains = read_automation_csv(out.with_suffix(".gains.csv"))
    tracks = rpp.loads(project.read_text()).findall("TRACK")
    assert [next(r[1] for r in t if r[0] == "NAME") for t in tracks] == names
    for c, track in enumerate(tracks):
        env = track.find("VOLENV2")
        assert env is not None
        env_t, env_db = envelope_points(env)
        played = 20 * np.log10(np.interp(times, env_t, db_to_amplitude(env_db)))
        assert np.max(np.abs(played - gains[:, c])) <= 0.1 + 0.006  # + the CSV's 0.01 dB rounding
        source = track.find("ITEM/SOURCE")
        assert source is not None
        assert Path(source.children[0][1]).is_file()  # the channel file, so the mix plays

    # A second render updates the same tracks and keeps the first version as a backup.
    first = project.read_bytes()
    assert main(["render", str(song_dir), "--out", str(out), "--rpp", str(project)]) == 0
    assert (tmp_path / "mix.RPP.bak").read_bytes() == first
    again = rpp.loads(project.read_text()).findall("TRACK")
    assert len(again) == 4
