"""The fine-tune of `ailive learn`: a shipped (or learned) checkpoint trained on the engineer's
hops of one or more recordings, kept only when it beats the base on held-out hops.

Cheap by design: the embedding stays frozen, so every window is embedded once (cached, like the
trainer's frozen steps), and the loss is on the gains alone (no mix is rendered): the L1 between
the network's slewed gains and the engineer's faders, with each hop's mean difference over the
channels removed (the balance between channels) plus `level_weight` times the plain L1 (the
level). Hops that were the model's, or where a fader was unknown, do not count. The last
`holdout` of every recording is never trained on: it validates, and a model that does not beat
the base there is not saved.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from models.alm.config import RMS_FLOOR_DB, WINDOW_FRAMES, Geometry
from models.alm.network import ALMNet
from models.alm.output import output_db
from models.alm.roles import guess_role, role_indices
from models.checkpoint import load_model, read_sidecar, save_model
from models.learn.recording import Recording
from models.train.batches import balance_loss, gain_loss
from models.train.features import embed_windows, mel_windows, refresh_frames, window_ends
from models.train.loop import Progress
from models.train.plot import plot_curve

SEGMENT_S = 30.0
"""Recordings are cut into pieces this long (features per piece: an hour never sits in memory as
one tensor of windows)."""
CONTEXT_S = 1.0
"""Audio before a piece that its first windows see (the 975 ms embedding window)."""


class LearnError(ValueError):
    """A fine-tune that cannot run or whose result is refused; the message says why."""


@dataclass
class LearnConfig:
    steps: int = 300
    batch: int = 8
    sequence_s: float = 12.0
    lr: float = 3e-4
    weight_decay: float = 1e-2
    level_weight: float = 0.3
    holdout: float = 0.1
    validate_every: int = 50
    seed: int = 0
    train: str = "all"
    """What is fine-tuned: "all" (everything after the frozen embedding) or "head" (only the
    last channel encoder and the gain MLP: less drift from the base on what the engineer left
    alone)."""
    loss: str = "gain"
    """"gain": the per-hop L1 of the centered gains (+ level); "balance": what the balance metric
    measures, each channel's level over a sequence under the network's gains minus under the
    engineer's, energies summed over the hops it plays (models.train.batches.balance_loss), the
    mean over the channels removed, plus `ride_weight` x the per-hop centered L1 (the rides) and
    `level_weight` x the plain L1."""
    ride_weight: float = 0.2
    """With loss "balance": weight of the per-hop centered L1."""
    blend: float = 0.7
    """The saved weights are the base's + blend x (the fine-tuned's - the base's): 1 keeps the
    fine-tune as trained, under 1 pulls everything it moved part of the way back (what the
    engineer taught stays mostly learned; what 30 songs over-fitted, on the roles they rarely
    held, mostly unlearned). Measured on show B: 1.40 dB at 1, 1.37 at 0.5, 1.31 at 0.7."""
    levels: bool = True
    """Also learn the engineer's level of each channel role over its running loudness
    (models.learn.levels), kept only when it lowers the held-out balance error."""
    distill: float = 0.0
    """Weight of the pull towards the base model's own (centered) gains on every channel: an
    L1, so with a weight under 1 it never moves the optimum where the engineer's fader can be
    met, only where the network has to trade channels off."""


HEAD = ("te3", "mlp")
"""The modules `train="head"` fine-tunes."""


@dataclass
class Piece:
    """A stretch of one recording: cached embeddings, RMS and the engineer's gains."""

    name: str
    emb: torch.Tensor  # (C, F, D) float16: what each channel holds at each frame
    rms_db: torch.Tensor  # (C, F)
    ideal_db: torch.Tensor  # (C, F), NaN where not the engineer's
    roles: torch.Tensor | None = None  # (C,) long: each channel's role (models.alm.roles)

    @property
    def n_frames(self) -> int:
        return int(self.rms_db.shape[1])

    @property
    def n_channels(self) -> int:
        return int(self.rms_db.shape[0])


@dataclass
class LearnResult:
    path: Path | None
    base_loss: float
    learned_loss: float
    history: dict[str, Any] = field(default_factory=dict)
    train_s: float = 0.0
    features_s: float = 0.0
    cpu_s: float = 0.0
    engineer_minutes: float = 0.0
    curve: Path | None = None


def engineer_gains(rec: Recording) -> np.ndarray:
    """(hops, C) the engineer's fader per hop, NaN where it was the model's or unknown."""
    keep = rec.engineer & np.isfinite(rec.faders_db)
    return np.where(keep, rec.faders_db, np.nan)


