"""The training loop: frozen-then-fine-tuned embedding, carried GRU state, checkpoints, resume,
validation, training curve; DDP over `torchrun` processes (gloo on CPUs, NCCL on GPUs)."""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence as SequenceOf
from pathlib import Path
from typing import Any, cast, overload

import numpy as np
import soundfile as sf
import torch
from torch import nn

from models.alm.config import ALMConfig, DMCConfig
from models.alm.network import ALMNet
from models.alm.output import output_db
from models.alm.roles import role_indices
from models.checkpoint import build_model, save_model
from models.dmc import DMCNet
from models.song import channel_files
from models.train.batches import (
    Sequence,
    balance_loss,
    chunk_base,
    chunk_ideal,
    chunk_inputs,
    chunk_rms,
    draw_sequence,
    gain_loss,
    mix_output,
    sequence_roles,
)
from models.train.config import TrainConfig
from models.train.features import (
    EmbeddingCache,
    SongFeatures,
    channel_roles,
    frozen_embeddings,
    load_training_song,
    song_features,
    song_folders,
)
from models.train.losses import make_loss
from models.train.plot import plot_curve

REPO_ROOT = Path(__file__).resolve().parents[2]
LAST = "last.pt"


def network_for(cfg: TrainConfig) -> ALMNet | DMCNet:
    """The untrained network a config describes (mn04 starts from the pretrained weights)."""
    args = {"mode": cfg.mode, **cfg.model}
    mcfg = ALMConfig.from_json(args) if cfg.kind == "alm" else DMCConfig.from_json(args)
    meta = {"kind": cfg.kind, "config": mcfg.to_json(), "embedding": dict(cfg.embedding)}
    return build_model(meta, pretrained=cfg.embedding.get("kind") == "mn04")


def loss_label(cfg: TrainConfig) -> str:
    """What the training loss is, for plots: the mix loss and any gain term."""
    extra = f" + {cfg.gain_loss_weight:g} x gain L1 (dB)" if cfg.gain_loss_weight > 0 else ""
    if cfg.balance_loss_weight > 0:
        extra += f" + {cfg.balance_loss_weight:g} x balance (dB)"
    return f"{cfg.loss}{extra}"


