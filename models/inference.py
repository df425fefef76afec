"""The streaming runner: a mixer network (ALM or DMC) as a GainSource, hop by hop.

It owns everything around the network: the causal log-mel of each hop, a buffer of the last
975 ms of mel frames per channel, the embedding refresh schedule (a sixth of the channels every
50 ms for ALM-MR, every channel each 975 ms for ALM-SR), the carried GRU state, eval/no_grad and
the denormalisation to dB, and for a network that corrects the loudness auto-fader the
auto-fader itself (fed 50 ms blocks) and the slew limit (models.alm.output). Fed the same audio
it reproduces `models.alm.offline_gains_db`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.alm import MixerNet
from models.alm.config import MEL_HOP, MR_FRAME, RMS_FLOOR_DB, SAMPLE_RATE, WINDOW_FRAMES
from models.alm.network import ALMNet
from models.alm.output import BASE_BLOCK, output_db_frame
from models.alm.roles import role_indices
from models.baselines.autofader import LoudnessAutoFader
from models.dmc import DMCNet
from models.gainsource import InputAudioError, check_hop, check_shape
from models.runtime import RUNTIMES, compile_for, numpy_callable, weights_key

GRAPHS = "g2"
"""The form of the exported graphs, part of their cache key: bumped whenever what is exported
changes (g2: the embedding reads time-major windows), so an older cached export is never run."""


class _Core(nn.Module):
    """One F2 frame of the network with a state tensor always present (traceable); a
    stateless network (DMC) passes its placeholder state through."""

    def __init__(self, model: MixerNet, stateful: bool) -> None:
        super().__init__()
        self.model = model
        self.stateful = stateful

    def forward(
        self, emb: torch.Tensor, rms_db: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """emb (1, c, 1, D), rms_db (1, c, 1), state (1, c, H) -> (z (c,), state)."""
        net = self.model.core if isinstance(self.model, ALMNet) else self.model
        z, new_state = net(emb, rms_db, None, state if self.stateful else None)
        return z[0, :, 0], new_state if self.stateful and new_state is not None else state


def graph_keys(model: MixerNet, n_channels: int) -> tuple[str, str]:
    """The ONNX cache keys (models.runtime.cached_export) of the runner's per-frame network for
    `n_channels` and of its embedding: the hash of the weights and the graphs' form."""
    key = weights_key(_Core(model, isinstance(model, ALMNet)))[:32] + f"-{GRAPHS}"
    return f"{key}-core-c{n_channels}", f"{key}-embed"


class _TimeMajorEmbedding(nn.Module):
    """The embedding of windows read time-major from the runner's mel ring: (k, frames, n_mels)
    -> (k, D); the transpose runs inside the graph."""

    def __init__(self, embedding: nn.Module) -> None:
        super().__init__()
        self.embedding = embedding

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.embedding(windows.transpose(1, 2))