@torch.no_grad()
def pieces_of(
    rec: Recording, model: ALMNet, start_hop: int, end_hop: int, segment_s: float = SEGMENT_S
) -> list[Piece]:
    """Features of hops start_hop..end_hop of a recording, in pieces of `segment_s`."""
    from models.alm.features import frame_rms_db

    geometry: Geometry = model.geometry
    if geometry.frame != rec.hop:
        raise LearnError(f"the model's frame ({geometry.frame}) is not the recording's hop")
    ideal = engineer_gains(rec)
    roles = role_indices(rec.roles or [guess_role(n) for n in rec.names])
    per = max(1, round(segment_s * rec.sample_rate / rec.hop))
    ctx = round(CONTEXT_S * rec.sample_rate / rec.hop)
    out = []
    for a in range(start_hop, end_hop, per):
        b = min(end_hop, a + per)
        if b - a < 2 or not np.isfinite(ideal[a:b]).any():
            continue
        c0 = max(0, a - ctx)
        audio = torch.from_numpy(np.ascontiguousarray(rec.audio[:, c0 * rec.hop : b * rec.hop]))
        skip = a - c0
        piece = Piece(
            f"{rec.name}@{a}",
            held_embeddings(model, audio)[:, skip:].contiguous(),
            frame_rms_db(audio[None], geometry.frame)[0, :, skip:].contiguous(),
            torch.from_numpy(ideal[a:b].T.astype(np.float32)).contiguous(),
            roles,
        )
        out.append(piece)
    return out


def held_embeddings(model: ALMNet, audio: torch.Tensor) -> torch.Tensor:
    """(C, n) audio -> (C, F, D) float16: the embedding each channel holds at each frame,
    refreshed on its default phase as the streaming runner refreshes it (so only the windows
    of refresh frames, a sixth of them with ALM-MR, are embedded)."""
    geometry = model.geometry
    c = audio.shape[0]
    frames = audio.shape[1] // geometry.frame
    mel = model.frontend(audio)
    lead = model.frontend.silence()[None, :, None].expand(c, -1, WINDOW_FRAMES)
    mel = torch.cat([lead, mel], dim=-1).contiguous()
    r = refresh_frames(0, frames, geometry.default_phase(c), geometry.refresh)  # (C, F)
    keys = torch.arange(c)[:, None] * (frames + 1) + (r + 1)
    uniq, inverse = torch.unique(keys.flatten(), return_inverse=True)
    chans, rows = uniq // (frames + 1), uniq % (frames + 1) - 1
    ends = window_ends(frames, geometry)[rows.clamp(min=0)]
    emb = embed_windows(model.embedding, mel_windows(mel, chans, ends))  # (U, D)
    silence = embed_windows(model.embedding, mel[:1, :, :WINDOW_FRAMES])[0]
    emb[rows < 0] = silence
    return emb[inverse].reshape(c, frames, -1).half()


def _inputs(piece: Piece, start: int, length: int) -> tuple[torch.Tensor, ...]:
    """emb (C, L, D), rms (C, L), ideal (C, L) aimed at by each prediction and heard (C, L) the
    RMS of the frame it is heard on (zero latency: the gain from frame t is heard on t+1)."""
    emb = piece.emb[:, start : start + length].float()
    rms = piece.rms_db[:, start : start + length]
    ideal = torch.full((piece.n_channels, length), float("nan"))
    part = piece.ideal_db[:, start + 1 : start + 1 + length]
    ideal[:, : part.shape[1]] = part
    heard = torch.full((piece.n_channels, length), RMS_FLOOR_DB)
    heard_part = piece.rms_db[:, start + 1 : start + 1 + length]
    heard[:, : heard_part.shape[1]] = heard_part
    return emb, rms, ideal, heard


def _loss(
    model: ALMNet,
    pieces: list[Piece],
    starts: list[int],
    length: int,
    cfg: LearnConfig,
    base: ALMNet | None = None,
) -> torch.Tensor:
    from torch.nn import functional as F

    c_max = max(p.n_channels for p in pieces)
    embs, rmss, ideals, heards = [], [], [], []
    mask = torch.zeros(len(pieces), c_max, dtype=torch.bool)
    roles = torch.zeros(len(pieces), c_max, dtype=torch.long)
    for b, (p, s) in enumerate(zip(pieces, starts, strict=True)):
        emb, rms, ideal, heard = _inputs(p, s, length)
        pad = c_max - p.n_channels
        mask[b, : p.n_channels] = True
        if p.roles is not None:
            roles[b, : p.n_channels] = p.roles
        embs.append(F.pad(emb, (0, 0, 0, 0, 0, pad)))
        rmss.append(F.pad(rms, (0, 0, 0, pad), value=RMS_FLOOR_DB))
        ideals.append(F.pad(ideal, (0, 0, 0, pad), value=float("nan")))
        heards.append(F.pad(heard, (0, 0, 0, pad), value=RMS_FLOOR_DB))
    emb_b, rms_b = torch.stack(embs), torch.stack(rmss)
    z, _ = model(emb_b, rms_b, mask, None, roles)
    rng = model.gain
    g = output_db(rng, z, None, None)
    ideal = torch.stack(ideals)
    centered = gain_loss(g, ideal, rng.min_db, rng.max_db, centered=True)
    if cfg.loss == "balance":
        heard = torch.stack(heards)
        loss = balance_loss(g, ideal, heard, rng.min_db, rng.max_db) + cfg.ride_weight * centered
    else:
        loss = centered
    if cfg.level_weight > 0:
        loss = loss + cfg.level_weight * gain_loss(g, ideal, rng.min_db, rng.max_db)
    distill = cfg.distill
    if base is not None and distill > 0:
        with torch.no_grad():
            zb, _ = base(emb_b, rms_b, mask, None, roles)
            gb = output_db(rng, zb, None, None)
            gb = gb.masked_fill(~mask.unsqueeze(-1), float("nan"))
        loss = loss + distill * gain_loss(g, gb, rng.min_db, rng.max_db, centered=True)
    return loss


