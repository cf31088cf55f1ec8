"""Random-weight decoders in the layouts Hugging Face ONNX exports have, for the extension's tests.

No npm or Debian package ships a pretrained decoder as ONNX, so the tests of "Add Model" run on these: tiny
models (2 layers, d 32) whose graphs have exactly the inputs, outputs and attention pattern of what
`optimum-cli export onnx --task text-generation-with-past` writes for each family. The layouts follow
(read, not copied):
  - huggingface/optimum `optimum/exporters/onnx/model_configs.py` and `base.py` (TextDecoderWithPositionIdsOnnxConfig,
    optimum 1.2x): inputs `input_ids` [batch, seq], `attention_mask` [batch, past+seq], `position_ids` [batch, seq],
    `past_key_values.{i}.key|value` [batch, kv_heads, past, head_dim]; outputs `logits`, `present.{i}.key|value`.
  - huggingface/transformers 4.4x `models/{gpt2,llama,mistral,qwen2,qwen3,gpt_neox,phi3}/modeling_*.py`, eager
    attention: scores = (q @ kᵀ) · scale (+ mask) → Softmax, keys stored in the cache after RoPE, grouped-query
    attention by repeat_kv (query head h reads key head h // (heads / kv_heads)). Mistral (v0.1) and Phi-3 mask keys
    outside a sliding window (query i sees keys i - window < j <= i: `_update_causal_mask`'s sliding_attend_mask);
    Qwen3 normalises q and k per head (q_norm, k_norm: RMSNorm over head_dim) before RoPE, and its head_dim is not
    hidden_size / heads; Phi-3 fuses q, k, v into qkv_proj and gate, up into gate_up_proj.
Each folder also gets config.json (the keys the family's config class writes), a tokenizer.json in the Hugging Face
format (the shipped byte-level BPE, converted: GPT-2's byte-to-unicode alphabet, "a b" merges, a Split + ByteLevel
pre-tokenizer as Llama 3 and Qwen2 write it), tokenizer_config.json and generation_config.json.

    python3 hf_decoders.py --out ../test/fixtures/hf          # every family
    python3 hf_decoders.py --out DIR --families llama --external-data   # weights in model.onnx_data
    python3 hf_decoders.py --out DIR --families llama --shape 100m     # the benchmark's ~100M-parameter Llama
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

FAMILIES = ("gpt2", "llama", "qwen2", "gpt_neox", "mistral", "qwen3", "phi3")
# families whose tiny test config has a sliding window shorter than the tests' documents
SLIDING = {"mistral": 40, "phi3": 48}
MIN = torch.finfo(torch.float32).min


def byte_to_unicode():
    """GPT-2's reversible byte → printable character map (the alphabet of byte-level BPE vocabularies)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def hf_tokenizer(ours):
    """Our byte-bpe-v1 tokenizer (ids 0-255 bytes, merge r makes id 256 + r) as a Hugging Face tokenizer.json."""
    b2u = byte_to_unicode()
    token_bytes = [bytes([i]) for i in range(256)]
    merges = []
    for a, b in ours["merges"]:
        merges.append(f"{''.join(b2u[x] for x in token_bytes[a])} {''.join(b2u[x] for x in token_bytes[b])}")
        token_bytes.append(token_bytes[a] + token_bytes[b])
    vocab = {"".join(b2u[x] for x in tb): i for i, tb in enumerate(token_bytes)}
    eot = ours["eot_id"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": ours["pattern"]}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": merges},
    }


def causal_mask(attention_mask, T, P, window=None):
    """[1, 1, T, P+T]: 0 where query i (at position P+i) may see key j, the float minimum elsewhere (as transformers);
    with a sliding window, only the last `window` keys (the query's own included)."""
    n = P + T
    keys = torch.arange(n, device=attention_mask.device)[None, :]
    queries = (torch.arange(T, device=attention_mask.device) + P)[:, None]
    seen = keys <= queries
    if window:
        seen = seen & (keys > queries - window)
    allowed = seen[None, None] & (attention_mask[:, None, None, :] > 0)
    return torch.where(allowed, torch.zeros((), dtype=torch.float32), torch.full((), MIN))


