"""The real-time engine: hop scheduling, zero-latency gain application, safety, sinks.

Every 50 ms hop t: the gains decided from hop t-1 are applied to hop t (direct mix), meters are
taken, the gain source predicts from hop t, the safety stage bounds the result, and the sinks get
it stamped with the start of hop t+1: the gain predicted from frame t is applied to frame t+1.
"""

from __future__ import annotations

import array
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bridge.config import HOP_SAMPLES
from bridge.mixdown import DirectMixer, MixOutput, MixRecorder
from bridge.outputs.base import GainSink
from bridge.outputs.link import LinkState
from bridge.realtime import Priority, freeze_heap, unfreeze_heap
from bridge.safety import ChannelState, Mode, SafetyStage
from bridge.sources import AudioSource, SourceError
from models.activity import ActivityGate
from models.gainsource import GainSource, InputAudioError

log = logging.getLogger(__name__)

_FLOOR_DB = -120.0


@dataclass
class HopSnapshot:
    """What happened on one hop: the TUI and logs read these (latest wins)."""

    index: int
    t: float
    peak_db: np.ndarray
    rms_db: np.ndarray
    model_db: np.ndarray
    sent_db: np.ndarray
    compute_ms: float
    misses: int
    faults: int
    last_fault: str
    mode: str
    states: list[str]
    source_stats: dict[str, int] = field(default_factory=dict)
    link: str = "live"
    """'live', 'lost' (an output went silent: every fader held) or 'fault: ...'."""
    alarm: str = ""
    """Non-empty while hops miss their deadline (the TUI's banner), with the fallback if taken."""
    source_lost: str = ""
    """Non-empty while the capture device is lost (every fader frozen): the TUI's banner."""
    quiet: list[int] = field(default_factory=list)
    """Channels held by the activity gate on this hop: only bleed on them (models.activity)."""


@dataclass(frozen=True)
class DeadlinePolicy:
    """Missed deadlines: an alarm at the first miss; after sustained misses (more than
    `miss_percent` % of the hops of the last `window_s`) a fallback for the rest of the show:
    "autofader" (the cheap loudness auto-fader takes over; if it misses as much, freeze) or
    "freeze" (every fader held). A profile's [deadline] table sets these."""

    window_s: float = 5.0
    miss_percent: float = 5.0
    fallback: str = "autofader"


FALLBACKS = ("autofader", "freeze")


@dataclass
class EngineStats:
    hops: int = 0
    misses: int = 0
    faults: int = 0
    sink_errors: int = 0
    compute_ms: array.array[float] = field(default_factory=lambda: array.array("d"))
    """Per hop (8 bytes each, not a list of floats: a 3-hour show stays under 2 MB)."""
    latency_ms: array.array[float] = field(default_factory=lambda: array.array("d"))
    """Last captured sample of a hop -> the sinks called with its gains (live sources only)."""
    stopped_by: str = "end of source"
    link_outages: int = 0
    """Times an output's link was lost (every fader held until it was re-read)."""
    link_faults: list[str] = field(default_factory=list)
    """Outputs that failed for good (e.g. a receive thread died): faders frozen."""
    events: list[tuple[float, str]] = field(default_factory=list)
    """(time.monotonic(), what) for link holds and resumes: how fast the engine reacted."""
    fallback: str = ""
    """What the engine switched to after sustained deadline misses, and when ('' = none)."""
    priority: str = "normal"
    """How the engine's thread was scheduled (bridge.realtime): 'real-time (SCHED_FIFO 5)'."""

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.compute_ms, q)) if self.compute_ms else 0.0

    def latency_percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latency_ms, q)) if self.latency_ms else 0.0


def _level_db(x: np.ndarray) -> np.ndarray:
    return np.maximum(20 * np.log10(np.maximum(x, 1e-12)), _FLOOR_DB)


