"""A show: one source, one gain source, the safety stage, the outputs, and its folder: the journal
(events, gains CSV, mix WAV, log) written as it runs, then the summary and a REAPER project at the
end (`write_outputs`). The CLI and the TUI both drive a Show."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.engine import DeadlinePolicy, Engine, EngineStats, HopSnapshot
from bridge.journal import GAINS, ShowJournal, write_closing_files
from bridge.log import LogFile
from bridge.mixdown import MixOutput, MixRecorder
from bridge.outputs.automation import AutomationRecorder
from bridge.outputs.base import GainSink
from bridge.recover import RecoverError, read_gains
from bridge.sources import AudioSource
from models.activity import ActivityGate
from models.gainsource import GainSource, tell_roles

log = logging.getLogger(__name__)


PROGRESS_EVERY_S = 1.0
"""How often the journal records the engine's counters (what `ailive recover` reports)."""


@dataclass
class ShowOutputs:
    folder: Path | None = None
    mix_wav: Path | None = None
    gains_csv: Path | None = None
    summary_json: Path | None = None
    rpp: Path | None = None
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Show:
    """Wires a source to the engine and outputs; `run()` blocks, `stop()` ends it from any thread.

    `names` are the strip names shown to the engineer (from the console when it has them);
    `roles` what is on each channel (bridge.channels.parse_roles), for a model that reads them.
    `folder` (a new one: `journal.new_show_dir`) gets the show's journal; `rpp_sources` are the
    audio files the end-of-show REAPER project uses as items (the song's channels in a demo).
    """

    def __init__(
        self,
        source: AudioSource,
        gain_source: GainSource,
        *,
        sinks: list[GainSink] | None = None,
        folder: Path | None = None,
        names: list[str] | None = None,
        direct_mix: bool = True,
        mix_outputs: list[MixOutput] | None = None,
        human_hold_s: float | None = None,
        title: str = "",
        ride: str = "absolute",
        start_frozen: bool = False,
        deadline_policy: DeadlinePolicy | None = None,
        rpp_sources: list[Path] | None = None,
        gate: ActivityGate | None = None,
        roles: list[str | None] | None = None,
    ) -> None:
        self.source = source
        self.gain_source = gain_source
        self._mix_outputs = list(mix_outputs or [])
        self.names = names or list(source.names)
        self.title = title or "AiLive Mixer"
        self.folder = folder
        self.rpp_sources = rpp_sources
        # With a folder the journal's gains CSV is the automation (read back at the end).
        self.automation = AutomationRecorder(self.names, keep=folder is None)
        self.journal: ShowJournal | None = None
        self.log_file: LogFile | None = None
        extra_sinks: list[GainSink] = []
        extra_mix: list[MixOutput] = []
        if folder is not None:
            self.log_file = LogFile(folder)
            self.journal = ShowJournal(folder, self.names, source.sample_rate, mix=direct_mix)
            extra_sinks.append(self.journal)
            extra_mix.append(self.journal)
        # Without a folder (a render) the mix is kept in memory and written by the caller.
        self.recorder = MixRecorder(source.sample_rate) if direct_mix and folder is None else None
        self._listeners: list[Any] = []
        self.learn: Any = None
        """Learn mode's recorder (bridge.recorder), when the show records the engineer's mix."""
        self.engine = Engine(
            source,
            gain_source,
            [self.automation, *extra_sinks, *(sinks or [])],
            recorder=self.recorder,
            mix_outputs=[*extra_mix, *(mix_outputs or [])],
            human_hold_s=human_hold_s,
            on_hop=self._on_hop,
            ride=ride,
            start_frozen=start_frozen,
            deadline_policy=deadline_policy,
            on_event=self._on_event,
            gate=gate,
        )
        self.roles = roles
        if roles is not None and tell_roles(gain_source, roles):  # before the engine's reset
            said = ", ".join(
                f"{n} {r or 'unknown'}" for n, r in zip(self.names, roles, strict=False)
            )
            log.info("the model hears the channel roles: %s", said)
        self._progress_hops = max(1, round(PROGRESS_EVERY_S / self.engine.hop_s))
        self.done = threading.Event()
        self.stats: EngineStats | None = None
        self.interrupted = False
        self._event(
            "start",
            title=self.title,
            gain_source=gain_source.name,
            channels=self.names,
            roles=roles,
            sample_rate=source.sample_rate,
            hop_s=self.engine.hop_s,
            rpp_sources=[str(p) for p in rpp_sources or []],
        )

    @property
    def sinks(self) -> list[GainSink]:
        return self.engine.sinks

    def add_listener(self, fn: Any) -> None:
        """fn(snapshot) is called on the engine thread after every hop; keep it cheap."""
        self._listeners.append(fn)

    def _on_hop(self, snap: HopSnapshot) -> None:
        if (snap.index + 1) % self._progress_hops == 0:
            self._event("progress", **self._counters())
        for fn in self._listeners:
            fn(snap)

    def _on_event(self, kind: str, fields: dict[str, Any]) -> None:
        self._event(kind, **fields)

    def _event(self, kind: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.event(kind, **fields)

    def _counters(self) -> dict[str, Any]:
        stats = self.engine.stats
        return {
            "hops": stats.hops,
            "deadline_misses": stats.misses,
            "engine_priority": stats.priority,
            "faults": stats.faults,
            "sink_errors": stats.sink_errors,
            "fallback": stats.fallback,
        }

    def run(self) -> EngineStats:
        t0 = time.perf_counter()
        try:
            self.stats = self.engine.run()
        finally:
            self.done.set()
        log.info(
            "engine stopped (%s) after %d hops in %.1f s: compute p50 %.2f ms, p99 %.2f ms, "
            "%d deadline misses, %d faults",
            self.stats.stopped_by,
            self.stats.hops,
            time.perf_counter() - t0,
            self.stats.percentile_ms(50),
            self.stats.percentile_ms(99),
            self.stats.misses,
            self.stats.faults,
        )
        return self.stats

    def stop(self) -> None:
        self.engine.stop()

    def interrupt(self) -> None:
        """A signal (Ctrl-C, SIGTERM, SIGHUP) ends the show: `stopped_by` says "interrupted"."""
        self.interrupted = True
        self.engine.stop()

    @property
    def stopped_by(self) -> str:
        stats = self.stats or self.engine.stats
        return "interrupted" if self.interrupted else stats.stopped_by

    def close(self) -> None:
        """Let every output land its last values, then close them and the source."""
        for sink in self.engine.sinks:
            if not sink.flush(1.0):
                log.warning("%s: last values not confirmed before closing", sink.name)
        for sink in self.engine.sinks:
            try:
                sink.close()
            except OSError as exc:  # closing must never hide the results
                log.warning("closing %s: %s", sink.name, exc)
        for output in self._mix_outputs:
            close = getattr(output, "close", None)
            if close is not None:
                close()
        self.source.close()
        if self.log_file is not None:
            self.log_file.close()

    def summary(self) -> dict[str, Any]:
        stats = self.stats or self.engine.stats
        return {
            "title": self.title,
            "gain_source": self.gain_source.name,
            "channels": self.names,
            "hops": stats.hops,
            "seconds": round(stats.hops * self.engine.hop_s, 3),
            "compute_ms_p50": round(stats.percentile_ms(50), 3),
            "compute_ms_p99": round(stats.percentile_ms(99), 3),
            "deadline_misses": stats.misses,
            "engine_priority": stats.priority,
            "fallback": stats.fallback or None,
            "faults": stats.faults,
            "last_fault": self.engine.safety.last_fault or None,
            "sink_errors": stats.sink_errors,
            "stopped_by": self.stopped_by,
            "link_outages": stats.link_outages,
            "link_faults": stats.link_faults,
            "outputs": {s.name: _status(s) for s in self.engine.sinks},
        }

    def write_outputs(self) -> ShowOutputs:
        """End of the show: close the journal, then write summary.json and show.RPP beside it."""
        out = ShowOutputs(folder=self.folder)
        if self.folder is None or self.journal is None:
            return out
        if self.learn is not None:
            self.learn.close()
        summary = self.summary()
        if self.learn is not None:
            summary["learn"] = {
                "engineer_minutes": round(self.learn.engineer_minutes, 2),
                "hops": self.learn.hops,
                "write_errors": self.learn.write_errors,
            }
        self._event("stop", stopped_by=summary["stopped_by"], **self._counters())
        self.journal.close()
        summary["journal_write_errors"] = self.journal.write_errors
        try:
            _, times, gains = read_gains(self.folder / GAINS)
        except (OSError, RecoverError) as exc:  # the journal could not be written: say so
            summary["rpp_error"] = f"the journal's gains could not be read back: {exc}"
            times, gains = np.zeros(0), np.zeros((0, len(self.names)))
        written = write_closing_files(
            self.folder, summary, self.automation.channel_names, times, gains, self.rpp_sources
        )
        out.mix_wav, out.gains_csv, out.summary_json, out.rpp, out.log = written
        return out


def _status(sink: GainSink) -> str:
    try:
        return sink.status()
    except Exception as exc:  # a broken status line must not lose the summary
        return f"status failed ({type(exc).__name__})"