@torch.no_grad()
def validation_loss(model: ALMNet, pieces: list[Piece], cfg: LearnConfig) -> float:
    """Mean loss over whole held-out pieces (zero state), weighted by their engineer's hops."""
    model.eval()
    losses, weights = [], []
    for p in pieces:
        loss = _loss(model, [p], [0], p.n_frames, cfg)
        losses.append(float(loss))
        weights.append(float(torch.isfinite(p.ideal_db).sum()))
    return float(np.average(losses, weights=weights)) if losses else float("nan")


def blended(
    base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], blend: float
) -> dict[str, torch.Tensor]:
    """base + blend x (tuned - base), tensor by tensor (integer buffers taken from tuned)."""
    return {
        k: base[k] + blend * (v - base[k]) if v.is_floating_point() else v for k, v in tuned.items()
    }


def _learned_levels(
    model: ALMNet, recordings: list[Recording], cfg: LearnConfig
) -> tuple[dict[str, float], dict[str, float]]:
    """The engineer's role levels (models.learn.levels) over the fine-tuned network, fitted on
    the same training hops and checked on the same held-out ones."""
    from models.eval.systems import stream_gains
    from models.gainsource import tell_roles
    from models.inference import StreamingMixer
    from models.learn.levels import learn_levels

    mixer = StreamingMixer(model, "learned", runtime="eager")

    def stream(audio: np.ndarray, roles: list[str | None]) -> np.ndarray:
        tell_roles(mixer, roles)
        return stream_gains(mixer, audio, recordings[0].hop, recordings[0].sample_rate)

    cuts = [round(rec.hops * (1.0 - cfg.holdout)) for rec in recordings]
    return learn_levels(recordings, cuts, stream)


def _levels_line(levels: dict[str, float], check: dict[str, float]) -> str:
    if not check:
        return "role levels: none learned (no channel roles, or too few hops of each)"
    said = ", ".join(f"{r} {v:+.1f}" for r, v in levels.items())
    verdict = f"kept: {said} dB" if levels else "dropped"
    return (f"role levels {verdict} (held-out balance error {check['without']:.2f} dB without, "
            f"{check['with']:.2f} dB with, {check['strength']:.0%} of the way)")  # fmt: skip


