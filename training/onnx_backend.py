"""An encoder run by ONNX Runtime instead of torch (SECONDMIND_ENCODER_BACKEND=onnx): the same weights,
exported in memory when the encoder is loaded, so there is no second model file to trust beside the
hash-checked weights; the same vectors as torch (cosine 1.000 on HWU64's test set); a shorter call on a
CPU (`manage.py benchmark_backends`). Training and fine-tuning stay on torch."""

import io
import threading
import warnings

import numpy as np
import onnxruntime
import torch

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class _Pooled(torch.nn.Module):
    """The transformer, then the mean of its real tokens, at unit length: the whole sentence model."""

    def __init__(self, transformer):
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)


def exported(model) -> bytes:
    """`model` (a SentenceTransformer of the stock architecture) as an ONNX graph."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"] or modules[1].get_config_dict()["pooling_mode"] != "mean":
        raise ValueError("Only a transformer with mean pooling and normalisation can run on ONNX Runtime.")
    example = model.tokenizer(["an example", "another one"], padding=True, return_tensors="pt")
    graph = io.BytesIO()
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes; the graph keeps them dynamic
        torch.onnx.export(
            _Pooled(modules[0].auto_model).eval(),
            tuple(example[name] for name in INPUTS),
            graph,
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes={**dynamic, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return graph.getvalue()


class OnnxRunner:
    """Embeds texts with ONNX Runtime on the CPU, as many threads as torch was given in this process."""

    def __init__(self, model):
        self.tokenizer, self.max_length = model.tokenizer, model.max_seq_length
        self._tokenizing = threading.Lock()  # a fast tokenizer is not safe to call from two threads at once
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(exported(model), options, providers=["CPUExecutionProvider"])

    def embed(self, texts, batch_size) -> np.ndarray:
        return np.concatenate([self._batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])

    def _batch(self, texts):
        with self._tokenizing:
            tokens = self.tokenizer(
                list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
        return self.session.run(None, {name: tokens[name].astype(np.int64) for name in INPUTS})[0]
