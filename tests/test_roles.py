"""Channel roles as a network input (models.alm.roles): what the engineer names each channel.

A network trained with roles adds a learned vector per role to each channel's embeddings; it
starts as the network it was initialised from, the streaming runner gives the offline gains
with the same roles, and training shows some channels as "unknown" without changing the
sequences it draws.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from models.alm import offline_gains_db
from models.alm.config import ROLES, ALMConfig, GainRange
from models.alm.network import ALMNet
from models.alm.roles import guess_role, role_index, role_indices
from models.embedding.student import StudentEmbedding
from models.gainsource import InputAudioError
from models.inference import StreamingMixer
from models.train.batches import draw_sequence, sequence_roles
from models.train.loop import Trainer
from tests.test_streaming import band, stream
from tests.test_train import data, tiny  # noqa: F401  (the module's tiny dataset fixture)

GAIN = GainRange(min_db=-40.0, max_db=24.0, max_step_db=1.2)
BAND = ["kick", "snare", "bass", "rhythm", "keys", "lead"]


def role_network(seed: int = 0, roles: bool = True, table_std: float = 0.0) -> ALMNet:
    """A seeded untrained network; table_std > 0 draws its role table (at init it is zero)."""
    torch.manual_seed(seed)
    model = ALMNet(StudentEmbedding(), ALMConfig(gain=GAIN, roles=roles))
    last = model.mlp[-1]
    assert isinstance(last, nn.Linear)
    nn.init.normal_(last.weight, std=0.5)  # the output depends on its input
    if table_std > 0:
        assert model.role_table is not None
        nn.init.normal_(model.role_table.weight, std=table_std)
    return model.eval()


def test_role_words_and_names() -> None:
    assert role_index(None) == role_index("") == 0 and ROLES[0] == "unknown"
    assert ROLES[role_index(" Lead ")] == "lead"
    with pytest.raises(ValueError, match="unknown channel role 'kik': use one of unknown, lead"):
        role_index("kik")
    # console names: "lead" and "solo" first, then the instrument words; nothing -> unknown
    assert [guess_role(n) for n in ("Lead flute", "Sax solo", "KICK", "Snare Top", "OH L",
                                    "BASS DI", "VOX 1", "Gtr 2", "Rhodes", "Ch 5")] == [
        "lead", "solo", "kick", "snare", "drums", "bass", "lead", "rhythm", "keys", None,
    ]  # fmt: skip


def test_a_role_network_starts_as_the_network_without_roles() -> None:
    plain = role_network(seed=1, roles=False)
    with_roles = role_network(seed=1, roles=True)
    missing, unexpected = with_roles.load_state_dict(plain.state_dict(), strict=False)
    assert missing == ["role_table.weight"] and not unexpected
    audio = torch.from_numpy(band(6, 3.0, seed=2))[None]
    with torch.no_grad():
        a = offline_gains_db(plain, audio)
        b = offline_gains_db(with_roles, audio, role_indices(BAND)[None])
    assert torch.equal(a, b)  # the table starts at zero: the roles change nothing yet


def test_streaming_with_roles_gives_the_offline_gains_and_the_roles_matter() -> None:
    model = role_network(seed=3, table_std=1.0)
    audio = band(6, 6.0, seed=7)
    runner = StreamingMixer(model, runtime="eager")
    runner.set_roles(BAND)
    assert runner.uses_roles
    gains = stream(runner, audio)
    with torch.no_grad():
        db = offline_gains_db(model, torch.from_numpy(audio)[None], role_indices(BAND)[None])
    frame = model.geometry.frame
    for h in range(gains.shape[1]):
        k = (h + 1) * 2400 // frame
        # float32 sums in another order: 1e-4 dB, a hundredth of the runtimes' 0.01 dB match
        assert np.abs(gains[:, h] - (db[:, k - 1].numpy() if k else 0.0)).max() <= 1e-4
    runner.set_roles(None)  # forgotten: every channel unknown, another mix
    unnamed = stream(runner, audio)
    assert np.abs(unnamed - gains).max() > 0.1


def test_roles_are_kept_across_resets_and_checked() -> None:
    model = role_network(seed=4, table_std=1.0)
    audio = band(6, 2.0, seed=1)
    runner = StreamingMixer(model, runtime="eager")
    runner.set_roles(BAND)
    first = stream(runner, audio)
    assert np.array_equal(stream(runner, audio), first)  # stream() resets: the roles stay
    with pytest.raises(ValueError, match="unknown channel role"):
        runner.set_roles(["kick", "drum kit", "bass", "rhythm", "keys", "lead"])
    runner.set_roles(BAND[:4])  # another band's four channels: waits for a 4-channel reset
    with pytest.raises(InputAudioError, match="4 channel roles set for 6 channels"):
        runner.reset(6, 48_000)
    runner.reset(4, 48_000)
    # set while running: the next embeddings carry it (here every channel's, at once)
    runner.set_roles(["lead", "lead", "lead", "lead"])
    assert runner._role_vec.shape == (4, model.embedding.out_dim)


def test_role_dropout_shows_some_channels_unknown_and_keeps_the_sequences(
    data: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = tiny(data)
    model = {**base.model, "roles": True}
    plain = Trainer(base, tmp_path / "a")
    named = Trainer(dataclasses.replace(base, model=model, role_dropout=0.5), tmp_path / "b")
    songs = named.train_songs
    assert all(s.roles is not None and len(s.roles) == s.n_channels for s in songs)
    seen_hidden = False
    gen = torch.Generator().manual_seed(5)
    for _ in range(4):
        seq = draw_sequence(songs, 2, 10, 5, named.geometry, gen)
        full = sequence_roles(seq)
        shown = named._sequence_roles(seq, 0.5)
        assert shown is not None and shown.shape == full.shape
        assert bool(((shown == full) | (shown == 0)).all())  # a role is kept or hidden
        seen_hidden |= bool(((shown == 0) & (full != 0)).any())
    assert seen_hidden
    assert plain._sequence_roles(seq, 0.5) is None
    # the role draws have a generator of their own: both runs take the same sequences
    plain.run()
    named.run()
    assert [s for s, _ in plain.history["train"]] == [s for s, _ in named.history["train"]]
    assert plain.gen.get_state().equal(named.gen.get_state())


def test_the_exported_runner_gives_the_torch_runners_gains_with_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    model = role_network(seed=5, table_std=1.0)
    audio = band(6, 4.0, seed=3)
    exported = StreamingMixer(model, runtime="onnx")
    exported.set_roles(BAND)
    gains = stream(exported, audio)
    assert exported.active_runtime == "onnx"
    eager = StreamingMixer(model, runtime="eager")
    eager.set_roles(BAND)
    assert np.abs(gains - stream(eager, audio)).max() <= 0.01


def test_roles_as_engineers_type_them() -> None:
    from bridge.channels import parse_roles

    names = ["Kick", "Snare", "Ch 3", "VOX", "Keys"]
    chans = [0, 1, 2, 3, 4]
    assert parse_roles("auto", chans, names) == ["kick", "snare", None, "lead", "keys"]
    assert parse_roles("none", chans, names) == [None] * 5
    assert parse_roles("3=bass,4-5=none", chans, names) == ["kick", "snare", "bass", None, None]
    # a song's own roles win over the names' guesses; its "other" says nothing
    known = ["lead", "snare", "other", "pad", "keys"]
    assert parse_roles("auto", chans, names, known) == ["lead", "snare", None, "pad", "keys"]
    with pytest.raises(ValueError, match="channel 9, which this show does not capture"):
        parse_roles("9=kick", chans, names)
    with pytest.raises(ValueError, match="unknown channel role 'kik'"):
        parse_roles("1=kik", chans, names)
    with pytest.raises(ValueError, match="use channel=role"):
        parse_roles("kick", chans, names)


def test_a_demo_tells_a_role_model_the_songs_roles(tmp_path: Path) -> None:
    from bridge.journal import read_events
    from models.checkpoint import save_model
    from tests.test_cli import ailive

    model = role_network(seed=6)
    path = save_model(model, tmp_path / "roles-net")
    out = tmp_path / "shows"
    res = ailive("demo", "--fast", "--headless", "--seconds", "2", "--gain-source", str(path),
                 "--roles", "8=solo", "--out", str(out), timeout=240)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "the model hears the channel roles: " in res.stderr
    (folder,) = out.iterdir()
    start = next(e for e in read_events(folder) if e.get("event") == "start")
    assert start["roles"][7] == "solo" and start["roles"][0] == "kick"
    bad = ailive("demo", "--fast", "--headless", "--seconds", "1", "--roles", "1=kik",
                 "--out", str(out))  # fmt: skip
    assert bad.returncode == 2
    assert "error: --roles: unknown channel role 'kik'" in bad.stderr.strip().splitlines()[-1]


def test_a_learn_recording_keeps_the_roles_the_show_told_the_model() -> None:
    from models.learn.recording import recorded_roles

    names = ["Kick", "Ch 2", "VOX"]
    assert recorded_roles(["kick", "bass", None], names) == ["kick", "bass", None]
    assert recorded_roles(["kick", "nonsense", "lead"], names) == ["kick", None, "lead"]
    # an older recording (no roles in learn.json) or a list of the wrong length: the names
    assert recorded_roles(None, names) == recorded_roles(["kick"], names) == ["kick", None, "lead"]