class Engine:
    """Runs a source through a gain source into the safety stage and the sinks.

    Args:
        deadline_s: compute budget per hop; a prediction that takes longer is discarded and the
            previous gains are held (counted as a deadline miss). Default: the hop for a live
            source, none (infinite) for an offline one (`realtime=False`): a render is
            deterministic. math.inf: no deadline, for runs that must equal the offline pass
            however busy the machine is (tests). `deadline_policy` says what sustained misses
            lead to.
        on_event: called as (kind, fields) for what a show journal records (faults, human
            moves, alarms, fallbacks); from the engine's thread, so it must not block.
        human_hold_s: a fader a person moved goes back to the model this long after their last
            move; None keeps it theirs until released (`release`, the TUI's release key, or
            from the console when the output shows it).
        ride: 'absolute' (the model sets the level) or 'relative' (+-range_db around the
            snapshot the outputs read at connect).
        start_frozen: every channel starts locked (held where the console has it); the
            engineer arms them one by one (the TUI's lock key).
        gate: the activity gate (models.activity; a profile's [activity] table), default levels
            when None.
        recorder, mix_outputs: direct mode: the gains are applied to the audio, and the mono mix
            goes to the recorder (a file at the end) and each mix output (e.g. a sound card).
    """

    def __init__(
        self,
        source: AudioSource,
        gain_source: GainSource,
        sinks: Sequence[GainSink] = (),
        *,
        hop_samples: int = HOP_SAMPLES,
        deadline_s: float | None = None,
        recorder: MixRecorder | None = None,
        mix_outputs: Sequence[MixOutput] = (),
        on_hop: Callable[[HopSnapshot], None] | None = None,
        human_hold_s: float | None = None,
        ride: str = "absolute",
        start_frozen: bool = False,
        deadline_policy: DeadlinePolicy | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        gate: ActivityGate | None = None,
    ) -> None:
        self.source = source
        self.gain_source = gain_source
        self.sinks = list(sinks)
        self.hop_samples = hop_samples
        self.hop_s = hop_samples / source.sample_rate
        live = getattr(source, "realtime", True)
        self.deadline_s = (self.hop_s if live else math.inf) if deadline_s is None else deadline_s
        self.policy = deadline_policy or DeadlinePolicy()
        self._window: deque[bool] = deque(maxlen=max(1, round(self.policy.window_s / self.hop_s)))
        self._window_misses = 0
        self.alarm = ""
        self.source_lost = ""
        """Why the capture device is lost, while it is (every fader frozen); '' when live."""
        self.on_event = on_event
        self._nan_held: set[int] = set()
        self.mix_outputs: list[MixOutput] = [
            *([recorder] if recorder is not None else []),
            *mix_outputs,
        ]
        self.on_hop = on_hop
        self.n = source.n_channels
        self.safety = SafetyStage(self.n, self.hop_s, ride=ride)
        self.gate = gate or ActivityGate()
        """Which channels carry their own signal: the others hold where they are."""
        self.gate.reset(self.n, self.hop_s)
        if start_frozen:
            for ch in range(self.n):
                self.safety.set_state(ch, ChannelState.LOCKED)
        self.mixer = DirectMixer(self.n) if self.mix_outputs else None
        self.stats = EngineStats()
        self._stop = threading.Event()
        self.latest: HopSnapshot | None = None
        self.human_hold_s = human_hold_s
        self._human_at: dict[int, float] = {}
        self._snapshot_taken: set[int] = set()
        self._link_down = ""
        self._faulted_links: set[str] = set()

    def stop(self) -> None:
        """End the run after the current hop. A source that waits for its next hop (a stepped
        one) is woken so the run ends now."""
        self._stop.set()
        wake = getattr(self.source, "wake", None)
        if wake is not None:
            wake()

    def human_move(self, ch: int, db: float) -> None:
        """An output saw a person move channel `ch`'s fader: that channel is theirs now."""
        if self.safety.channels[ch].state is not ChannelState.HUMAN:
            log.info("human override on channel %d at %.1f dB", ch + 1, db)
            self._event("human", channel=ch + 1, db=round(db, 2))
        self.safety.set_state(ch, ChannelState.HUMAN, db)
        self._human_at[ch] = time.monotonic()

    def release(self, ch: int) -> None:
        """Give channel `ch` back to the model, here and on every output that yielded it; the
        model moves on from where the console's fader is."""
        self._human_at.pop(ch, None)
        self._event("release", channel=ch + 1)
        for sink in self.sinks:
            release = getattr(sink, "release", None)
            if release is not None:
                release(ch)
        level = None
        for sink in self._linked():
            held = sink.link_report().held_db
            if ch < len(held) and held[ch] is not None:
                level = held[ch]
        if level is not None:
            self.safety.adopt([None] * ch + [level])
        self.safety.set_state(ch, ChannelState.AUTO)

    def restore_snapshot(self) -> None:
        """Glide every fader back to the soundcheck snapshot (slewed), then hold it there."""
        log.info("restoring the snapshot")
        self.safety.set_mode(Mode.RESTORE)

    def glide_to_snapshot(
        self, timeout_s: float = 30.0, pace: Callable[[], None] | None = None
    ) -> bool:
        """After the show: restore the snapshot hop by hop (real time unless `pace` is given);
        True when every movable fader reached it."""
        self.restore_snapshot()
        deadline = time.monotonic() + timeout_s
        k = self.stats.hops
        while time.monotonic() < deadline:
            _, held = self._watch_links()  # adopt re-reads before the step, never after
            out = self.safety.process(np.zeros(self.n)).out_db if held is None else held
            k += 1
            for sink in self.sinks:
                try:
                    sink.send(out, k * self.hop_s)
                except OSError as exc:
                    log.warning("output %s failed: %s", sink.name, exc)
            if self.safety.mode is Mode.FREEZE:
                return True
            if pace is not None:
                pace()
            else:  # each step lands before the next: no two steps reach a console as one
                t0 = time.monotonic()
                for sink in self.sinks:
                    sink.flush(1.0)
                time.sleep(max(0.0, self.hop_s - (time.monotonic() - t0)))
        return False

    def _linked(self) -> list[Any]:
        """Outputs with a fader link (they read the console and report its state)."""
        return [s for s in self.sinks if hasattr(s, "link_report") and hasattr(s, "take_base")]

    def _watch_links(self) -> tuple[str, np.ndarray | None]:
        """Adopt what outputs read at connect or resync; while a link is down, what the console
        holds (its last confirmed values) and why, so the engine holds every fader."""
        down = ""
        held: np.ndarray | None = None
        for sink in self._linked():
            base = sink.take_base()
            if base is not None:
                fresh = [c for c, v in enumerate(base) if v is not None]
                first = [c for c in fresh if c not in self._snapshot_taken]
                if first:
                    self.safety.adopt([v if c in first else None for c, v in enumerate(base)], True)
                    self._snapshot_taken.update(first)
                    log.info("%s: started from the console's faders", sink.name)
                self.safety.adopt([v if c not in first else None for c, v in enumerate(base)])
            report = sink.link_report()
            if report.state is LinkState.FAULT:
                if sink.name not in self._faulted_links:
                    self._faulted_links.add(sink.name)
                    reason = f"{sink.name}: {report.fault}"
                    self.stats.link_faults.append(reason)
                    self.stats.faults += 1
                    self.safety.fault(reason)
                    self.safety.set_mode(Mode.FREEZE)
                down = f"fault: {sink.name}: {report.fault}"
            elif report.state in (LinkState.LOST, LinkState.RESYNCING) and not down:
                down = "lost"
            if down and held is None:
                held = self.safety.current_db
                for c, v in enumerate(report.held_db[: self.n]):
                    if v is not None:
                        held[c] = v
        if down and not self._link_down:
            self.stats.events.append((time.monotonic(), f"hold: {down}"))
            if down == "lost":
                self.stats.link_outages += 1
        elif self._link_down and not down:
            self.stats.events.append((time.monotonic(), "resume"))
        self._link_down = down
        return down, held

    def _expire_human_holds(self) -> None:
        if self.human_hold_s is None or not self._human_at:
            return
        now = time.monotonic()
        for ch, at in list(self._human_at.items()):
            if now - at >= self.human_hold_s:
                if self.safety.channels[ch].state is ChannelState.HUMAN:
                    log.info("channel %d back to the model after the hold time", ch + 1)
                    self.release(ch)
                else:
                    self._human_at.pop(ch, None)

    def run(self) -> EngineStats:
        self.gain_source.reset(self.n, self.source.sample_rate)
        if hasattr(self.source, "on_status"):  # a live capture: it says when it is lost and back
            self.source.on_status = self._source_status
        self._watch_links()  # start from the console's faders: the first move is one step
        applied = self.safety.current_db
        model_db = np.zeros(self.n)
        # Hops on the wall clock (a capture device, a file played in real time; not a render or
        # a stepped test): no collector pause and no wait for a core on a hop (bridge.realtime).
        live = math.isfinite(self.deadline_s) and bool(
            getattr(self.source, "realtime", hasattr(self.source, "on_status"))
        )
        priority = Priority()
        if live:
            freeze_heap()
            self.stats.priority = priority.raise_()
        try:
            for k, hop in enumerate(self.source.hops(self.hop_samples)):
                if self._stop.is_set():
                    self.stats.stopped_by = "stop requested"
                    break
                applied, model_db = self._hop(k, hop, applied, model_db)
            else:
                if self._stop.is_set():  # the source ended because it was woken by stop()
                    self.stats.stopped_by = "stop requested"
        except SourceError as exc:
            # Capture lost: the faders stay where they were last sent.
            self.safety.fault(f"capture lost: {exc}")
            self.stats.faults += 1
            self.stats.stopped_by = f"capture lost: {exc}"
            log.error("capture lost, faders frozen: %s", exc)
            self._event("fault", reason=f"capture lost: {exc}")
        finally:
            if live:
                priority.restore()
                unfreeze_heap()
        return self.stats

    def _source_status(self, kind: str, why: str) -> None:
        """The capture device went silent ("lost") or delivers again ("back"); called on the
        engine's thread between hops. Lost: every fader stays where it is (nothing is sent
        without hops) and the fault is said at once. Back: the model starts afresh (its window
        of audio has a gap) and the faders slew on from where they are."""
        now = time.monotonic()
        if kind == "lost":
            reason = f"capture lost: {why}"
            self.safety.fault(reason)
            self.stats.faults += 1
            self.stats.events.append((now, "hold: capture"))
            log.error("%s; every fader frozen, waiting for the device", reason)
            self._event("fault", reason=reason)
        else:
            reason = ""
            self.gain_source.reset(self.n, self.source.sample_rate)
            self.gate.reset(self.n, self.hop_s)
            self.stats.events.append((now, "resume: capture"))
            log.warning("capture back: %s; the model goes on from where the faders are", why)
            self._event("capture_back", detail=why)
        if self.latest is not None and self.on_hop is not None:  # the TUI shows it now
            self.latest = replace(
                self.latest,
                source_lost=reason,
                faults=self.stats.faults,
                last_fault=self.safety.last_fault,
            )
            self.on_hop(self.latest)
        # Last: whoever reads the state from another thread finds the snapshot already sent.
        self.source_lost = reason

    def _event(self, kind: str, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(kind, fields)

    def _hold_bad_channels(self, finite: np.ndarray) -> None:
        """A channel with NaN/Inf audio: that fader alone is held (locked) while it lasts."""
        bad = set(np.flatnonzero(~finite.all(axis=1)).tolist())
        for ch in sorted(bad - self._nan_held):
            name = self.source.names[ch] if ch < len(self.source.names) else ""
            reason = f"channel {ch + 1} ({name}): NaN/Inf audio, its fader held"
            if self.safety.channels[ch].state is ChannelState.AUTO:
                self.safety.set_state(ch, ChannelState.LOCKED)
                self._nan_held.add(ch)
            self.safety.fault(reason)
            self.stats.faults += 1
            log.warning("fault: %s", reason)
            self._event("fault", reason=reason, channel=ch + 1)
        for ch in sorted(self._nan_held - bad):
            if self.safety.channels[ch].state is ChannelState.LOCKED:
                self.safety.set_state(ch, ChannelState.AUTO)
            self._nan_held.discard(ch)
            log.info("channel %d audio is finite again: back to the model", ch + 1)
            self._event("resumed", channel=ch + 1)

    def _track_deadline(self, missed: bool, t: float) -> None:
        """The alarm (any miss in the window) and the fallback (sustained misses)."""
        window = self._window
        if len(window) == window.maxlen:
            self._window_misses -= window[0]
        window.append(missed)
        self._window_misses += missed
        n = self._window_misses
        alarm = f"{n} deadline misses in the last {self.policy.window_s:g} s" if n else ""
        if alarm and not self.alarm:
            log.warning("deadline alarm at t=%.2f s: hops are missing their deadline", t)
            self._event("alarm", t=round(t, 3))
        sustained = len(window) == window.maxlen and 100 * n > self.policy.miss_percent * len(
            window
        )
        if sustained and self.safety.mode is not Mode.FREEZE:
            self._fall_back(t, n, len(window))
        if self.stats.fallback:
            alarm = f"{alarm or 'deadline'} · fallback: {self.stats.fallback}"
        self.alarm = alarm

    def _fall_back(self, t: float, misses: int, hops: int) -> None:
        fallback = self.stats.fallback
        to_autofader = self.policy.fallback == "autofader" and "autofader" not in fallback
        if to_autofader:
            from models.baselines.autofader import LoudnessAutoFader

            self.gain_source = LoudnessAutoFader()
            self.gain_source.reset(self.n, self.source.sample_rate)
        else:
            self.safety.set_mode(Mode.FREEZE)
        what = "autofader" if to_autofader else "freeze"
        taken = f"{what} at t={t:.2f} s ({misses} of {hops} hops missed)"
        self.stats.fallback = f"{self.stats.fallback}; {taken}" if self.stats.fallback else taken
        self._window.clear()
        self._window_misses = 0
        log.error("sustained deadline misses: fallback to %s", taken)
        self._event("fallback", to=what, t=round(t, 3), misses=misses, hops=hops)

    def _hop(
        self, k: int, hop: np.ndarray, applied: np.ndarray, model_db: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if hop.shape != (self.n, self.hop_samples):
            raise SourceError(
                f"source gave a hop of shape {hop.shape}, expected ({self.n}, {self.hop_samples})"
            )
        finite = np.isfinite(hop)
        clean = hop if finite.all() else np.where(finite, hop, 0.0).astype(hop.dtype)
        if self._nan_held or clean is not hop:
            self._hold_bad_channels(finite)
        if self.mixer is not None:
            # Zero latency: this hop gets the gains decided before it arrived.
            mono = self.mixer.process(clean, applied)
            for output in self.mix_outputs:
                output.add(mono)
        peak_db = _level_db(np.max(np.abs(clean), axis=1))
        power = np.einsum("ij,ij->i", clean, clean, dtype=np.float64) / clean.shape[1]
        rms_db = _level_db(np.sqrt(power))
        active = self.gate.update(power)
        quiet: list[int] | None = None

        self._expire_human_holds()
        link, held = self._watch_links()
        t0 = time.perf_counter()
        missed = False
        try:
            model_db = self.gain_source.step(clean)
            compute_s = time.perf_counter() - t0
            if held is not None:
                out = held  # a link is down: every fader holds, and we record what it holds
            elif compute_s > self.deadline_s:
                self.stats.misses += 1
                missed = True
                out = applied
            else:
                report = self.safety.process(model_db, active, self.gate.settling)
                quiet = report.quiet
                if report.faulted:
                    self.stats.faults += 1
                    log.warning("safety fault, faders held: %s", report.fault)
                    self._event("fault", reason=report.fault)
                out = report.out_db
        except (InputAudioError, ArithmeticError, RuntimeError, ValueError) as exc:
            compute_s = time.perf_counter() - t0
            out = self.safety.fault(f"{type(exc).__name__}: {exc}").out_db
            self.stats.faults += 1
            log.warning("gain source failed, faders held: %s", exc)
            self._event("fault", reason=f"{type(exc).__name__}: {exc}")
        self.stats.compute_ms.append(compute_s * 1000)
        self.stats.hops += 1

        t_next = (k + 1) * self.hop_s
        self._track_deadline(missed, t_next)
        captured = self.source.hop_time
        if captured is not None:
            self.stats.latency_ms.append((time.perf_counter() - captured) * 1000)
        for sink in self.sinks:
            mark = getattr(sink, "mark_link", None)
            if mark is not None:
                mark(link or "live")
            try:
                sink.send(out, t_next)
            except OSError as exc:
                self.stats.sink_errors += 1
                log.warning("output %s failed: %s", sink.name, exc)
        snap = HopSnapshot(
            index=k,
            t=t_next,
            peak_db=peak_db,
            rms_db=rms_db,
            model_db=np.asarray(model_db, dtype=np.float64),
            sent_db=out,
            compute_ms=compute_s * 1000,
            misses=self.stats.misses,
            faults=self.stats.faults,
            last_fault=self.safety.last_fault,
            mode=self.safety.mode.value,
            states=self.safety.states(),
            source_stats=self.source.stats(),
            link=link or "live",
            alarm=self.alarm,
            source_lost=self.source_lost,
            quiet=self.safety.quiet(active) if quiet is None else quiet,
        )
        self.latest = snap
        if self.on_hop is not None:
            self.on_hop(snap)
        return out, model_db
