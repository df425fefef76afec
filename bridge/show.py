"""A show: one source, one gain source, the safety stage, the outputs, and what is written at the
end (mono mix WAV, gain automation CSV). The CLI and the TUI both drive a Show."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.engine import Engine, EngineStats, HopSnapshot
from bridge.mixdown import MixOutput, MixRecorder
from bridge.outputs.automation import AutomationRecorder
from bridge.outputs.base import GainSink
from bridge.sources import AudioSource
from models.gainsource import GainSource

log = logging.getLogger(__name__)


@dataclass
class ShowOutputs:
    mix_wav: Path | None = None
    gains_csv: Path | None = None
    summary_json: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Show:
    """Wires a source to the engine and outputs; `run()` blocks, `stop()` ends it from any thread.

    `names` are the strip names shown to the engineer (from the console when it has them).
    """

    def __init__(
        self,
        source: AudioSource,
        gain_source: GainSource,
        *,
        sinks: list[GainSink] | None = None,
        out_dir: Path | None = None,
        names: list[str] | None = None,
        direct_mix: bool = True,
        mix_outputs: list[MixOutput] | None = None,
        human_hold_s: float | None = None,
        title: str = "",
        ride: str = "absolute",
        start_frozen: bool = False,
    ) -> None:
        self.source = source
        self.gain_source = gain_source
        self._mix_outputs = list(mix_outputs or [])
        self.names = names or list(source.names)
        self.title = title or "AiLive Mixer"
        self.out_dir = out_dir
        self.automation = AutomationRecorder(self.names)
        self.recorder = MixRecorder(source.sample_rate) if direct_mix else None
        self._listeners: list[Any] = []
        self.engine = Engine(
            source,
            gain_source,
            [self.automation, *(sinks or [])],
            recorder=self.recorder,
            mix_outputs=mix_outputs or [],
            human_hold_s=human_hold_s,
            on_hop=self._on_hop,
            ride=ride,
            start_frozen=start_frozen,
        )
        self.done = threading.Event()
        self.stats: EngineStats | None = None

    @property
    def sinks(self) -> list[GainSink]:
        return self.engine.sinks

    def add_listener(self, fn: Any) -> None:
        """fn(snapshot) is called on the engine thread after every hop; keep it cheap."""
        self._listeners.append(fn)

    def _on_hop(self, snap: HopSnapshot) -> None:
        for fn in self._listeners:
            fn(snap)

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

    def write_outputs(self) -> ShowOutputs:
        """Write the mix, the automation and a summary into `out_dir` (if set)."""
        out = ShowOutputs()
        if self.out_dir is None:
            return out
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.recorder is not None:
            out.mix_wav = self.recorder.write(self.out_dir / "mix.wav")
        out.gains_csv = self.automation.write_csv(self.out_dir / "gains.csv")
        stats = self.stats or self.engine.stats
        summary = {
            "title": self.title,
            "gain_source": self.gain_source.name,
            "channels": self.names,
            "hops": stats.hops,
            "seconds": round(stats.hops * self.engine.hop_s, 3),
            "compute_ms_p50": round(stats.percentile_ms(50), 3),
            "compute_ms_p99": round(stats.percentile_ms(99), 3),
            "deadline_misses": stats.misses,
            "faults": stats.faults,
            "sink_errors": stats.sink_errors,
            "stopped_by": stats.stopped_by,
            "link_outages": stats.link_outages,
            "link_faults": stats.link_faults,
            "outputs": {s.name: s.status() for s in self.engine.sinks},
        }
        out.summary_json = self.out_dir / "summary.json"
        out.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
        return out
