"""The inference runtime of the streaming runner: the network exported to ONNX and run by ONNX
Runtime, one thread, or (when onnxruntime is missing or the export fails) torch.jit.

Chosen by measurement (benchmarks/model_hop.py, README "Speed"): for the per-hop calls of
ALM-MR, ONNX Runtime's dispatch is a fraction of torch's, so the same arithmetic takes 1.3-3x
less time. Torch stays the training framework: the export is made from the torch module at
first use and cached under $XDG_CACHE_HOME/ailive/onnx (default ~/.cache/ailive/onnx), keyed by
the sha256 of the weights, the torch version and the shapes, so a retrained checkpoint is
exported anew and a cached file is never used for other weights.

The streaming state stays outside the graphs, explicit: the GRU state is an input and an output
of the per-frame graph, the mel buffer and the embeddings are the runner's own arrays.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "jit", "eager")
"""auto: ONNX Runtime when it is installed and the export works, else torch.jit (one log line);
onnx: the same (kept apart so a caller can say what it asked for); jit: torch traced and frozen;
eager: plain torch (the reference)."""
OPSET = 17

TorchFn = Callable[..., Any]
NumpyFn = Callable[..., list[np.ndarray]]
"""A compiled graph called on numpy arrays, returning its outputs as numpy arrays."""


def cache_dir() -> Path:
    """Where exported graphs are kept: $XDG_CACHE_HOME/ailive/onnx or ~/.cache/ailive/onnx."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ailive" / "onnx"


def weights_key(module: nn.Module) -> str:
    """sha256 of the module's weights and buffers (names, shapes, values) and the torch version."""
    digest = hashlib.sha256(torch.__version__.encode())
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update((t.float() if t.dtype == torch.bfloat16 else t).numpy().tobytes())
    return digest.hexdigest()


def _export(module: nn.Module, example: tuple[torch.Tensor, ...], dynamic: dict[str, Any]) -> bytes:
    """The module as an ONNX graph (legacy TorchScript exporter: no extra dependency)."""
    names_in = [f"in{i}" for i in range(len(example))]
    with torch.no_grad():
        result = module(*example)
    n_out = len(result) if isinstance(result, tuple) else 1
    buf = io.BytesIO()
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # The fused transformer fast path has no ONNX form: export the plain ops it fuses.
    torch.backends.mha.set_fastpath_enabled(False)
    # The legacy exporter always switches its log on (it tests a function for truth) and dumps
    # the whole graph to stderr when an op has no ONNX form: the fallback says it in one line.
    onnx_log = torch._C._jit_onnx_log
    torch._C._jit_onnx_log = _quiet
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                example,
                buf,  # type: ignore[arg-type]  # a file object is accepted (the legacy exporter)
                input_names=names_in,
                output_names=[f"out{i}" for i in range(n_out)],
                dynamic_axes=dynamic or None,
                opset_version=OPSET,
                dynamo=False,
            )
    finally:
        torch._C._jit_onnx_log = onnx_log
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return buf.getvalue()


def _quiet(*args: Any) -> None:
    """Stands in for the exporter's log while exporting."""


def cached_export(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    key: str,
    dynamic: dict[str, Any] | None = None,
) -> bytes:
    """The ONNX bytes for `module` from the cache, exporting (and caching) them when missing.

    An unwritable cache is not an error: the graph is then exported on every first use.
    """
    path = cache_dir() / f"{key}.onnx"
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = _export(module, example, dynamic or {})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # atomic: another process never reads half a file
    except OSError as exc:
        log.debug("ONNX cache %s not written: %s", path, exc)
    return data


class OrtFunction:
    """An ONNX graph behind a torch-tensor call: `f(*tensors) -> tensor or tuple of tensors`.

    One intra-op thread and no spinning: the engine shares a small machine with the UI.
    """

    def __init__(self, onnx_bytes: bytes) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        # The exporter drops inputs the graph never reads (a stateless network's state): the
        # rest keep their position in their name (in0, in1, ...).
        self._inputs = [(i.name, int(i.name[2:])) for i in self._session.get_inputs()]

    def __call__(self, *args: torch.Tensor) -> Any:
        outs = [torch.from_numpy(o) for o in self.run_np(*(a.detach().numpy() for a in args))]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def run_np(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """The graph on float32 numpy arrays (no torch on the way): what the runner calls."""
        feeds = {n: np.ascontiguousarray(arrays[k]) for n, k in self._inputs}
        return list(self._session.run(None, feeds))


def numpy_callable(fn: TorchFn) -> NumpyFn:
    """`fn` (an OrtFunction, a jit or eager module) called on numpy arrays, outputs as a list of
    numpy arrays: ONNX Runtime's directly, torch's through zero-copy tensor views."""
    if isinstance(fn, OrtFunction):
        return fn.run_np

    def call(*arrays: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            out = fn(*(torch.from_numpy(a) for a in arrays))
        return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]

    return call


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def jit_compile(module: nn.Module, *example: torch.Tensor) -> TorchFn:
    """torch.jit trace + freeze (folds batch norms, drops Python overhead): ~2x per call over
    eager. TorchScript optimises a frozen module during its first calls (tens of ms each): they
    are made here, so the first live hops do not miss their deadline."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        with torch.no_grad():
            for _ in range(3):
                frozen(*example)
        return frozen


def compile_for(
    runtime: str,
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    key: str,
    dynamic: dict[str, Any] | None = None,
) -> tuple[TorchFn, str]:
    """`module` made callable by `runtime`; returns (callable, the runtime actually used).

    auto/onnx fall back to jit, with one log line, when onnxruntime is missing or the export
    or the session fails.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
    if runtime == "eager":
        return module.eval(), "eager"
    if runtime in ("auto", "onnx"):
        if not onnx_available():
            _fallback_once("onnxruntime is not installed: the model runs on torch.jit")
        else:
            try:
                fn = OrtFunction(cached_export(module, example, key, dynamic))
                for _ in range(3):  # the first calls allocate: made here, not on a live hop
                    fn(*example)
                return fn, "onnx"
            except Exception as exc:  # any exporter or runtime failure: torch still runs it
                _fallback_once(
                    f"ONNX export or session failed ({exc}): the model runs on torch.jit"
                )
    return jit_compile(module, *example), "jit"


_said: set[str] = set()


def _fallback_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.warning("%s", message[:300])