def rope(position_ids, dim, base):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    freqs = position_ids[:, :, None].float() * inv[None, None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def eager(q, k, v, mask, scale, n_rep):
    """transformers' eager_attention_forward: the Softmax's input is (q @ kᵀ)·scale + mask."""
    k = repeat_kv(k, n_rep)
    v = repeat_kv(v, n_rep)
    w = torch.matmul(q, k.transpose(2, 3)) * scale + mask
    w = F.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(w, v)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class LlamaLayer(nn.Module):
    """Llama / Mistral / Qwen2 (bias on q, k, v) / Qwen3 (q_norm, k_norm) / SmolLM / Phi-3 (fused qkv_proj and
    gate_up_proj): RoPE on every dimension, grouped-query attention."""

    def __init__(self, c, bias, qk_norm=False, fused=False):
        super().__init__()
        d, H, K, hd = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.H, self.K, self.hd, self.base, self.fused = H, K, hd, c["rope_theta"], fused
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        if fused:
            self.qkv_proj = nn.Linear(d, (H + 2 * K) * hd, bias=False)
            self.gate_up_proj = nn.Linear(d, 2 * c["intermediate_size"], bias=False)
        else:
            self.q_proj = nn.Linear(d, H * hd, bias=bias)
            self.k_proj = nn.Linear(d, K * hd, bias=bias)
            self.v_proj = nn.Linear(d, K * hd, bias=bias)
        self.q_norm = RMSNorm(hd, c["rms_norm_eps"]) if qk_norm else None
        self.k_norm = RMSNorm(hd, c["rms_norm_eps"]) if qk_norm else None
        self.o_proj = nn.Linear(H * hd, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])
        if not fused:
            self.gate_proj = nn.Linear(d, c["intermediate_size"], bias=False)
            self.up_proj = nn.Linear(d, c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], d, bias=False)

    def forward(self, x, mask, position_ids, past_k, past_v):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        if self.fused:
            qkv = self.qkv_proj(h)
            q, k, v = qkv.split([self.H * self.hd, self.K * self.hd, self.K * self.hd], dim=-1)
        else:
            q, k, v = self.q_proj(h), self.k_proj(h), self.v_proj(h)
        q = q.view(b, t, self.H, self.hd)
        k = k.view(b, t, self.K, self.hd)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = v.view(b, t, self.K, self.hd).transpose(1, 2)
        cos, sin = rope(position_ids, self.hd, self.base)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        a = eager(q, k, v, mask, self.hd ** -0.5, self.H // self.K)
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, self.H * self.hd))
        h = self.post_attention_layernorm(x)
        if self.fused:
            gate, up = self.gate_up_proj(h).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(h), self.up_proj(h)
        return x + self.down_proj(F.silu(gate) * up), k, v


class Gpt2Layer(nn.Module):
    """GPT-2: fused c_attn (Conv1D: x @ W + b), learned positions, causal mask by torch.where before the Softmax."""

    def __init__(self, c):
        super().__init__()
        d, H = c["n_embd"], c["n_head"]
        self.H, self.hd = H, d // H
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask, position_ids, past_k, past_v):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.H, self.hd).transpose(1, 2) for z in (q, k, v))
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=torch.float32)
        w = torch.where(mask == 0, w, torch.full((), MIN))
        w = F.softmax(w, dim=-1)
        a = torch.matmul(w, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.c_proj(a)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")), k, v


class NeoxLayer(nn.Module):
    """GPT-NeoX / Pythia: fused query_key_value per head, rotary on the first rotary_pct of each head, parallel residual."""

    def __init__(self, c):
        super().__init__()
        d, H = c["hidden_size"], c["num_attention_heads"]
        self.H, self.hd = H, d // H
        self.rot = int(self.hd * c["rotary_pct"])
        self.base = c["rotary_emb_base"]
        self.input_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.post_attention_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.query_key_value = nn.Linear(d, 3 * d)
        self.dense = nn.Linear(d, d)
        self.dense_h_to_4h = nn.Linear(d, 4 * d)
        self.dense_4h_to_h = nn.Linear(4 * d, d)

    def forward(self, x, mask, position_ids, past_k, past_v):
        b, t, d = x.shape
        qkv = self.query_key_value(self.input_layernorm(x)).view(b, t, self.H, 3 * self.hd).transpose(1, 2)
        q, k, v = qkv.chunk(3, dim=-1)
        cos, sin = rope(position_ids, self.rot, self.base)
        q = torch.cat([q[..., : self.rot] * cos + rotate_half(q[..., : self.rot]) * sin, q[..., self.rot :]], dim=-1)
        k = torch.cat([k[..., : self.rot] * cos + rotate_half(k[..., : self.rot]) * sin, k[..., self.rot :]], dim=-1)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        a = eager(q, k, v, mask, self.hd ** -0.5, 1)
        attn = self.dense(a.transpose(1, 2).reshape(b, t, d))
        mlp = self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(self.post_attention_layernorm(x))))
        return x + attn + mlp, k, v