def dist_env() -> tuple[int, int]:
    """(rank, world size) under torchrun; (0, 1) otherwise. Starts the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


class Progress:
    """A progress bar on a terminal; a line every `every` steps otherwise."""

    def __init__(self, total: int, every: int = 25) -> None:
        self.total, self.every = total, every
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, step: int, loss: float, note: str = "") -> None:
        if not self.tty and step % self.every and step != self.total:
            return
        elapsed = time.perf_counter() - self.t0
        filled = round(30 * step / self.total)
        bar = "#" * filled + "-" * (30 - filled)
        line = f"train [{bar}] {step}/{self.total} loss {loss:.4f} {elapsed:.0f} s {note}"
        sys.stderr.write(("\r" + line.ljust(110)) if self.tty else line + "\n")
        if self.tty and step == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class _SongChannels(SequenceOf[np.ndarray]):
    """The songs' bled channels, each read from disk when asked for: distillation reads them
    one at a time, so 455 songs need not all be in memory (they were ~16 GB)."""

    def __init__(self, folders: list[Path]) -> None:
        self._folders = folders

    def shapes(self) -> list[tuple[int, int]]:
        """Each song's (channels, samples) from its files' headers, nothing decoded: as
        `load_song` reads them, the shortest channel file sets the length."""
        out = []
        for folder in self._folders:
            files = channel_files(folder)
            out.append((len(files), min(sf.info(str(f)).frames for f in files)))
        return out

    def __len__(self) -> int:
        return len(self._folders)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice) -> list[np.ndarray]: ...

    def __getitem__(self, i: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(i, slice):
            return [load_training_song(f, True)[0] for f in self._folders[i]]
        return load_training_song(self._folders[i], True)[0]


class Trainer:
    """Trains one config into `out/NAME/`: NAME.pt + NAME.json (best validation), last.pt
    (resume state), history.json and curve.png."""

    def __init__(
        self,
        cfg: TrainConfig,
        out: Path,
        resume: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.dir = out / cfg.name
        self.rank, self.world = dist_env()
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        if self.rank:
            self.log = lambda msg: None
        torch.manual_seed(cfg.seed)
        self.model = network_for(cfg)
        self.geometry = self.model.geometry
        self.embedding_stats = self._prepare_embedding()
        self.loss_fn = make_loss(cfg.loss)
        emb_params = list(self.model.embedding.parameters())
        ids = {id(p) for p in emb_params}
        head = [p for p in self.model.parameters() if id(p) not in ids]
        self.opt = torch.optim.AdamW(
            [{"params": head, "lr": cfg.lr}, {"params": emb_params, "lr": cfg.finetune_lr}],
            weight_decay=cfg.weight_decay,
        )
        self.gen = torch.Generator().manual_seed(cfg.seed * 1009 + self.rank)
        self.role_gen = torch.Generator().manual_seed(cfg.seed * 2003 + 17 + self.rank)
        self.step = 0
        self.history: dict[str, Any] = {"train": [], "validation": []}
        self.best: tuple[float, dict[str, torch.Tensor]] | None = None
        self.train_s = 0.0
        if resume:
            self._resume()
        self.train_names = [name for name, _ in self._folders("train")]
        self.train_names = self.train_names[: cfg.max_songs or None]
        self.train_songs: list[SongFeatures] = []
        self.val_songs: list[SongFeatures] = []
        if self.step < cfg.steps:  # a finished run (resumed to export it) needs no features
            self.train_songs = self._load("train", cfg.max_songs)
            self.train_names = [s.name for s in self.train_songs]
            if self.rank == 0:
                self.val_songs = self._load("validation", cfg.validation_songs)

    def _prepare_embedding(self) -> dict[str, Any]:
        """Starts a student embedding from its distilled weights (distilling once if needed), or
        the whole network from `init`'s weights."""
        start: dict[str, Any] = {}
        if self.cfg.init:
            start = self._init_from(self.cfg.resolve(self.cfg.init, REPO_ROOT))
        d = self.cfg.distill
        if self.cfg.embedding.get("kind") != "student" or d is None:
            return start
        if start:  # the whole network from `init`, then the student from a new distillation
            start = {"initialised_from": start["initialised_from"],
                     "initial_data": start["initial_data"],
                     "initial_steps": start["initial_steps"]}  # fmt: skip
        from models.train.distill import distill_student, load_student_state, save_student

        path = self.cfg.resolve(d.out, REPO_ROOT)
        if not path.is_file():
            if self.rank == 0:
                folders = self._folders("train")[: self.cfg.max_songs or None]
                chans = _SongChannels([f for _, f in folders])
                student, stats = distill_student(
                    chans, d, self.cfg.embedding, self.cfg.seed, self.log, chans.shapes()
                )
                save_student(student, path, stats)
            if self.world > 1:
                torch.distributed.barrier()
        stats = load_student_state(self.model.embedding, path)  # type: ignore[arg-type]
        self.model.embedding.spec["distilled_from"] = "mn04"
        data = str(self.cfg.data)
        return {"distilled_from": "mn04", "student_file": path.name, "distilled_on": data,
                **stats, **start}  # fmt: skip

    def _init_from(self, path: Path) -> dict[str, Any]:
        """Loads every weight of a checkpoint of the same architecture (models.checkpoint); its
        output settings (base level, slew) may differ from this config's."""
        from models.checkpoint import CheckpointError, load_model, read_sidecar

        source = load_model(path)
        try:
            missing, unexpected = self.model.load_state_dict(source.state_dict(), strict=False)
            # a network learning channel roles may start from one without: its table starts at 0
            if unexpected or [k for k in missing if not k.startswith("role_table.")]:
                raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: not the network this config trains ({exc})") from None
        meta = read_sidecar(path)
        if "distilled_from" in meta["embedding"]:
            self.model.embedding.spec["distilled_from"] = meta["embedding"]["distilled_from"]
        before = meta.get("training", {})
        return {
            **before.get("embedding", {}),
            "initialised_from": path.name,
            "initial_data": before.get("data"),
            "initial_steps": before.get("steps"),
        }

    def _embedding(self) -> nn.Module:
        return cast(nn.Module, self.model.embedding)

    def _data(self) -> Path:
        return self.cfg.resolve(self.cfg.data, REPO_ROOT)

    def _folders(self, split: str) -> list[tuple[str, Path]]:
        """(name in the run, folder) of a split's songs: `data`'s, and for training those of
        every `extra_data` set after them, named DATASET-SONG (song names repeat across
        datasets)."""
        out = [(f.name, f) for f in song_folders(self._data(), split)]
        if split == "train":
            for extra in self.cfg.extra_data:
                root = self.cfg.resolve(extra, REPO_ROOT)
                found = song_folders(root, "train")
                if not found:
                    raise FileNotFoundError(f"{root}: no songs in train/ (extra_data)")
                out += [(f"{root.name}-{f.name}", f) for f in found]
        return out

    def _load(self, split: str, limit: int) -> list[SongFeatures]:
        folders = self._folders(split)[: limit or None]
        if not folders and split == "train":
            raise FileNotFoundError(f"{self._data()}: no songs in {split}/")
        t0 = time.perf_counter()
        self._embedding().eval()
        cache = None
        if self.cfg.embedding_cache:
            cache = EmbeddingCache(self.dir.parent / "embedding-cache", self._embedding(),
                                   self.geometry, self.cfg.bleed)  # fmt: skip
        out, reused = [], 0
        for name, f in folders:
            audio, target, ideal = load_training_song(f, self.cfg.bleed)
            cached = None if cache is None else cache.get(f, name)
            reused += cached is not None
            feats = song_features(name, audio, target, self.model.embedding,
                                  self.model.frontend, self.geometry, ideal, cached,
                                  keep_mel=self.cfg.frozen_steps < self.cfg.steps)  # fmt: skip
            feats.roles = role_indices(channel_roles(f))
            if cache is not None and cached is None and self.rank == 0:
                cache.put(f, feats.emb_end, name)
            out.append(feats)
        note = f" ({reused} from {cache.dir})" if cache is not None else ""
        self.log(f"{split}: {len(out)} songs, features cached in "
                 f"{time.perf_counter() - t0:.1f} s{note}")  # fmt: skip
        return out

    # -- resume and checkpoints -------------------------------------------------------------
    def _resume(self) -> None:
        path = self.dir / LAST
        if not path.is_file():
            self.log(f"no {path} to resume from: starting afresh")
            return
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator"])
        if "role_generator" in state:
            self.role_gen.set_state(state["role_generator"])
        self.step, self.history, self.train_s = (
            int(state["step"]),
            state["history"],
            float(state["train_s"]),
        )
        if state.get("best_model") is not None:
            self.best = (float(state["best_loss"]), state["best_model"])
        self.log(f"resumed {path} at step {self.step}")

    def _save_last(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "role_generator": self.role_gen.get_state(),
            "step": self.step,
            "history": self.history,
            "train_s": self.train_s,
            "best_loss": None if self.best is None else self.best[0],
            "best_model": None if self.best is None else self.best[1],
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / (LAST + ".tmp")
        torch.save(state, tmp)
        tmp.replace(self.dir / LAST)

    # -- training ----------------------------------------------------------------------------
    def _lr_factor(self) -> float:
        return 0.1 ** sum(self.step >= d * self.cfg.steps for d in self.cfg.lr_drops)

    def _wrapped(self, finetune: bool) -> nn.Module:
        self._embedding().requires_grad_(finetune)
        if self.world == 1:
            return self.model
        return nn.parallel.DistributedDataParallel(self.model)

    def _sequence_roles(self, seq: Sequence, drop: float) -> torch.Tensor | None:
        """(B, C) the roles a sequence's channels are shown with (None: a network without
        roles), a share `drop` of them as "unknown" (from `role_gen`)."""
        if not isinstance(self.model, ALMNet) or self.model.role_table is None:
            return None
        roles = sequence_roles(seq)
        if drop > 0:
            hidden = torch.rand(roles.shape, generator=self.role_gen) < drop
            roles = roles.masked_fill(hidden, 0)
        return roles

    def _chunk_loss(
        self, net: nn.Module, seq: Sequence, offset: int, length: int, finetune: bool,
        state: torch.Tensor | None, prev: torch.Tensor | None,
        roles: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:  # fmt: skip
        """One chunk's loss; prev (B, C): the gain (dB) in force before the chunk, carried;
        roles (B, C): the channels' roles for a network that reads them."""
        emb, rms, mask, audio, target = chunk_inputs(
            seq, offset, length, self.geometry, self.model.embedding if finetune else None
        )
        if self.model.training and self.cfg.embedding_dropout > 0:
            emb = torch.nn.functional.dropout(emb, self.cfg.embedding_dropout)
        if roles is None:
            z, state = net(emb, rms, mask, state)
        else:
            z, state = net(emb, rms, mask, state, roles)
        rng = self.model.gain
        base = chunk_base(seq, offset, length) if rng.has_base else None
        g_db = output_db(rng, z, base, prev)  # (B, C, L): the base level and slew applied
        loss = g_db.sum() * 0.0
        if self.loss_fn is not None:  # "none": the gain terms only, no mix made
            gains = torch.pow(10.0, g_db / 20.0)
            initial = None if prev is None else torch.pow(10.0, prev / 20.0)
            mix = mix_output(audio, gains, self.geometry.frame, self.cfg.latency, initial)
            loss = loss + self.loss_fn(mix, target)
        shift = 1 if self.cfg.latency == "zero" else 0
        ideal = None
        if self.cfg.gain_loss_weight > 0 or self.cfg.balance_loss_weight > 0:
            ideal = chunk_ideal(seq, offset, length, shift)
        if ideal is not None and self.cfg.gain_loss_weight > 0:
            loss = loss + self.cfg.gain_loss_weight * gain_loss(
                g_db, ideal, rng.min_db, rng.max_db, self.cfg.gain_loss_centered
            )
        if ideal is not None and self.cfg.balance_loss_weight > 0:
            heard = chunk_rms(seq, offset, length, shift)
            loss = loss + self.cfg.balance_loss_weight * balance_loss(
                g_db, ideal, heard, rng.min_db, rng.max_db
            )
        return loss, state, g_db[..., -1].detach()

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        frame_s = self.geometry.frame / 48_000
        n_frames = max(1, round(cfg.sequence_s / frame_s))
        chunk = max(1, round(cfg.chunk_s / frame_s))
        finetune = self.step >= cfg.frozen_steps
        net = self._wrapped(finetune)
        progress = Progress(cfg.steps)
        chunks: list[tuple[int, int]] = []
        seq: Sequence | None = None
        roles: torch.Tensor | None = None
        state: torch.Tensor | None = None
        prev: torch.Tensor | None = None
        t0 = time.perf_counter() - self.train_s
        while self.step < cfg.steps:
            if not finetune and self.step >= cfg.frozen_steps:
                finetune, net = True, self._wrapped(True)
                self.log(
                    f"step {self.step}: embedding unfrozen (fine-tuning at lr {cfg.finetune_lr})"
                )
            if not chunks:
                seq = draw_sequence(
                    self.train_songs, cfg.batch, n_frames, chunk, self.geometry, self.gen
                )
                chunks, state, prev = seq.chunks(), None, None
                roles = self._sequence_roles(seq, cfg.role_dropout)
            assert seq is not None
            offset, length = chunks.pop(0)
            self.model.train()
            self._embedding().eval()  # batch norms keep their statistics
            for g, base in zip(self.opt.param_groups, (cfg.lr, cfg.finetune_lr), strict=True):
                g["lr"] = base * self._lr_factor()
            loss, state, prev = self._chunk_loss(
                net, seq, offset, length, finetune, state, prev, roles
            )
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.opt.step()
            state = None if state is None else state.detach()
            self.step += 1
            value = float(loss.detach())
            self.history["train"].append([self.step, value])
            self.train_s = time.perf_counter() - t0
            progress(self.step, value, "(fine-tune)" if finetune else "")
            if self.step % cfg.validate_every == 0 or self.step == cfg.steps:
                self._validate(finetune)
            if self.rank == 0 and (self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps):
                self._save_last()
        return self._finish() if self.rank == 0 else {}

    @torch.no_grad()
    def validation_loss(self, refresh: bool) -> float:
        """Mean training loss on whole validation songs (default phases, zero state), eval mode."""
        self.model.eval()
        losses = []
        for song in self.val_songs:
            if refresh:
                song.emb_end = frozen_embeddings(song, self.model.embedding, self.geometry)
            phase = self.geometry.default_phase(song.n_channels)
            seq = Sequence([song], [0], [phase], song.n_frames, song.n_frames)
            roles = self._sequence_roles(seq, 0.0)
            loss, _, _ = self._chunk_loss(
                self.model, seq, 0, song.n_frames, False, None, None, roles
            )
            losses.append(float(loss))
        return sum(losses) / max(1, len(losses))

    def _validate(self, finetune: bool) -> None:
        if self.rank != 0 or not self.val_songs:
            return
        loss = self.validation_loss(refresh=finetune)
        self.history["validation"].append([self.step, loss])
        if self.best is None or loss < self.best[0]:
            self.best = (loss, copy.deepcopy(self.model.state_dict()))
        self.log(f"\nstep {self.step}: validation loss {loss:.4f} (best {self.best[0]:.4f})")

    def _finish(self) -> dict[str, Any]:
        cfg = self.cfg
        if self.best is not None:
            self.model.load_state_dict(self.best[1])
        training = {
            "config": cfg.to_json(),
            "data": str(cfg.data),
            "train_songs": self.train_names,
            "steps": self.step,
            "train_s": round(self.train_s, 1),
            "processes": self.world,
            "torch_threads": torch.get_num_threads(),
            "embedding": self.embedding_stats,
        }
        best = None if self.best is None else round(self.best[0], 5)
        path = save_model(self.model, self.dir / cfg.name, training=training,
                          metrics={"validation_loss": best})  # fmt: skip
        (self.dir / "history.json").write_text(json.dumps(self.history) + "\n")
        plot_curve(
            self.history, self.dir / "curve.png", cfg.frozen_steps, cfg.name, loss_label(cfg)
        )
        self.log(f"wrote {path} (validation loss {best}), {self.dir / 'curve.png'}; "
                 f"{self.train_s:.0f} s of training")  # fmt: skip
        return {"checkpoint": str(path), "validation_loss": best, "train_s": self.train_s}
