"""Audio devices through sounddevice (PortAudio), imported lazily so file-only use needs neither."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any


class AudioBackendError(RuntimeError):
    """PortAudio is missing or no device matches."""


PORTAUDIO_HINT = (
    "PortAudio is not installed, so no audio device can be opened "
    "(on Debian/Ubuntu: sudo apt-get install libportaudio2). "
    "File playback (`ailive demo`, `ailive render`) works without it."
)


def sounddevice() -> ModuleType:
    """Import sounddevice, or raise AudioBackendError with the install hint."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the wheel loads libportaudio at import time
        raise AudioBackendError(PORTAUDIO_HINT) from exc
    return sd


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    max_inputs: int
    max_outputs: int
    default_rate: float


def list_devices() -> list[Device]:
    sd = sounddevice()
    apis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        out.append(
            Device(
                index=i,
                name=str(d["name"]),
                hostapi=str(apis[d["hostapi"]]["name"]),
                max_inputs=int(d["max_input_channels"]),
                max_outputs=int(d["max_output_channels"]),
                default_rate=float(d["default_samplerate"]),
            )
        )
    return out


def find_device(spec: str | int, *, kind: str = "input") -> Device:
    """A device by index, or by (case-insensitive) part of its name or of its host API's name
    (JACK's one device is called 'system'; `--device JACK` finds it), with `kind` channels."""
    devices = list_devices()
    want_inputs = kind == "input"
    usable = [d for d in devices if (d.max_inputs if want_inputs else d.max_outputs) > 0]
    if isinstance(spec, int) or str(spec).isdigit():
        idx = int(spec)
        for d in usable:
            if d.index == idx:
                return d
        raise AudioBackendError(f"no {kind} device with index {idx}; see `ailive devices`")
    needle = str(spec).lower()
    matches = [d for d in usable if needle in d.name.lower()]
    if not matches:
        matches = [d for d in usable if needle in d.hostapi.lower()]
    if not matches:
        names = ", ".join(repr(d.name) for d in usable) or "none"
        raise AudioBackendError(f"no {kind} device matches {spec!r}; {kind} devices: {names}")
    if len(matches) > 1:
        exact = [d for d in matches if d.name.lower() == str(spec).lower()]
        if len(exact) == 1:
            return exact[0]
        names = ", ".join(f"{d.index}: {d.name!r}" for d in matches)
        raise AudioBackendError(f"{spec!r} matches several {kind} devices ({names}); use an index")
    return matches[0]


def describe(devices: list[Device]) -> str:
    if not devices:
        return "No audio devices found (no sound card, and no JACK server running)."
    lines = [f"{'idx':>3}  {'in':>3}  {'out':>3}  {'rate':>6}  {'api':<12} name"]
    for d in devices:
        lines.append(
            f"{d.index:>3}  {d.max_inputs:>3}  {d.max_outputs:>3}  {d.default_rate:>6.0f}  "
            f"{d.hostapi:<12} {d.name}"
        )
    return "\n".join(lines)


def as_dict(d: Device) -> dict[str, Any]:
    return d.__dict__.copy()