class Decoder(nn.Module):
    def __init__(self, family, c):
        super().__init__()
        self.family = family
        L = c.get("num_hidden_layers", c.get("n_layer"))
        d = c.get("hidden_size", c.get("n_embd"))
        self.embed = nn.Embedding(c["vocab_size"], d)
        self.wpe = nn.Embedding(c["n_positions"], d) if family == "gpt2" else None
        if family == "gpt2":
            self.layers = nn.ModuleList(Gpt2Layer(c) for _ in range(L))
            self.norm = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        elif family == "gpt_neox":
            self.layers = nn.ModuleList(NeoxLayer(c) for _ in range(L))
            self.norm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        else:
            self.layers = nn.ModuleList(LlamaLayer(c, bias=family == "qwen2", qk_norm=family == "qwen3", fused=family == "phi3") for _ in range(L))
            self.norm = RMSNorm(d, c["rms_norm_eps"])
        self.window = c.get("sliding_window")
        self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.embed.weight

    def forward(self, input_ids, attention_mask, position_ids, *past):
        T = input_ids.shape[1]
        P = past[0].shape[2]
        mask = causal_mask(attention_mask, T, P, self.window)
        x = self.embed(input_ids)
        if self.wpe is not None:
            x = x + self.wpe(position_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, mask, position_ids, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (self.lm_head(self.norm(x)), *presents)


# the benchmark's shape: a ~100M-parameter Llama (12 layers, 12 query heads sharing 4 key heads, d 768)
SHAPES = {
    "tiny": {"hidden": 32, "heads": 4, "kv": 2, "layers": 2, "inter": 64},
    "100m": {"hidden": 768, "heads": 12, "kv": 4, "layers": 12, "inter": 3072},
}


def config_for(family, vocab, eot, context, shape="tiny"):
    z = SHAPES[shape]
    common = {"vocab_size": vocab, "bos_token_id": eot, "eos_token_id": eot, "torch_dtype": "float32", "transformers_version": "4.46.0"}
    if family == "gpt2":
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 32, "n_head": 4, "n_layer": 2, "n_positions": context,
                "n_ctx": context, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", **common}
    if family == "gpt_neox":
        return {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": 32, "num_attention_heads": 4,
                "num_hidden_layers": 2, "intermediate_size": 128, "max_position_embeddings": context, "rotary_pct": 0.25,
                "rotary_emb_base": 10000, "layer_norm_eps": 1e-5, "use_parallel_residual": True, "tie_word_embeddings": False, **common}
    arch = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM", "qwen3": "Qwen3ForCausalLM",
            "phi3": "Phi3ForCausalLM"}[family]
    # Qwen3's heads are wider than hidden_size / heads (Qwen3-0.6B: 16 heads of 128 in a 1024-wide model)
    head_dim = 2 * z["hidden"] // z["heads"] if family == "qwen3" else z["hidden"] // z["heads"]
    extra = {}
    if family in SLIDING:
        extra["sliding_window"] = SLIDING[family]
    if family == "phi3":
        # Phi-3 writes its pretraining length beside max_position_embeddings (longrope models extend the latter)
        extra.update({"original_max_position_embeddings": context, "max_position_embeddings": 4 * context, "tie_word_embeddings": False})
    if family == "qwen3":
        extra.update({"attention_bias": False, "use_sliding_window": False})
    return {"architectures": [arch], "model_type": family, "hidden_size": z["hidden"], "intermediate_size": z["inter"], "num_attention_heads": z["heads"],
            "num_key_value_heads": z["kv"], "head_dim": head_dim, "num_hidden_layers": z["layers"], "max_position_embeddings": context, "rope_theta": 10000.0,
            "rms_norm_eps": 1e-6, "tie_word_embeddings": True, **common, **extra}


