"""Concurrent classify calls in one web process share the encoder's forward passes, and each gets
exactly what it would have got alone."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from training.batching import EmbeddingBatcher, EmbeddingTimeout
from training.encoder import stock_encoder

PROMPTS = [
    "remind me to call the dentist tomorrow morning",
    "what is the weather like in Lisbon this weekend",
    "play some quiet jazz in the kitchen",
    "summarize the notes from yesterday's planning meeting",
    "turn off the lights in the bedroom",
    "how many steps did I walk today",
    "book a table for two at eight tonight",
    "translate good morning into Portuguese",
]


def embed_concurrently(batcher, encoder, prompts):
    with ThreadPoolExecutor(len(prompts)) as pool:
        return list(pool.map(lambda prompt: batcher.embed(encoder, prompt), prompts))


class Refusing:
    """The real encoder, except that it cannot embed a prompt containing "poison" (a fault injected)."""

    name, is_stock = "refusing", False

    def embed(self, prompts):
        if any("poison" in prompt for prompt in prompts):
            raise ValueError("cannot embed this prompt")
        return stock_encoder().embed(prompts)


class Stuck:
    name, is_stock = "stuck", False

    def __init__(self):
        self.release = threading.Event()

    def embed(self, prompts):
        self.release.wait(5)
        return np.zeros((len(prompts), 384), np.float32)


def test_concurrent_prompts_share_forward_passes():
    batcher = EmbeddingBatcher(window=0.05)
    embed_concurrently(batcher, stock_encoder(), PROMPTS)
    assert batcher.embedded == len(PROMPTS)
    assert batcher.passes < len(PROMPTS)


def test_each_prompt_gets_the_vector_it_gets_alone_in_the_order_asked():
    encoder = stock_encoder()
    vectors = embed_concurrently(EmbeddingBatcher(window=0.05), encoder, PROMPTS)
    for prompt, vector in zip(PROMPTS, vectors):
        np.testing.assert_allclose(vector, encoder.embed([prompt])[0], atol=1e-5)


def test_a_prompt_that_cannot_be_embedded_fails_only_its_own_request():
    batcher = EmbeddingBatcher(window=0.05)
    prompts = [*PROMPTS[:3], "a poison prompt", *PROMPTS[3:5]]
    with ThreadPoolExecutor(len(prompts)) as pool:
        answers = [pool.submit(batcher.embed, Refusing(), prompt) for prompt in prompts]
    failed = [prompt for prompt, answer in zip(prompts, answers) if answer.exception() is not None]
    assert failed == ["a poison prompt"]
    assert all(answer.result().shape == (384,) for answer in answers if answer.exception() is None)


def test_a_request_gives_up_with_a_clear_error_when_the_encoder_does_not_answer():
    stuck = Stuck()
    batcher = EmbeddingBatcher(timeout=0.2)
    with pytest.raises(EmbeddingTimeout, match=r"did not embed the prompt within 0\.2 s"):
        batcher.embed(stuck, PROMPTS[0])
    stuck.release.set()


def test_prompts_for_different_encoders_never_share_a_pass():
    batcher, refusing = EmbeddingBatcher(window=0.05), Refusing()
    with ThreadPoolExecutor(4) as pool:
        stock = [pool.submit(batcher.embed, stock_encoder(), p) for p in PROMPTS[:2]]
        other = [pool.submit(batcher.embed, refusing, p) for p in ["a poison prompt", PROMPTS[2]]]
    assert all(answer.exception() is None for answer in stock)  # the other encoder's failure is not theirs
    assert other[0].exception() is not None and other[1].exception() is None


def embedding_threads():
    return sum(thread.name == "embedding" for thread in threading.enumerate())


def test_an_idle_embedding_thread_ends_and_the_next_prompt_starts_another():
    batcher, encoder = EmbeddingBatcher(idle=0.05), stock_encoder()
    before = embedding_threads()
    first = batcher.embed(encoder, PROMPTS[0])
    for _ in range(100):
        if embedding_threads() <= before:
            break
        time.sleep(0.05)
    assert embedding_threads() <= before  # no idle OpenMP team slows the process's training down
    second = batcher.embed(encoder, PROMPTS[0])
    assert batcher.threads == 2
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_no_prompt_is_stranded_while_embedding_threads_end_and_start():
    batcher, encoder = EmbeddingBatcher(idle=0.003, timeout=5), stock_encoder()
    vectors = []
    for k in range(32):
        time.sleep(0.002 * (k % 4))  # before, near and after the moment the thread gives up waiting
        vectors.append(batcher.embed(encoder, PROMPTS[k % len(PROMPTS)]))  # a stranded one raises EmbeddingTimeout
    assert batcher.embedded == 32 and batcher.threads > 1
    np.testing.assert_allclose(vectors[9], encoder.embed([PROMPTS[1]])[0], atol=1e-5)
