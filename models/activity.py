"""Which channels carry a signal of their own, hop by hop: the activity gate.

A channel whose instrument rests still carries the rest of the stage (bleed) some 20-40 dB down.
A gain predictor that hears only that quiet bleed tends to raise it, so the channel sits high
while nothing of its own plays (the bundled demo's intro: kick, snare, bass, guitar and lead rode
to the +6 dB ceiling on bleed) and the instrument comes in hot. The engine holds such a channel
where its fader is (bridge.safety) until it plays again; the evaluation plays every system the
same way (models.eval.systems.GatedGains).

The rule is the auto-fader's (models.baselines.autofader): a channel is active when its level,
smoothed over `window_s`, is above `floor_dbfs` and within `relative_db` of the loudest channel.
The level is plain power (mean square) of the hop, which the engine computes anyway.

For `settle_s` after a channel opens from a rest of at least `rest_s` (an intro, a break; not a
breath between two phrases, nor a channel that plays from the first hop) it is `settling`: the
model may pull it down but not push it up. A network needs about a second of the new sound (its
embedding window is 975 ms) before its gain reflects it; until then it still "hears" the bleed
it wanted to raise, and the instrument would come in hot (the demo's kick rode to +3.6 dB in the
half second after it came in). On the synthetic test split settling after every opening cost
0.3 dB of balance median (the training engineer does lift some entries), after rests of 2 s or
more 0.08 dB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-12


@dataclass(frozen=True)
class GateSettings:
    """The gate's two levels, as a profile's [activity] table sets them."""

    relative_db: float = 20.0
    """A channel this far below the loudest one carries bleed only."""
    floor_dbfs: float = -60.0
    """A channel quieter than this carries nothing."""

    def gate(self) -> ActivityGate:
        return ActivityGate(relative_db=self.relative_db, floor_dbfs=self.floor_dbfs)


class ActivityGate:
    """Per-channel "plays now" mask from each hop's power.

    Args:
        relative_db: a channel this far below the loudest one carries bleed only.
        floor_dbfs: a channel quieter than this carries nothing (noise, an unused input).
        window_s: time constant of the level (a kick is active between its hits).
        settle_s: how long a channel that opens after a rest is `settling` (no raise).
        rest_s: the shortest rest after which an opening settles.
    """

    def __init__(
        self,
        relative_db: float = GateSettings.relative_db,
        floor_dbfs: float = GateSettings.floor_dbfs,
        window_s: float = 0.4,
        settle_s: float = 1.0,
        rest_s: float = 2.0,
    ) -> None:
        if relative_db <= 0 or window_s <= 0 or settle_s < 0 or rest_s < 0:
            raise ValueError("relative_db and window_s must be > 0, settle_s and rest_s >= 0")
        self.relative_db = relative_db
        self.floor_dbfs = floor_dbfs
        self.window_s = window_s
        self.settle_s = settle_s
        self.rest_s = rest_s
        self.reset(0, 0.05)

    def reset(self, n_channels: int, hop_s: float) -> None:
        self._power = np.full(n_channels, np.nan)
        self._alpha = 1.0 - float(np.exp(-hop_s / self.window_s))
        self._settle_hops = round(self.settle_s / hop_s)
        self._rest_hops = max(1, round(self.rest_s / hop_s))
        self._rest = np.zeros(n_channels, dtype=np.int64)
        """Hops each channel has been inactive in a row (0: active)."""
        self._since = np.full(n_channels, self._settle_hops + 1, dtype=np.int64)
        """Hops since each channel last opened after a rest (capped: no overflow)."""
        self.settling = np.zeros(n_channels, dtype=bool)
        """Active, and opened at most settle_s ago (the last `update`)."""

    def update(self, power: np.ndarray) -> np.ndarray:
        """power (channels,): this hop's mean square per channel -> bool (channels,) active;
        also sets `settling`."""
        power = np.asarray(power, dtype=np.float64)
        fresh = np.isnan(self._power)
        self._power = np.where(fresh, power, self._power + self._alpha * (power - self._power))
        level = 10 * np.log10(self._power + _EPS)
        active = (level > self.floor_dbfs) & (level > level.max() - self.relative_db)
        opened = active & (self._rest >= self._rest_hops)
        self._since = np.where(opened, 1, np.minimum(self._since + 1, self._settle_hops + 1))
        self._rest = np.where(active, 0, self._rest + 1)
        self.settling = active & (self._since <= self._settle_hops)
        return active

    def update_audio(self, hop: np.ndarray) -> np.ndarray:
        """hop (channels, samples) -> bool (channels,)."""
        x = np.asarray(hop, dtype=np.float64)
        return self.update(np.mean(x * x, axis=1))