class StreamingMixer:
    """GainSource: `step(hop)` -> gains in dB for the NEXT hop, from everything heard so far.

    Before the first F2 frame completes (the first 975 ms for ALM-SR) the gains are 0 dB.
    A hop may end mid F2 frame (ALM-SR's 975 ms frames against 50 ms hops): the returned gains
    are then those in force at the start of the next hop.

    Args:
        runtime: how the embedding and the per-frame network run (models.runtime): "auto"
            (ONNX Runtime, falling back to torch.jit), "onnx", "jit" (traced and frozen) or
            "eager". Each `reset` compiles them for its channel count with the model's weights at
            that moment (an ONNX export is cached by the weights' sha256); `active_runtime`
            says which one runs.
    """

    def __init__(self, model: MixerNet, name: str = "model", runtime: str = "auto") -> None:
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
        self.model = model
        self.name = name
        self.runtime = runtime
        self.active_runtime = ""
        if isinstance(model, nn.Module):
            model.eval()
        self._n = 0
        self._roles: list[str | None] | None = None
        self._role_vec = np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def from_checkpoint(cls, path: Path, name: str | None = None) -> StreamingMixer:
        from models.checkpoint import load_model

        return cls(load_model(path), name or Path(path).stem)

    @property
    def uses_roles(self) -> bool:
        """True when the network was trained with channel roles (`set_roles` changes its mix)."""
        return isinstance(self.model, ALMNet) and self.model.role_table is not None

    @torch.no_grad()
    def set_roles(self, roles: Sequence[str | None] | None) -> None:
        """Each channel's role (models.alm.config.ROLES; None: unknown), kept across resets. A
        list for the channels running now takes effect with their next embeddings; any other
        length waits for the `reset` that has that many channels. A network without roles
        ignores them. None: forget them. ValueError for a word that is not a role."""
        if roles is not None:
            role_indices(roles)  # the clear error for a word that is not a role
        self._roles = None if roles is None else list(roles)
        if self._n and (roles is None or len(roles) == self._n):
            old = self._role_vec
            self._role_vec = self._role_vectors(self._n)
            self._emb += self._role_vec - old

    def _role_vectors(self, n_channels: int) -> np.ndarray:
        """(channels, D) float32: what each channel's role adds to its embeddings."""
        if not isinstance(self.model, ALMNet) or self.model.role_table is None:
            return np.zeros((n_channels, self.model.embedding.out_dim), dtype=np.float32)
        roles = self._roles if self._roles is not None else [None] * n_channels
        if len(roles) != n_channels:
            raise InputAudioError(f"{len(roles)} channel roles set for {n_channels} channels")
        return self.model.role_table(role_indices(roles)).numpy().astype(np.float32)

    @torch.no_grad()
    def reset(self, n_channels: int, sample_rate: int) -> None:
        if sample_rate != SAMPLE_RATE:
            raise InputAudioError(f"the model runs at {SAMPLE_RATE} Hz, got {sample_rate} Hz")
        if n_channels < 1:
            raise InputAudioError(f"need at least one channel, got {n_channels}")
        fe = self.model.frontend
        self._n = n_channels
        self._geometry = g = self.model.geometry
        phase = g.default_phase(n_channels).numpy() % g.refresh
        self._due = [np.flatnonzero(phase == r) for r in range(g.refresh)]  # by frame % refresh
        # The per-hop state is numpy, float32 like the graphs (the hot path dispatches no torch
        # op but the FFT); the networks are called through models.runtime.numpy_callable.
        # The samples not yet cut into mel frames, after fe.context samples of history (the
        # start: silence); room for one more F2 frame.
        self._audio = np.zeros((n_channels, fe.context + MEL_HOP + g.frame), dtype=np.float32)
        self._held = fe.context
        silence = fe.silence().numpy()  # (n_mels,)
        # The last WINDOW_FRAMES mel frames per channel, time-major, each frame j in slot
        # j % WINDOW_FRAMES and again WINDOW_FRAMES slots later: every window is one contiguous
        # slice, and nothing is ever compacted (silence before the start).
        self._mel = np.tile(silence, (n_channels, 2 * WINDOW_FRAMES, 1))  # (c, 2W, n_mels)
        self._mel_count = 0
        self._frame = 0
        self._frame_pos = 0
        self._sumsq = np.zeros(n_channels, dtype=np.float64)
        window = torch.from_numpy(silence)[None, None, :].expand(1, WINDOW_FRAMES, fe.n_mels)
        window = window.contiguous()  # time-major
        embed = _TimeMajorEmbedding(self.model.embedding)  # type: ignore[arg-type]
        emb = embed(window).expand(n_channels, -1)  # (c, D)
        self._role_vec = self._role_vectors(n_channels)
        self._emb = np.ascontiguousarray(emb.numpy()) + self._role_vec
        stateful = isinstance(self.model, ALMNet)
        hidden = self.model.config.gru_hidden if isinstance(self.model, ALMNet) else 1
        self._state = np.zeros((1, n_channels, hidden), dtype=np.float32)
        self._gains_db = np.zeros(n_channels, dtype=np.float64)
        self._base: LoudnessAutoFader | None = None
        if self.model.gain.has_base:
            self._base = LoudnessAutoFader()
            self._base.reset(n_channels, sample_rate)
        self._base_db = np.zeros(n_channels, dtype=np.float64)
        self._base_pending = np.zeros((n_channels, 0), dtype=np.float32)
        core = _Core(self.model, stateful)
        onnx = self.runtime in ("auto", "onnx")
        core_key, embed_key = graph_keys(self.model, n_channels) if onnx else ("", "")
        rms = torch.zeros(1, n_channels, 1)
        example = (
            torch.from_numpy(self._emb)[None, :, None, :].clone(),
            rms,
            torch.zeros(1, n_channels, hidden),
        )
        core_fn, used = compile_for(self.runtime, core, example, core_key)
        dynamic = {"in0": {0: "windows"}, "out0": {0: "windows"}}
        embed_fn, used_embed = compile_for(used, embed, (window,), embed_key, dynamic)
        self._core, self._embed = numpy_callable(core_fn), numpy_callable(embed_fn)
        self.active_runtime = used if used_embed == used else f"{used} (embedding: {used_embed})"
        self._warm_up()

    def _warm_up(self) -> None:
        """The hot path's first call with each shape a live hop gives it is slower (ONNX Runtime
        plans its memory per input shape, the FFT its transform, numpy its buffers): made here,
        on silence, so the first live hops do not pay it. Pure calls: no state changes."""
        fe, n = self.model.frontend, self._n
        for k in range(1, MR_FRAME // MEL_HOP + 2):  # the mel frames a hop of up to 50 ms ends
            fe.frames_np(np.zeros((n, fe.context + k * MEL_HOP), dtype=np.float32))
        for k in sorted({d.size for d in self._due if d.size}):
            self._embed(np.zeros((k, WINDOW_FRAMES, fe.n_mels), dtype=np.float32))
        d = self._emb.shape[1]
        self._core(
            self._emb.reshape(1, n, 1, d).copy(),
            np.zeros((1, n, 1), np.float32),
            self._state.copy(),
        )

    @torch.no_grad()
    def step(self, hop: np.ndarray) -> np.ndarray:
        check_shape(hop, self._n)
        x = np.ascontiguousarray(hop, dtype=np.float32)  # (c, L)
        frame = self._geometry.frame
        pos, length = 0, x.shape[1]
        # Each channel's sum of squares in one pass (no (c, L) temporary); a hop that lies in
        # one F2 frame (the engine's 50 ms hop with ALM-MR) is summed once, for the check too.
        whole = length <= frame - self._frame_pos
        sumsq = np.einsum("ij,ij->i", x, x)
        if not np.isfinite(sumsq.sum()):  # NaN or Inf in the hop (or squares past float32)
            check_hop(hop, self._n)  # says which, before any state has changed
        while pos < length:
            take = min(length - pos, frame - self._frame_pos)
            part = x[:, pos : pos + take]
            self._append_mel(part)
            if self._base is not None:
                self._feed_base(part)
            self._sumsq += sumsq if whole else np.einsum("ij,ij->i", part, part)
            self._frame_pos += take
            pos += take
            if self._frame_pos == frame:
                self._complete_frame()
        return self._gains_db.copy()

    def _feed_base(self, part: np.ndarray) -> None:
        """The auto-fader hears every whole 50 ms block as soon as it is complete."""
        assert self._base is not None
        buf = np.concatenate([self._base_pending, part], axis=1)
        whole = buf.shape[1] // BASE_BLOCK * BASE_BLOCK
        for k in range(0, whole, BASE_BLOCK):
            self._base_db = self._base.step(np.ascontiguousarray(buf[:, k : k + BASE_BLOCK]))
        self._base_pending = buf[:, whole:]

    def _append_mel(self, x: np.ndarray) -> None:
        """Adds the mel frames that end inside `x` (at most one F2 frame of audio) to the ring."""
        fe, held, buf = self.model.frontend, self._held, self._audio
        buf[:, held : held + x.shape[1]] = x
        held += x.shape[1]
        n_new = (held - fe.context) // MEL_HOP
        if n_new > 0:
            new = fe.frames_np(buf[:, : fe.context + n_new * MEL_HOP])  # (c, n_new, n_mels)
            slots = (self._mel_count + np.arange(n_new)) % WINDOW_FRAMES
            self._mel[:, slots] = new
            self._mel[:, slots + WINDOW_FRAMES] = new
            self._mel_count += n_new
            used = n_new * MEL_HOP
            buf[:, : held - used] = buf[:, used:held]  # numpy copies overlapping slices safely
            held -= used
        self._held = held

    def _window(self, channels: np.ndarray, end: int) -> np.ndarray:
        """The 96 mel frames ending with mel frame `end`, the latest in the ring (a frame's
        window ends with its last mel frame) -> (len(channels), 96, n_mels), time-major."""
        assert end == self._mel_count - 1
        start = (end + 1) % WINDOW_FRAMES
        return self._mel[channels, start : start + WINDOW_FRAMES]

    def _complete_frame(self) -> None:
        g, t = self._geometry, self._frame
        due = self._due[t % g.refresh]
        if due.size:
            emb = self._embed(self._window(due, g.window_end(t)))[0]
            self._emb[due] = emb + self._role_vec[due]
        ms = self._sumsq / g.frame + 10.0 ** (RMS_FLOOR_DB / 10.0)
        rms_db = (10.0 * np.log10(ms)).astype(np.float32)  # (c,)
        n, d = self._emb.shape
        z, self._state = self._core(
            self._emb.reshape(1, n, 1, d), rms_db.reshape(1, n, 1), self._state
        )
        base = self._base_db if self._base is not None else None
        self._gains_db = output_db_frame(self.model.gain, z.reshape(n), base, self._gains_db)
        self._frame += 1
        self._frame_pos = 0
        self._sumsq[:] = 0.0


def untrained_model(
    kind: str = "alm", mode: str = "mr", embedding: str = "student", seed: int = 0
) -> ALMNet | DMCNet:
    """A randomly initialised ALM or DMC network (for benchmarks and tests), seeded.

    embedding "mn04" starts from the pretrained EfficientAT weights when ../shared has them.
    """
    from models.alm.config import ALMConfig, DMCConfig
    from models.checkpoint import build_model
    from models.embedding.mn04 import MN04_FILE, shared_weights_dir

    if kind not in ("alm", "dmc"):
        raise ValueError(f"kind must be 'alm' or 'dmc', got {kind!r}")
    config = ALMConfig(mode=mode) if kind == "alm" else DMCConfig(mode=mode)
    pretrained = embedding == "mn04" and (shared_weights_dir() / MN04_FILE).is_file()
    meta = {"kind": kind, "config": config.to_json(), "embedding": {"kind": embedding}}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_model(meta, pretrained=pretrained).eval()


def untrained_gain_source(kind: str, mode: str, embedding: str = "student") -> StreamingMixer:
    """GainSource around `untrained_model`, named e.g. "alm-mr-untrained"."""
    suffix = "" if embedding == "student" else f"-{embedding}"
    name = f"{kind}-{mode}{suffix}-untrained"
    return StreamingMixer(untrained_model(kind, mode, embedding), name)
