"""EfficientAT mn04: strict load of the published weights, reference vectors, 48 kHz front-end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import resample_poly

from models.embedding.frontend import CausalLogMel, EfficientATLogMel, kaldi_mel_banks
from models.embedding.mn04 import (
    MN04,
    MN04_FILE,
    MN04Embedding,
    load_mn04,
    make_divisible,
    shared_weights_dir,
)

WEIGHTS = shared_weights_dir()
needs_shared = pytest.mark.skipif(
    not (WEIGHTS / MN04_FILE).is_file(),
    reason=f"EfficientAT weights not found in {WEIGHTS} (../shared is absent)",
)


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    data = np.load(WEIGHTS / "reference.npz")
    return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def mn04() -> MN04:
    return load_mn04()


def test_make_divisible_gives_the_width_04_channel_counts() -> None:
    assert [make_divisible(c * 0.4) for c in (16, 24, 40, 80, 112, 160)] == [8, 16, 16, 32, 48, 64]
    assert make_divisible(960 * 0.4) == 384


@needs_shared
def test_module_keys_and_shapes_match_the_published_list() -> None:
    listed = {}
    for line in (WEIGHTS / "state_dict_keys.txt").read_text().splitlines():
        key, shape = line.split("\t")[:2]
        listed[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    ours = {k: tuple(v.shape) for k, v in MN04().state_dict().items()}
    assert ours == listed


@needs_shared
def test_frontend_reproduces_reference_logmel(reference: dict[str, np.ndarray]) -> None:
    with torch.no_grad():
        mel = EfficientATLogMel()(torch.from_numpy(reference["audio_32k"]))
    assert mel.shape == (3, 128, 98)
    assert np.abs(mel.numpy() - reference["logmel"]).max() < 1e-4


@needs_shared
def test_strict_load_reproduces_reference_embedding_and_logits(
    mn04: MN04, reference: dict[str, np.ndarray]
) -> None:
    with torch.no_grad():
        mel = EfficientATLogMel()(torch.from_numpy(reference["audio_32k"]))
        emb, logits = mn04(mel.unsqueeze(1))
    assert np.abs(emb.numpy() - reference["embedding"]).max() < 1e-4
    assert np.abs(logits.numpy() - reference["logits"]).max() < 1e-4
    # The README's top classes: bursts -> Music (0), tones -> Sine wave.
    labels = (WEIGHTS / "audioset_class_labels_indices.csv").read_text().splitlines()[1:]
    names = [row.split(",", 2)[2].strip('"') for row in labels]
    top = [names[int(i)] for i in torch.sigmoid(logits).argmax(dim=1)]
    assert top[1] == "Music" and top[2] == "Sine wave"


@needs_shared
def test_causal_48k_frontend_reads_like_efficientat(
    mn04: MN04, reference: dict[str, np.ndarray]
) -> None:
    """The streaming front-end at 48 kHz sees what mn04 was trained on (same audio, resampled)."""
    x48 = resample_poly(reference["audio_32k"], 3, 2, axis=1).astype(np.float32)
    # Causal frame j ends at (j+1)*480; shift by 120 samples so it is centred where frame j is.
    x48 = np.concatenate([x48[:, 120:], np.zeros((3, 600), np.float32)], axis=1)
    with torch.no_grad():
        mel = CausalLogMel()(torch.from_numpy(x48)).numpy()
    diff = mel[:, :, 3:95] - reference["logmel"][:, :, 3:95]
    assert abs(diff.mean()) < 0.01
    assert np.abs(diff).mean() < 0.03
    with torch.no_grad():
        _, logits = mn04(torch.from_numpy(mel).unsqueeze(1))
    # Same verdicts: the tone pair is still a sine wave.
    assert int(torch.sigmoid(logits)[2].argmax()) == int(np.argmax(reference["logits"][2]))


def test_mel_banks_are_triangles_within_the_band() -> None:
    banks = kaldi_mel_banks(128, 1024, 32_000, 0.0, 16_000.0)
    assert banks.shape == (128, 513)
    assert float(banks[:, -1].abs().sum()) == 0.0  # the Nyquist column is padding
    assert float(banks.max()) <= 1.0 and float(banks.min()) >= 0.0
    peaks = banks.argmax(dim=1)
    assert bool((peaks[1:] >= peaks[:-1]).all())  # centres rise with the band index


def test_mn04_embedding_reads_causal_windows() -> None:
    emb = MN04Embedding(pretrained=False).eval()
    audio = torch.randn(2, 46_800) * 0.1
    mel = emb.frontend().frames_from(audio)  # exactly 96 frames = 975 ms
    assert mel.shape == (2, 128, 96)
    with torch.no_grad():
        out = emb(mel)
    assert out.shape == (2, 384) and bool(torch.isfinite(out).all())
