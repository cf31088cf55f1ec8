"""A small decoder-only transformer with RoPE and an explicit, swappable attention normaliser.

Read top to bottom in one sitting (after nanoGPT's model.py). The only unusual part is `Attention.scale`:
  softmax variant: scores are used as they are, softmax(z)
  ssmax variant:   scores are multiplied by s * ln(n), softmax(s ln n z) (Nakanishi 2025, arXiv 2501.19399),
                   with s learned per layer and head and n = the number of keys the query sees (position + 1).
The same module also runs in "streaming" form for export: new tokens attend to a cache of past keys/values,
and it can report, per query and head, the max weight and entropy under the model's own normaliser and under
the other one (calibrated to agree at the training length), which the extension draws as focus-vs-length.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

MASKED = -1e9  # finite, so that p * log p is 0 (not NaN) for masked keys


@dataclass
class Config:
    vocab_size: int = 4096
    context: int = 512  # training context length, N_train
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    mlp_ratio: int = 4
    rope_base: float = 10000.0
    normaliser: str = "softmax"  # or "ssmax"

    @property
    def head_dim(self):
        return self.d_model // self.n_heads

    def to_dict(self):
        return asdict(self)


def rope_tables(positions, head_dim, base):
    """cos/sin tables [T, head_dim] for absolute positions (float tensor [T])."""
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    ang = positions[:, None].float() * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        if cfg.normaliser == "ssmax":
            # s starts at 1/ln(N_train): identical to softmax at the training length. Creating it does not draw
            # from the RNG, so both variants get the same initial weights for everything else.
            self.s = nn.Parameter(torch.full((cfg.n_heads,), 1.0 / math.log(cfg.context)))

    def scales(self, n):
        """(own, other) multipliers of the scores, each [H, T, 1], for key counts n [T] (float)."""
        H = self.cfg.n_heads
        log_n = torch.log(n)[None, :, None]
        log_train = math.log(self.cfg.context)
        if self.cfg.normaliser == "ssmax":
            s = self.s[:, None, None]
            return s * log_n, s * log_train
        own = torch.ones(H, n.shape[0], 1)
        return own, log_n.expand(H, -1, -1) / log_train

    def forward(self, x, cos, sin, past_k=None, past_v=None, want_stats=False):
        B, T, C = x.shape
        H, D = self.cfg.n_heads, self.cfg.head_dim
        q, k, v = self.qkv(x).split(C, dim=2)
        q = apply_rope(q.view(B, T, H, D).transpose(1, 2), cos, sin)  # [B, H, T, D]
        k = apply_rope(k.view(B, T, H, D).transpose(1, 2), cos, sin)
        v = v.view(B, T, H, D).transpose(1, 2)
        k_all = k if past_k is None else torch.cat([past_k, k], dim=2)
        v_all = v if past_v is None else torch.cat([past_v, v], dim=2)
        P = k_all.shape[2] - T
        z = (q @ k_all.transpose(-2, -1)) / math.sqrt(D)  # [B, H, T, P+T]
        q_pos = torch.arange(T)[:, None] + P
        k_pos = torch.arange(k_all.shape[2])[None, :]
        visible = k_pos <= q_pos  # causal
        n = (q_pos[:, 0] + 1).float()  # keys seen by each query
        own, other = self.scales(n)
        logits = (z * own).masked_fill(~visible, MASKED)
        att = F.softmax(logits, dim=-1)
        if getattr(self, "record", False):  # the exporter keeps the model's own probabilities as test references
            self.last_att = att.detach()
        y = (att @ v_all).transpose(1, 2).contiguous().view(B, T, C)
        stats = None
        if want_stats:
            stats = torch.stack(
                [*focus(logits), *focus((z * other).masked_fill(~visible, MASKED))], dim=-1)  # [B, H, T, 4]
        return self.proj(y), q, k, v, stats


def focus(logits):
    """Max weight and entropy (nats) of softmax(logits) along the last axis, computed stably."""
    logp = F.log_softmax(logits, dim=-1)
    p = logp.exp()
    return p.max(dim=-1).values, -(p * logp).sum(dim=-1)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.mlp_ratio * cfg.d_model), nn.GELU(),
                                 nn.Linear(cfg.mlp_ratio * cfg.d_model, cfg.d_model))

    def forward(self, x, cos, sin, past_k=None, past_v=None, want_stats=False):
        a, q, k, v, stats = self.attn(self.ln1(x), cos, sin, past_k, past_v, want_stats)
        x = x + a
        x = x + self.mlp(self.ln2(x))
        return x, q, k, v, stats


class GPT(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids, targets=None, offset=0, rope_scale=1.0):
        """Training/evaluation forward: ids [B, T] -> logits [B, T, V] (and mean loss if targets)."""
        T = ids.shape[1]
        pos = (torch.arange(T) + offset).float() / rope_scale
        cos, sin = rope_tables(pos, self.cfg.head_dim, self.cfg.rope_base)
        x = self.embed(ids)
        for blk in self.blocks:
            x, *_ = blk(x, cos, sin)
        logits = self.ln_f(x) @ self.embed.weight.T  # tied embeddings
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def s_values(self):
        if self.cfg.normaliser != "ssmax":
            return None
        return [blk.attn.s.detach().tolist() for blk in self.blocks]


class StreamingGPT(nn.Module):
    """The graph the extension runs: a chunk of new tokens against a cache of past keys/values (batch 1).

    inputs:  input_ids [1, T] int64; past_k_l, past_v_l [P, H, D] for each layer l (P may be 0)
    outputs: logits [T, V]; q_l, k_l, v_l [T, H, D] (q and k after RoPE; k_l/v_l are this chunk's cache rows);
             stats_l [T, H, 4] = own max weight, own entropy, other max weight, other entropy.
    Position-major, so that the cache of the first P tokens is one contiguous prefix of the caller's buffers (no
    copy per chunk). The absolute position of the chunk's first token is P, read from the cache length.
    """

    def __init__(self, model: GPT):
        super().__init__()
        self.m = model

    def forward(self, input_ids, *past):
        cfg = self.m.cfg
        T = input_ids.shape[1]
        P = past[0].shape[0]
        pos = torch.arange(T).float() + P
        cos, sin = rope_tables(pos, cfg.head_dim, cfg.rope_base)
        x = self.m.embed(input_ids)
        outs_q, outs_k, outs_v, outs_s = [], [], [], []
        for l, blk in enumerate(self.m.blocks):
            pk, pv = past[2 * l].transpose(0, 1)[None], past[2 * l + 1].transpose(0, 1)[None]
            x, q, k, v, stats = blk(x, cos, sin, pk, pv, want_stats=True)
            outs_q.append(q[0].transpose(0, 1)); outs_k.append(k[0].transpose(0, 1))
            outs_v.append(v[0].transpose(0, 1)); outs_s.append(stats[0].transpose(0, 1))
        logits = (self.m.ln_f(x) @ self.m.embed.weight.T)[0]
        out = [logits]
        for l in range(cfg.n_layers):
            out += [outs_q[l], outs_k[l], outs_v[l], outs_s[l]]
        return tuple(out)


def load_checkpoint(path):
    """A checkpoint written by train.py -> (checkpoint dict, Config, GPT in eval mode)."""
    ckpt = torch.load(path, map_location="cpu")
    cfg = Config(**ckpt["config"])
    model = GPT(cfg)
    model.load_state_dict(ckpt["state"])
    model.eval()
    return ckpt, cfg, model


def steps_seen(ckpt) -> int:
    """Steps the checkpoint's weights have trained in all: a run continued from earlier weights (or a fine-tune)
    starts its batch stream and its count at --step-offset."""
    return ckpt["step"] + ckpt["args"].get("step_offset", 0)


def retrofit(model: GPT) -> GPT:
    """The paper's retrofit: a softmax-trained model's weights run with SSMax, s = 1/ln N_train for every head.

    No training: at n = N_train the scale s·ln n is 1, so the retrofit equals the softmax model there, and beyond it
    the scores are sharpened by ln n / ln N_train (the SSMax view the extension shows for a softmax model)."""
    assert model.cfg.normaliser == "softmax", "retrofit starts from a softmax-trained model"
    cfg = Config(**{**model.cfg.to_dict(), "normaliser": "ssmax"})
    out = GPT(cfg)
    missing, unexpected = out.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.endswith(".attn.s") for k in missing), (missing, unexpected)
    out.eval()
    return out