def kv_shape(family, c):
    if family == "gpt2":
        return c["n_head"], c["n_embd"] // c["n_head"]
    if family == "gpt_neox":
        return c["num_attention_heads"], c["hidden_size"] // c["num_attention_heads"]
    return c["num_key_value_heads"], c["head_dim"]


def export(family, out, tokenizer, external_data, seed, shape="tiny"):
    torch.manual_seed(seed)
    vocab = max(len(tokenizer["model"]["vocab"]), 1 + max(t["id"] for t in tokenizer["added_tokens"]))
    eot = tokenizer["added_tokens"][0]["id"]
    # a short training context so that the tests reach far past it; GPT-2's learned positions end there
    if shape != "tiny" and family not in ("llama", "qwen2"):
        raise SystemExit(f"--shape {shape} is for llama and qwen2")
    c = config_for(family, vocab, eot, 256 if family == "gpt2" else 64 if shape == "tiny" else 2048, shape)
    model = Decoder(family, c).eval()
    with torch.no_grad():
        # sharper than the default init, so that heads attend unevenly and the two views differ
        for name, p in model.named_parameters():
            if p.dim() == 2 and "embed" not in name:
                p.normal_(0, 0.35 if shape == "tiny" else 0.35 / math.sqrt(p.shape[1] / 32))
    L = len(model.layers)
    K, hd = kv_shape(family, c)
    T, P = 3, 2
    ids = torch.randint(0, vocab, (1, T))
    mask = torch.ones(1, P + T, dtype=torch.int64)
    pos = torch.arange(P, P + T)[None]
    past = [torch.randn(1, K, P, hd) for _ in range(2 * L)]
    past_names = [f"past_key_values.{i}.{w}" for i in range(L) for w in ("key", "value")]
    present_names = [f"present.{i}.{w}" for i in range(L) for w in ("key", "value")]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in past_names:
        axes[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in present_names:
        axes[n] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(model, (ids, mask, pos, *past), path, input_names=["input_ids", "attention_mask", "position_ids", *past_names],
                      output_names=["logits", *present_names], dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    if external_data:
        import onnx
        m = onnx.load(path)
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=1024)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer" if family == "gpt2" else "PreTrainedTokenizerFast", "add_bos_token": False,
                   "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "model_max_length": c.get("n_positions", c.get("max_position_embeddings"))}, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": eot, "eos_token_id": eot}, f, indent=2)
    print(f"{family}: {sum(p.numel() for p in model.parameters()) / 1e3:.0f}k parameters -> {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="../test/fixtures/hf")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--tokenizer", default="../models/tokenizer.json")
    ap.add_argument("--external-data", action="store_true", help="write the weights to model.onnx_data (as optimum does above 2 GB)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="tiny (the tests) or 100m (the benchmark)")
    args = ap.parse_args()
    with open(args.tokenizer) as f:
        tokenizer = hf_tokenizer(json.load(f))
    for i, family in enumerate(args.families.split(",")):
        if family not in FAMILIES:
            raise SystemExit(f"unknown family {family}: one of {', '.join(FAMILIES)}")
        export(family, os.path.join(args.out, family), tokenizer, args.external_data, args.seed + i, args.shape)


if __name__ == "__main__":
    main()