def fine_tune(
    recordings: list[Recording],
    base: Path,
    out: Path,
    *,
    cfg: LearnConfig | None = None,
    base_name: str = "",
    log: Callable[[str], None] | None = None,
    on_validate: Callable[[int, ALMNet], None] | None = None,
) -> LearnResult:
    """Fine-tune checkpoint `base` on the engineer's hops; write out.pt + out.json (+ curve)
    only when the held-out loss beats the base's. `on_validate(step, model)` is called at each
    validation (a learning curve measured elsewhere). Raises LearnError when there is nothing to
    learn from or the result is refused."""
    cfg = cfg or LearnConfig()
    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    cpu0, t0 = time.process_time(), time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = load_model(base)
    if not isinstance(model, ALMNet):
        raise LearnError(f"{base}: learn mode fine-tunes ALM networks only")
    embedding = cast(nn.Module, model.embedding)
    embedding.requires_grad_(False)
    embedding.eval()
    if cfg.train not in ("all", "head"):
        raise LearnError(f"train must be 'all' or 'head', not {cfg.train!r}")
    if not 0.0 < cfg.blend <= 1.0:
        raise LearnError(f"blend must be in (0, 1], not {cfg.blend}")
    if cfg.loss not in ("gain", "balance"):
        raise LearnError(f"loss must be 'gain' or 'balance', not {cfg.loss!r}")
    if cfg.train == "head":
        model.requires_grad_(False)
        for name in HEAD:
            cast(nn.Module, getattr(model, name)).requires_grad_(True)
    anchor = None
    if cfg.distill > 0:
        anchor = copy.deepcopy(model).eval()
        anchor.requires_grad_(False)
    train, val = [], []
    minutes = 0.0
    for rec in recordings:
        minutes += rec.engineer_minutes()
        cut = round(rec.hops * (1.0 - cfg.holdout))
        train += pieces_of(rec, model, 0, cut)
        val += pieces_of(rec, model, cut, rec.hops)
    if not train or not val:
        raise LearnError(
            "not enough of the engineer's mix to learn from: every recording needs engineer's "
            "hops both before and in its last "
            f"{cfg.holdout:.0%} (found {minutes:.1f} min in all)"
        )
    features_s = time.perf_counter() - t0
    say(f"features of {len(train)} training and {len(val)} held-out pieces in {features_s:.1f} s "
        f"({minutes:.1f} min of engineer's mix)")  # fmt: skip
    base_loss = validation_loss(model, val, cfg)
    history: dict[str, Any] = {"train": [], "validation": [[0, base_loss]]}
    base_state = copy.deepcopy(model.state_dict())
    best = (base_loss, base_state)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    length = max(2, round(cfg.sequence_s * 20))
    progress = Progress(cfg.steps)
    t1 = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        model.train()
        embedding.eval()  # batch norms keep their statistics
        picks = torch.randint(len(train), (cfg.batch,), generator=gen).tolist()
        chosen = [train[i] for i in picks]
        n = min(length, min(p.n_frames for p in chosen) - 1)
        starts = [int(torch.randint(p.n_frames - n, (1,), generator=gen)) for p in chosen]
        loss = _loss(model, chosen, starts, n, cfg, anchor)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        history["train"].append([step, float(loss.detach())])
        progress(step, float(loss.detach()))
        if step % cfg.validate_every == 0 or step == cfg.steps:
            v = validation_loss(model, val, cfg)
            history["validation"].append([step, v])
            if on_validate is not None:
                on_validate(step, model)
            if v < best[0]:
                best = (v, copy.deepcopy(model.state_dict()))
    train_s = time.perf_counter() - t1
    if cfg.blend < 1.0:
        model.load_state_dict(blended(base_state, best[1], cfg.blend))
        best = (validation_loss(model, val, cfg), copy.deepcopy(model.state_dict()))
        history["validation_blended"] = best[0]
    result = LearnResult(None, base_loss, best[0], history, train_s, features_s,
                         0.0, minutes)  # fmt: skip
    result.cpu_s = time.process_time() - cpu0
    network_kept = best[0] < base_loss
    levels: dict[str, float] = {}
    levels_check: dict[str, float] = {}
    refusal = (
        f"refused: the fine-tuned model does no better than {base_name or base.stem} on the "
        f"held-out {cfg.holdout:.0%} ({best[0]:.3f} vs {base_loss:.3f} dB)"
    )
    if not network_kept:
        if not cfg.levels:
            raise LearnError(refusal + "; nothing saved")
        # The network stays the base's; your levels may still be worth keeping on top of it.
        say(refusal + ": the base's weights are kept, with your role levels if they help")
        best = (base_loss, base_state)
        result.learned_loss = base_loss
    model.load_state_dict(best[1])
    if cfg.levels:
        levels, levels_check = _learned_levels(model, recordings, cfg)
        say(_levels_line(levels, levels_check))
        if not network_kept and not levels:
            raise LearnError(refusal + ", and no role levels helped either; nothing saved")
    before = read_sidecar(base)
    training = {
        "learned_from": [r.name for r in recordings],
        "base": base_name or base.stem,
        "base_sha256": before["sha256"],
        "engineer_minutes": round(minutes, 2),
        "learn": cfg.__dict__,
        "train_s": round(train_s, 1),
        "features_s": round(features_s, 1),
        "cpu_s": round(result.cpu_s, 1),
        "base_training": {k: before.get("training", {}).get(k) for k in ("data", "steps")},
        "role_levels_db": levels,
        "role_levels_strength": levels_check.get("strength", 1.0) if levels else 1.0,
        "network": "fine-tuned" if network_kept else "the base's (the fine-tune was refused)",
    }
    metrics = {"heldout_loss_db": round(best[0], 4), "base_heldout_loss_db": round(base_loss, 4),
               "heldout_balance_l1_db": levels_check}  # fmt: skip
    result.path = save_model(model, out, training=training, metrics=metrics)
    curve = out.with_name(out.stem + "-curve.png")
    try:
        title = f"learn {out.stem} from {base_name or base.stem}"
        result.curve = plot_curve(history, curve, 0, title, "gain L1 dB (balance + level)")
    except (ImportError, OSError, ValueError) as exc:  # the model is saved; the picture is extra
        say(f"no training curve ({type(exc).__name__}: {exc})")
    return result
