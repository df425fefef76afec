"""MedleyDB import for the evaluation: each RAW track aligned to its stem (polarity, delay), the
same soundcheck gain staging with and without bleed, the stems as the balance's known sources,
and the sanity flag on a song that is not a gain mix of its channels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.cli import main
from models.data.loaders import (
    ImportedSong,
    ImportOptions,
    align_to,
    load_medleydb,
    read_stems,
    write_imported,
)
from models.eval.run import NOT_A_GAIN_MIX, evaluate
from tests.medley_fixture import BASS_DELAY, MEDLEY_RATE, write_medleydb

pytest.importorskip("yaml")
RATE = 48_000
DELAY_48K = BASS_DELAY * RATE / MEDLEY_RATE
ORACLES = ["raw", "oracle", "static-oracle", "slew-oracle"]


@pytest.fixture(scope="module")
def medley(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_medleydb(tmp_path_factory.mktemp("medleydb"))


def test_alignment_finds_polarity_and_delay_of_a_track() -> None:
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(RATE).astype(np.float32)
    late = -np.concatenate([np.zeros(150, np.float32), ref[:-150]])
    moved, how = align_to(late, ref, 4800)
    assert (how.delay_samples, how.polarity) == (150, -1) and how.correlation < -0.99
    np.testing.assert_allclose(moved[: RATE - 150], ref[: RATE - 150], atol=1e-6)
    early = ref[200:]
    _, how = align_to(np.concatenate([early, np.zeros(200, np.float32)]), ref, 4800)
    assert (how.delay_samples, how.polarity) == (-200, 1)


def _alignment(data: ImportedSong) -> dict[str, dict[str, float]]:
    return {m["stem"]: m for m in data.song.meta.extra["alignment"]}


def test_import_without_bleed_aligns_stages_and_keeps_the_stems(medley: Path) -> None:
    data = load_medleydb(medley, ImportOptions(simulate_bleed=False, seed=3))
    moves = _alignment(data)
    assert moves["S02"]["polarity"] == -1
    assert moves["S02"]["delay_samples"] == pytest.approx(DELAY_48K, abs=1)
    assert moves["S02"]["correlation"] < -0.95
    assert all(moves[s]["polarity"] == 1 and moves[s]["delay_samples"] == 0
               for s in ("S01", "S03", "S04"))  # fmt: skip
    # soundcheck gain staging as on the simulated stage: loudest peak -12..-3 dBFS, no clipping
    audio = data.song.audio
    peak = 20 * np.log10(np.max(np.abs(audio)))
    assert -12.01 <= peak <= -2.99
    assert np.mean(np.abs(audio.sum(axis=0)) >= 1.0) == 0.0
    stage = data.song.meta.extra["stage"]
    assert len(stage["staging_db"]) == 4 and len(stage["post_trims_db"]) == 4
    assert data.stems is not None and data.stems.members == [[0], [1], [2], [3]]
    assert data.stems.roles == ["kick", "bass", "rhythm", "lead"]
    # the stems sum to the stored target (the fixture's MIX is the sum of its stems)
    assert data.song.target_mix is not None
    err = data.stems.audio.sum(axis=0) - data.song.target_mix
    assert 10 * np.log10(np.sum(data.song.target_mix**2) / np.sum(err**2)) > 40
    # the same procedure on the simulated stage: staging, trims, input gain to the same range
    bled = load_medleydb(medley, ImportOptions(simulate_bleed=True, seed=3))
    assert len(bled.song.meta.extra["stage"]["staging_db"]) == 4
    assert -12.01 <= 20 * np.log10(np.max(np.abs(bled.song.audio))) <= -2.99
    assert _alignment(bled)["S02"]["delay_samples"] == moves["S02"]["delay_samples"]


def _evaluate(medley: Path, tmp: Path, align: bool) -> dict:
    data = load_medleydb(medley, ImportOptions(simulate_bleed=False, seed=3, align=align))
    write_imported(data, tmp / "songs" / medley.name)
    return evaluate(tmp / "songs", ORACLES, tmp / "out", examples=0)


def test_aligned_raw_tracks_let_every_oracle_beat_raw(medley: Path, tmp_path: Path) -> None:
    result = _evaluate(medley, tmp_path, align=True)
    assert not result["flagged"]
    s = result["summary"]
    for name in ORACLES[1:]:
        assert s[name]["mrstft_matched"] < s["raw"]["mrstft_matched"] - 0.5
        assert s[name]["balance_median_db"] < 0.5 < s["raw"]["balance_median_db"]


def test_a_song_that_is_not_a_gain_mix_is_flagged_and_left_out(
    medley: Path, tmp_path: Path
) -> None:
    result = _evaluate(medley, tmp_path, align=False)
    why = result["flagged"][medley.name]
    assert why.startswith(NOT_A_GAIN_MIX) and "oracle" in why
    assert all(r["flag"] == why for r in result["rows"])
    assert all(s["songs"] == 0 and s["flagged"] == 1 for s in result["summary"].values())
    assert s_none(result["summary"]["raw"])
    text = (tmp_path / "out" / "results.md").read_text()
    assert f"**{medley.name}**: {NOT_A_GAIN_MIX}" in text and "0 averaged" in text


def s_none(summary: dict) -> bool:
    """A summary that averaged nothing has no figures."""
    return summary["mrstft_matched"] is None and summary["balance_median_db"] is None


def test_cli_import_reports_the_alignment_and_eval_reads_the_stems(
    medley: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "songs" / "Band_Song"
    assert main(["data", "import", str(medley), "--out", str(out), "--no-bleed"]) == 0
    said = capsys.readouterr().out
    assert "aligned electric bass S02R01 to its stem: polarity inverted, 224 samples late" in said
    assert "alignment: 4 RAW tracks, 1 inverted, 1 delayed" in said
    meta = json.loads((out / "song.json").read_text())
    assert [s["role"] for s in meta["stems"]] == ["kick", "bass", "rhythm", "lead"]
    n = sf.info(out / "target_mix.flac").frames
    stems = read_stems(out, n)
    assert stems is not None and stems.audio.shape == (4, n)
    rc = main(["eval", "--data", str(tmp_path / "songs"), "--systems", "raw,oracle",
               "--out", str(tmp_path / "eval")])  # fmt: skip
    assert rc == 0
    summary = json.loads((tmp_path / "eval" / "results.json").read_text())["summary"]
    assert summary["oracle"]["balance_median_db"] < summary["raw"]["balance_median_db"]
