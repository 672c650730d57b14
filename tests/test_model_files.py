"""Model files are checked against their recorded hash and loaded without arbitrary pickle."""

import pytest

from training.batching import EmbeddingBatcher
from training.detector import IntentDetector
from training.promotion import promote_by_hand
from training.registry import ModelFileError, load_heads


def test_a_tampered_heads_file_is_refused_with_a_clear_error(trained, media_root):
    path = media_root / trained.heads_file.name
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ModelFileError, match=f"model v{trained.number}.*does not match its recorded sha256"):
        load_heads(trained)


def test_the_api_answers_503_when_the_active_file_was_tampered(api, trained, media_root):
    path = media_root / trained.heads_file.name
    path.write_bytes(b"\x00" + path.read_bytes())
    response = api.post("/classify", {"prompt": "Find my notes about the migration"})
    assert response.status_code == 503
    assert "sha256" in response.json()["detail"]


def test_a_missing_heads_file_is_a_clear_error(trained, media_root):
    (media_root / trained.heads_file.name).unlink()
    with pytest.raises(ModelFileError, match="is missing"):
        IntentDetector(EmbeddingBatcher()).predict("Find my notes about the migration", unknown_below=0.4)


def test_a_file_holding_code_is_not_executed(trained, media_root):
    import hashlib
    import pickle

    class Exploit:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    payload = pickle.dumps(Exploit())
    path = media_root / trained.heads_file.name
    path.write_bytes(payload)
    trained.sha256 = hashlib.sha256(payload).hexdigest()  # even with a matching hash
    with pytest.raises(Exception) as error:
        load_heads(trained)
    assert not isinstance(error.value, SystemExit)


def test_a_tampered_blind_file_is_refused_and_blocks_a_hand_promotion(trained, staff, media_root):
    path = media_root / trained.blind_heads_file.name
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ModelFileError, match="does not match its recorded sha256"):
        load_heads(trained, blind=True)
    with pytest.raises(ModelFileError):
        promote_by_hand(trained, staff, "roll back to it")
