"""Mixes the engineer already made, as learn recordings: a REAPER project's recorded tracks with
their volume envelopes (read with the `rpp` package, as bridge/outputs/rpp writes them), or a
folder of channels (our song format) with a gains CSV (`gains.csv` as a show writes it: one row
per 50 ms, a column per channel, dB). Every hop of an import is the engineer's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.learn.recording import Recording, RecordingError

RATE = 48_000
HOP = RATE // 20


def _recording(name: str, names: list[str], audio: np.ndarray, faders: np.ndarray) -> Recording:
    hops = min(audio.shape[1] // HOP, len(faders))
    if hops < 2:
        raise RecordingError(f"{name}: shorter than two 50 ms hops")
    f = faders[:hops]
    return Recording(
        name=name,
        names=names,
        sample_rate=RATE,
        hop=HOP,
        audio=np.ascontiguousarray(audio[:, : hops * HOP], dtype=np.float32),
        faders_db=f,
        model_db=np.full_like(f, np.nan),
        engineer=np.isfinite(f),
        listen=True,
    )


def _read_audio(path: Path) -> np.ndarray:
    import soundfile as sf

    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (OSError, sf.LibsndfileError) as exc:
        raise RecordingError(f"{path}: cannot read the audio ({exc})") from None
    if rate != RATE:
        raise RecordingError(f"{path}: at {rate} Hz; learn mode needs {RATE} Hz")
    return np.asarray(data.mean(axis=1), np.float32)


def from_rpp(path: Path) -> Recording:
    """Every track of a REAPER project with an audio item at time 0 and a volume envelope."""
    import rpp

    from bridge.outputs.rpp.envelope import db_to_amplitude, envelope_points

    try:
        project = rpp.loads(Path(path).read_text(errors="replace"))
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror})") from None
    except Exception as exc:  # the parser raises several types on a damaged file
        raise RecordingError(f"{path}: not a REAPER project ({type(exc).__name__})") from None
    names: list[str] = []
    audios: list[np.ndarray] = []
    curves: list[tuple[np.ndarray, np.ndarray]] = []
    for track in project.findall("TRACK"):
        item, env = track.find("ITEM"), track.find("VOLENV2")
        source = item.find("SOURCE") if item is not None else None
        file_row = source.find("FILE") if source is not None else None
        if env is None or file_row is None:
            continue
        position = float(item.find("POSITION")[1]) if item.find("POSITION") else 0.0
        if position != 0.0:
            raise RecordingError(f"{path}: track items must start at 0 s (one at {position} s)")
        audio_path = Path(str(file_row[1]))
        if not audio_path.is_absolute():
            audio_path = Path(path).parent / audio_path
        times, gains_db = envelope_points(env)
        if len(times) == 0:
            continue
        name = track.find("NAME")
        names.append(str(name[1]) if name else f"Track {len(names) + 1}")
        audios.append(_read_audio(audio_path))
        curves.append((times, db_to_amplitude(gains_db)))
    if not names:
        raise RecordingError(f"{path}: no track with an audio item and a volume envelope")
    n = min(len(a) for a in audios)
    hops = n // HOP
    t = (np.arange(hops) + 1) * HOP / RATE
    faders = np.stack(
        [20 * np.log10(np.maximum(np.interp(t, times, amp), 1e-9)) for times, amp in curves],
        axis=1,
    )
    audio = np.stack([a[:n] for a in audios])
    return _recording(Path(path).stem, names, audio, faders)


def from_folder(folder: Path, gains_csv: Path) -> Recording:
    """A song folder's channels with a gains CSV (its columns in channel order)."""
    from bridge.outputs.automation import read_automation_csv
    from models.song import SongError, load_song

    try:
        song = load_song(folder, with_target=False)
        _, times, gains = read_automation_csv(Path(gains_csv))
    except (SongError, OSError, ValueError, StopIteration) as exc:
        raise RecordingError(f"{folder} / {gains_csv}: {exc}") from None
    if song.sample_rate != RATE:
        raise RecordingError(f"{folder}: at {song.sample_rate} Hz; learn mode needs {RATE} Hz")
    if gains.shape[1] != song.audio.shape[0]:
        raise RecordingError(
            f"{gains_csv}: {gains.shape[1]} gain columns for {song.audio.shape[0]} channels"
        )
    if len(times) > 1 and not np.allclose(np.diff(times), HOP / RATE, atol=1e-3):
        raise RecordingError(f"{gains_csv}: rows must be 50 ms apart")
    return _recording(Path(folder).name, list(song.names), song.audio, gains)
