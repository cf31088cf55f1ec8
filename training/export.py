"""Stage 5: export a trained variant to ONNX for the extension, with a manifest and test references.

Writes into models/ (shipped with the extension):
  <id>.onnx          the streaming graph (see model.StreamingGPT); weights stored as fp16 behind Cast nodes
  <id>.json          manifest: architecture, training context, normaliser, learned s per head, tokenizer, provenance,
                     a one-line summary and the counterpart it is compared with by default
  catalogue.json     the shipped models in the order pickers list them
  tokenizer.json     the tokenizer the model was trained with
Models (ids): ssmax and softmax (the trained pair), retrofit (the softmax weights run with SSMax, s = 1/ln N, no
training: model.retrofit) and, when asked for, retrofit-ft (runs/retrofit-ft.pt: the retrofit after a short fine-tune).
and into test/fixtures/ (used by `npm test`, not shipped):
  <variant>.reference.json  float64 torch references on a fixed document: token ids, logits at some positions,
                            the model's own attention probabilities for some (layer, head, query) rows, focus stats
  tokenizer-parity.json     texts and their ids from the Python tokenizer (code, prose, CRLF, tabs, emoji, CJK, ...)
"""
import argparse
import datetime
import json
import math
import os
import shutil

import numpy as np
import torch

from model import GPT, Config, StreamingGPT, load_checkpoint, retrofit, steps_seen
from tokenizer import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FP16_MIN_ELEMENTS = 1024

PARITY_TEXTS = {
    "python": "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "typescript": "export async function load<T>(uri: string): Promise<T | undefined> {\n\tconst res = await fetch(uri);\n\treturn res.ok ? (await res.json()) as T : undefined; // 200..299\n}\n",
    "prose": "It's a truth universally acknowledged that attention fades; we'll see. They're 12345 tokens long, aren't they?",
    "crlf": "line one\r\nline two\r\n\r\n  indented\r\n",
    "mixed_line_ends": "a\nb\r\nc\rd\n\n",
    "tabs": "\tcol1\tcol2\n\t\tnested\t \t\n",
    "emoji": "done ✅ 🎉🎉 family 👨‍👩‍👧 flag 🇫🇷 ok",
    "cjk": "注意力机制 は長い文脈で 薄れる 주의 집중",
    "combining": "e\u0301te\u0301 Z\u0351\u036ba\u0350l\u0313g\u0300o n\u0303",
    "rtl": "שלום עולם مرحبا بالعالم",
    "whitespace_runs": "x   =    1\n\n\n\n    \n   y",
    "digits_and_punct": "0xFF_FF 3.14159e-10 !== ... ->> ::<>{}[]()",
    "empty": "",
}


def fp16_weights(path):
    """Store large float initializers as fp16 with a Cast back to fp32 in front of their users."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(path)
    g = m.graph
    new_inits, casts = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= FP16_MIN_ELEMENTS:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            new_inits.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "_cast"))
        else:
            new_inits.append(init)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def write_rows_graph(path):
    """models/rows.onnx: no weights, any model. One layer's rows for every head under two score multipliers:
    scores[n, H] = keys[n, H*D] @ q_blockdiag[H*D, H] (q already divided by sqrt(D)), transposed, then
    softmax(c_softmax * z) and softmax(c_ssmax * z) per head. The extension feeds its stored keys as they are.
    Also each row's max weight and entropy, [H] per view: computed here (vectorised, on the session's threads) they
    cost a fraction of a millisecond at 32k keys, where a scalar JavaScript loop with a log per key took ~5 ms."""
    import onnx
    from onnx import helper, TensorProto
    vi = helper.make_tensor_value_info
    inputs = [vi("keys", TensorProto.FLOAT, ["n", "HD"]), vi("q_blockdiag", TensorProto.FLOAT, ["HD", "H"]),
              vi("c_softmax", TensorProto.FLOAT, ["H", 1]), vi("c_ssmax", TensorProto.FLOAT, ["H", 1])]
    outputs = [vi("softmax", TensorProto.FLOAT, ["H", "n"]), vi("ssmax", TensorProto.FLOAT, ["H", "n"])]
    for view in ("softmax", "ssmax"):
        outputs += [vi(f"{view}_max", TensorProto.FLOAT, ["H"]), vi(f"{view}_entropy", TensorProto.FLOAT, ["H"])]
    nodes = [helper.make_node("MatMul", ["keys", "q_blockdiag"], ["s_nh"]),
             helper.make_node("Transpose", ["s_nh"], ["z"], perm=[1, 0]),
             helper.make_node("Mul", ["z", "c_softmax"], ["z1"]),
             helper.make_node("Softmax", ["z1"], ["softmax"], axis=-1),
             helper.make_node("Mul", ["z", "c_ssmax"], ["z2"]),
             helper.make_node("Softmax", ["z2"], ["ssmax"], axis=-1)]
    for view, z in (("softmax", "z1"), ("ssmax", "z2")):
        # entropy = -sum p log p with log p from LogSoftmax (finite where p underflows to 0, so 0 * log p = 0)
        nodes += [helper.make_node("ReduceMax", [view], [f"{view}_max"], axes=[-1], keepdims=0),
                  helper.make_node("LogSoftmax", [z], [f"{view}_logp"], axis=-1),
                  helper.make_node("Mul", [view, f"{view}_logp"], [f"{view}_plogp"]),
                  helper.make_node("ReduceSum", [f"{view}_plogp", "last_axis"], [f"{view}_negentropy"], keepdims=0),
                  helper.make_node("Neg", [f"{view}_negentropy"], [f"{view}_entropy"])]
    last_axis = helper.make_tensor("last_axis", TensorProto.INT64, [1], [-1])
    m = helper.make_model(helper.make_graph(nodes, "attention_rows", inputs, outputs, initializer=[last_axis]),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def focus_nodes(view, z, p, z_max, keepdims, z_scale=None):
    """Nodes giving {view}_max and {view}_entropy of p = softmax(z) over the last axis (masked keys far below the
    rest), from max p, max z and Σ p·z: lse = max z − ln(max p), entropy = lse − Σ p·z, without materialising log p.
    With z_scale = r, p = softmax(r·z) for the z given (z_max is then max r·z): Σ p·(r·z) = r·Σ p·z, so r·z need not
    outlive its Softmax. Each of the graphs below takes its statistics from these; keepdims=1 keeps the reduced axis."""
    from onnx import helper
    mean_z = f"{view}_mean_z"
    nodes = [helper.make_node("ReduceMax", [p], [f"{view}_max"], axes=[-1], keepdims=keepdims),
             helper.make_node("Mul", [p, z], [f"{view}_pz"]),
             helper.make_node("ReduceSum", [f"{view}_pz", "last_axis"], [mean_z], keepdims=keepdims)]
    if z_scale is not None:
        nodes.append(helper.make_node("Mul", [mean_z, z_scale], [f"{view}_mean_rz"]))
        mean_z = f"{view}_mean_rz"
    return nodes + [helper.make_node("Log", [f"{view}_max"], [f"{view}_log_pmax"]),
                    helper.make_node("Sub", [z_max, f"{view}_log_pmax"], [f"{view}_lse"]),
                    helper.make_node("Sub", [f"{view}_lse", mean_z], [f"{view}_ent_raw"]),
                    helper.make_node("Relu", [f"{view}_ent_raw"], [f"{view}_entropy"])]  # rounding: a hair below 0


def write_stats_graph(path):
    """models/stats.onnx: no weights, any model. Focus statistics of every query of a chunk from the attention scores
    a Hugging Face export's Softmax takes (z [H, T, W], masked keys at the float minimum), under the model's own view
    (softmax(z)) and the length-scaled what-if (softmax(c z), c [T] per query): max weight and entropy, [H, T] each. In
    JavaScript this was the slowest part of analysing such a model (a ~100M Llama spent most of 57 s at 4k tokens in
    it); here it runs on the session's threads, with as few passes over the scores as export_lean makes: masked keys
    clamped to -1e30 by one Max (so that c·z stays finite and p·z is 0 for them, not 0·inf = NaN), then per view one
    Softmax, its max, Σ p·z and max z (lse = max z − ln max p). c is kept ≥ 1e-6, so the clamped keys stay masked
    under the what-if too (c = ln n / ln N is 0 at n = 1, where the one key seen gets weight 1 whatever its score)."""
    import onnx
    from onnx import helper, TensorProto
    vi = helper.make_tensor_value_info
    inputs = [vi("z", TensorProto.FLOAT, ["H", "T", "W"]), vi("c_other", TensorProto.FLOAT, ["T"])]
    outputs = [vi(n, TensorProto.FLOAT, ["H", "T"]) for n in ("own_max", "own_entropy", "other_max", "other_entropy")]
    nodes = [helper.make_node("Max", ["z", "floor"], ["z_own"]),
             helper.make_node("Max", ["c_other", "tiny"], ["c_pos"]),
             helper.make_node("Unsqueeze", ["c_pos", "last_axis"], ["c_col"]),
             helper.make_node("Mul", ["z_own", "c_col"], ["z_other"])]
    for view, zv in (("own", "z_own"), ("other", "z_other")):
        nodes += [helper.make_node("Softmax", [zv], [f"{view}_p"], axis=-1),
                  helper.make_node("ReduceMax", [zv], [f"{view}_zmax"], axes=[-1], keepdims=0)]
        nodes += focus_nodes(view, zv, f"{view}_p", f"{view}_zmax", keepdims=0)
    init = [helper.make_tensor("last_axis", TensorProto.INT64, [1], [-1]), helper.make_tensor("floor", TensorProto.FLOAT, [], [-1e30]),
            helper.make_tensor("tiny", TensorProto.FLOAT, [], [1e-6])]
    m = helper.make_model(helper.make_graph(nodes, "attention_stats", inputs, outputs, initializer=init),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def write_whatif_graph(path):
    """models/whatif.onnx: no weights, our own softmax-trained models. The what-if view's focus statistics of one
    chunk when its length-scaling law is not the SSMax one the model's graph computes: from the stored post-RoPE
    queries q [T, H, D] of the chunk and keys k [W, H, D] of every position so far (position-major, as the
    extension keeps them, fed without a copy), scores c_t·(q_t·k_j) for keys j <= start + t, then the max weight and
    entropy of their softmax, [H, T] each. c [T] is the law's multiplier times the score scale 1/sqrt(D). As in
    export_lean: c is folded into the queries, the keys' transpose into the MatMul, the causal mask is one [T, W]
    bias, and the statistics come from one Softmax, max p, max z and Σ p·z."""
    import onnx
    from onnx import helper, TensorProto
    vi = helper.make_tensor_value_info
    inputs = [vi("q", TensorProto.FLOAT, ["T", "H", "D"]), vi("k", TensorProto.FLOAT, ["W", "H", "D"]),
              vi("c", TensorProto.FLOAT, ["T"]), vi("start", TensorProto.INT64, [])]
    outputs = [vi(n, TensorProto.FLOAT, ["H", "T"]) for n in ("other_max", "other_entropy")]
    nodes = [helper.make_node("Transpose", ["q"], ["q_h"], perm=[1, 0, 2]),                 # [H, T, D]
             helper.make_node("Unsqueeze", ["c", "last_axis"], ["c_col"]),
             helper.make_node("Mul", ["q_h", "c_col"], ["qc"]),
             helper.make_node("Transpose", ["k"], ["k_h"], perm=[1, 0, 2]),                 # folds into the MatMul
             helper.make_node("FusedMatMul", ["qc", "k_h"], ["qk"], domain="com.microsoft", transB=1),  # [H, T, W]
             # causal mask, built once per chunk: key j is seen by the query at start + t when j <= start + t
             helper.make_node("Shape", ["k"], ["k_shape"]),
             helper.make_node("Gather", ["k_shape", "zero"], ["W"], axis=0),
             helper.make_node("Range", ["zero", "W", "one"], ["key_pos"]),
             helper.make_node("Shape", ["q"], ["q_shape"]),
             helper.make_node("Gather", ["q_shape", "zero"], ["T"], axis=0),
             helper.make_node("Add", ["start", "T"], ["end"]),
             helper.make_node("Range", ["start", "end", "one"], ["query_pos"]),
             helper.make_node("Unsqueeze", ["query_pos", "last_axis"], ["query_col"]),
             helper.make_node("LessOrEqual", ["key_pos", "query_col"], ["valid"]),  # [T, W]
             helper.make_node("Where", ["valid", "unmasked", "floor"], ["bias"]),
             helper.make_node("Add", ["qk", "bias"], ["z"]),
             helper.make_node("Softmax", ["z"], ["p"], axis=-1),
             helper.make_node("ReduceMax", ["z"], ["z_max"], axes=[-1], keepdims=0)]
    nodes += focus_nodes("other", "z", "p", "z_max", keepdims=0)
    init = [helper.make_tensor("last_axis", TensorProto.INT64, [1], [-1]), helper.make_tensor("floor", TensorProto.FLOAT, [], [-1e30]),
            helper.make_tensor("unmasked", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("zero", TensorProto.INT64, [], [0]), helper.make_tensor("one", TensorProto.INT64, [], [1])]
    m = helper.make_model(helper.make_graph(nodes, "whatif_stats", inputs, outputs, initializer=init),
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, path)


def export_lean(model, cfg, path):
    """The streaming graph (model.StreamingGPT's contract: same inputs, outputs and layout), written node by node so
    that each layer's attention makes few passes over its [H, T, W] scores (W = P + T keys) and holds few of them at
    once. Per layer:
      z = [(c_own·q) K_pastᵀ, (c_own·q) k_chunkᵀ + causal bias]   the past keys are read where they lie ([P, H, D]
                                       taken as [H, P, D] by FusedMatMul's transBatchB), never copied; only the
                                       [T, T] block is masked
      p = Softmax(z); y = p_past V_past + p_own v   the past values likewise read in place, never joined
      own view:   max weight = max p; entropy = lse − Σ p·z, lse = max z − ln(max p)
      other view: p' = Softmax(r·z) with r = c_other / c_own > 0 per query (so the mask survives it); entropy from
                  r·Σ p'·z, so r·z dies with its Softmax
    i.e. over the scores: 1 Concat, 1 Slice (p's past part, for p·V; the own part is [T, T]), 2 Softmax, 3 Mul,
    3 ReduceMax, 2 ReduceSum, at most 3 score tensors alive (the next layer waits for this one's statistics), against
    ~17 passes, ~10 live score tensors and transposed copies of every past key and value in the torch export. Initializers keep the torch parameter names ("m." +
    state-dict key), so from_onnx.py reads either graph back. `npm run bench` compares this graph with the torch
    export in one run; training/smoke.sh checks they agree."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    H, D, C, L = cfg.n_heads, cfg.head_dim, cfg.d_model, cfg.n_layers
    F = TensorProto.FLOAT
    inits, nodes = [], []
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}

    def init(name, arr, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    def param(key):
        return init("m." + key, state[key])

    def node(op, ins, out=None, domain=None, **attrs):
        out = out or f"t{len(nodes)}"
        nodes.append(helper.make_node(op, ins, [out], name=f"n{len(nodes)}_{op}", domain=domain, **attrs))
        return out

    i64 = lambda name, vals: init(name, np.array(vals, dtype=np.int64), np.int64)
    f32 = lambda name, v: init(name, np.array(v, dtype=np.float32))
    ax_last, ax0, ax1 = i64("last_axis", [-1]), i64("ax0", [0]), i64("ax1", [1])
    zero, one = init("zero", np.array(0, dtype=np.int64), np.int64), init("one", np.array(1, dtype=np.int64), np.int64)
    shape_thd, shape_tc = i64("shape_thd", [-1, H, D]), i64("shape_tc", [-1, C])
    half_lo, half_hi, half_end = i64("half_lo", [0]), i64("half_hi", [D // 2]), i64("half_end", [D])
    inv_freq = 1.0 / (cfg.rope_base ** (np.arange(0, D, 2, dtype=np.float32) / D))
    f32("inv_freq", inv_freq[None, :])
    for name, value in (("masked", -1e30), ("unmasked", 0.0), ("one_f", 1.0), ("half", 0.5), ("tiny", 1e-6),
                        ("inv_sqrt_d", 1 / math.sqrt(D)), ("sqrt_half", 1 / math.sqrt(2))):
        f32(name, value)
    if cfg.normaliser == "ssmax":
        f32("log_train", math.log(cfg.context))
    else:
        f32("inv_log_train", 1 / math.log(cfg.context))

    # positions, RoPE tables, key counts and the causal bias: once per chunk
    T = node("Gather", [node("Shape", ["input_ids"]), one], axis=0)
    P = node("Gather", [node("Shape", ["past_k_0"]), zero], axis=0)
    W = node("Add", [P, T])
    pos_i = node("Range", [P, W, one])                              # [T] absolute positions
    pos = node("Cast", [pos_i], to=F)
    ang = node("Mul", [node("Unsqueeze", [pos, ax_last]), "inv_freq"])  # [T, D/2]
    ang = node("Unsqueeze", [node("Concat", [ang, ang], axis=-1), ax1])  # [T, 1, D]
    cos, sin = node("Cos", [ang]), node("Sin", [ang])
    # ln n with n = pos + 1 keys seen, kept > 0 so that the own multiplier of an SSMax model (s·ln n, 0 at n = 1)
    # can divide; at n = 1 the single key gets weight 1 whatever its score
    log_n = node("Max", [node("Log", [node("Add", [pos, "one_f"])]), "tiny"])
    chunk_j = node("Range", [zero, T, one])  # the chunk's own keys: query t sees key P + j for j <= t
    bias = node("Where", [node("LessOrEqual", [chunk_j, node("Unsqueeze", [chunk_j, ax_last])]), "unmasked", "masked"])
    log_n_col = node("Unsqueeze", [log_n, ax_last])                 # [T, 1]

    def rope(x):  # x [T, H, D]
        lo = node("Slice", [x, half_lo, half_hi, ax_last])
        hi = node("Slice", [x, half_hi, half_end, ax_last])
        rotated = node("Concat", [node("Neg", [hi]), lo], axis=-1)
        return node("Add", [node("Mul", [x, cos]), node("Mul", [rotated, sin])])

    def focus(view, p, z, z_max, z_scale=None):
        """max weight and entropy [H, T, 1] of p = softmax(z) (focus_nodes, named per layer and view)."""
        nodes.extend(focus_nodes(view, z, p, z_max, keepdims=1, z_scale=z_scale))
        return f"{view}_max", f"{view}_entropy"

    no_past = node("Equal", [P, zero])
    P_1d, W_1d = node("Unsqueeze", [P, ax0]), node("Unsqueeze", [W, ax0])

    def branch(name, branch_nodes, out):
        return helper.make_graph(branch_nodes, name, [], [helper.make_tensor_value_info(out, F, None)])

    def unless_past(out, alone, joined):
        """out = alone (the first chunk: no past keys) or joined, one If on the chunk's P."""
        nodes.append(helper.make_node("If", [no_past], [out], name=f"n{len(nodes)}_If", then_branch=alone, else_branch=joined))
        return out

    def joined_scores(l, qc, z_own):
        """[scores against the past keys, z_own] along the keys; z_own alone for the first chunk, where a MatMul
        with no past keys (an empty [H, 0, D]) would stop onnxruntime 1.30 with a floating point exception. The past
        keys [P, H, D] are read where they lie: transBatchB takes them as [H, P, D], transB as [H, D, P]."""
        zp, zj = f"z_past_{l}", f"z_joined_{l}"
        joined = branch(f"with_past_{l}", [
            helper.make_node("FusedMatMul", [qc, f"past_k_{l}"], [zp], domain="com.microsoft", transB=1, transBatchB=1),
            helper.make_node("Concat", [zp, z_own], [zj], axis=-1)], zj)
        alone = branch(f"first_chunk_{l}", [helper.make_node("Identity", [z_own], [f"z_alone_{l}"])], f"z_alone_{l}")
        return unless_past(f"z_{l}", alone, joined)

    def weighted_values(l, p, v_h):
        """y = p V [H, T, D] with V the past values where they lie ([P, H, D], read as [H, P, D]) and the chunk's:
        p's past part times the past values plus its own part times the chunk's, so the values are never joined or
        transposed (two copies of every past value per layer and chunk, the largest tensors past 64k tokens)."""
        pp, po, yp, yo, y = (f"{n}_{l}" for n in ("p_past", "p_own", "y_past", "y_own", "y_joined"))
        joined = branch(f"values_with_past_{l}", [
            helper.make_node("Slice", [p, "ax0", P_1d, "last_axis"], [pp]),
            helper.make_node("Slice", [p, P_1d, W_1d, "last_axis"], [po]),
            helper.make_node("FusedMatMul", [pp, f"past_v_{l}"], [yp], domain="com.microsoft", transBatchB=1),
            helper.make_node("MatMul", [po, v_h], [yo]),
            helper.make_node("Add", [yp, yo], [y])], y)
        alone = branch(f"values_first_chunk_{l}", [helper.make_node("MatMul", [p, v_h], [f"y_alone_{l}"])], f"y_alone_{l}")
        return unless_past(f"y_{l}", alone, joined)

    x = node("Squeeze", [node("Gather", [param("embed.weight"), "input_ids"], axis=0), ax0])  # [T, C]
    outputs = ["logits"]
    for l in range(L):
        b = f"blocks.{l}."
        h = node("LayerNormalization", [x, param(b + "ln1.weight"), param(b + "ln1.bias")], axis=-1, epsilon=1e-5)
        qkv = node("Gemm", [h, param(b + "attn.qkv.weight")], transB=1)                     # [T, 3C]
        q_flat, k_flat, v_flat = f"q_flat_{l}", f"k_flat_{l}", f"v_flat_{l}"
        nodes.append(helper.make_node("Split", [qkv, i64(f"split_{l}", [C, C, C])], [q_flat, k_flat, v_flat],
                                      axis=1, name=f"n{len(nodes)}_Split"))
        q = node("Identity", [rope(node("Reshape", [q_flat, shape_thd]))], f"q_{l}")
        k = node("Identity", [rope(node("Reshape", [k_flat, shape_thd]))], f"k_{l}")
        v = node("Reshape", [v_flat, shape_thd], f"v_{l}")
        v_h = node("Transpose", [v], perm=[1, 0, 2])                                          # [H, T, D]
        q_h = node("Transpose", [q], perm=[1, 0, 2])                                          # [H, T, D]
        # per-query score multipliers [H, T, 1] (1/sqrt(D) folded in); r = other / own, the same for both models
        if cfg.normaliser == "ssmax":
            s_col = node("Unsqueeze", [param(b + "attn.s"), i64(f"ax12_{l}", [1, 2])])     # [H, 1, 1]
            c_own = node("Mul", [node("Mul", [s_col, log_n_col]), "inv_sqrt_d"])
            r = node("Mul", [node("Reciprocal", [log_n_col]), "log_train"])                  # ln N / ln n
        else:
            c_own = "inv_sqrt_d"
            r = node("Mul", [log_n_col, "inv_log_train"])                                    # ln n / ln N
        qc = node("Mul", [q_h, c_own])
        # scores against the past keys as they come (read as [H, D, P] by transBatchB and transB) and against the
        # chunk's own keys (masked), joined: the past keys are never copied, and only the [T, T] block is masked
        z_own = node("Add", [node("FusedMatMul", [qc, node("Transpose", [k], perm=[1, 0, 2])], domain="com.microsoft", transB=1), bias])
        z = joined_scores(l, qc, z_own)                                                      # [H, T, W]
        p = node("Softmax", [z], axis=-1)
        y_h = weighted_values(l, p, v_h)
        z_max = node("ReduceMax", [z], axes=[-1], keepdims=1)
        own_max, own_ent = focus(f"own_{l}", p, z, z_max)
        # the other view from softmax(r·z), whose entropy takes Σ p·z times r: r·z is dead after its Softmax
        p2 = node("Softmax", [node("Mul", [z, r])], axis=-1)
        other_max, other_ent = focus(f"other_{l}", p2, z, node("Mul", [z_max, r]), z_scale=r)
        stats = node("Concat", [own_max, own_ent, other_max, other_ent], axis=-1)            # [H, T, 4]
        node("Transpose", [stats], f"stats_{l}", perm=[1, 0, 2])                              # [T, H, 4]
        # y passes through a Where(·, y, y) on the statistics, so the next layer waits for them: onnxruntime orders
        # nodes by their dependencies alone and ran every layer's statistics after the last layer (logits first),
        # which kept every layer's scores alive at once (10 score tensors at the peak: 640 MiB at 131k keys and
        # 32-token chunks). A shape taken from them would not do: its Reshape is fused to a constant shape.
        y = node("Reshape", [node("Transpose", [y_h], perm=[1, 0, 2]), shape_tc])
        y = node("Where", [node("IsInf", [node("ReduceMax", [f"stats_{l}"], keepdims=0)]), y, y])
        x = node("Add", [x, node("Gemm", [y, param(b + "attn.proj.weight")], transB=1)])
        h = node("LayerNormalization", [x, param(b + "ln2.weight"), param(b + "ln2.bias")], axis=-1, epsilon=1e-5)
        u = node("Gemm", [h, param(b + "mlp.0.weight"), param(b + "mlp.0.bias")], transB=1)
        gelu = node("Mul", [node("Mul", [u, "half"]),
                            node("Add", [node("Erf", [node("Mul", [u, "sqrt_half"])]), "one_f"])])
        x = node("Add", [x, node("Gemm", [gelu, param(b + "mlp.2.weight"), param(b + "mlp.2.bias")], transB=1)])
        outputs += [f"q_{l}", f"k_{l}", f"v_{l}", f"stats_{l}"]
    hf = node("LayerNormalization", [x, param("ln_f.weight"), param("ln_f.bias")], axis=-1, epsilon=1e-5)
    node("Gemm", [hf, "m.embed.weight"], "logits", transB=1)

    vi = helper.make_tensor_value_info
    in_names = ["input_ids"] + [f"past_{kv}_{l}" for l in range(L) for kv in ("k", "v")]
    inputs = [vi("input_ids", TensorProto.INT64, [1, "T"])] + [vi(n, F, ["P", H, D]) for n in in_names[1:]]
    outs = [vi("logits", F, ["T", cfg.vocab_size])]
    for l in range(L):
        outs += [vi(f"{o}_{l}", F, ["T", H, D]) for o in ("q", "k", "v")] + [vi(f"stats_{l}", F, ["T", H, 4])]
    m = helper.make_model(helper.make_graph(nodes, "attention_inspector_lean", inputs, outs, initializer=inits),
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, path)
    fp16_weights(path)
    return in_names, outputs


def export_onnx(model, cfg, path):
    stream = StreamingGPT(model).eval()
    H, D = cfg.n_heads, cfg.head_dim
    ids = torch.randint(0, cfg.vocab_size, (1, 7))
    past = []
    for _ in range(cfg.n_layers):
        past += [torch.randn(5, H, D), torch.randn(5, H, D)]
    in_names = ["input_ids"] + [f"past_{kv}_{l}" for l in range(cfg.n_layers) for kv in ("k", "v")]
    out_names = ["logits"] + [f"{o}_{l}" for l in range(cfg.n_layers) for o in ("q", "k", "v", "stats")]
    axes = {"input_ids": {1: "T"}, "logits": {0: "T"}}
    for l in range(cfg.n_layers):
        axes[f"past_k_{l}"] = {0: "P"}
        axes[f"past_v_{l}"] = {0: "P"}
        for o in ("q", "k", "v", "stats"):
            axes[f"{o}_{l}"] = {0: "T"}
    torch.onnx.export(stream, (ids, *past), path, input_names=in_names, output_names=out_names,
                      dynamic_axes=axes, opset_version=17, do_constant_folding=False)
    fp16_weights(path)
    return in_names, out_names


@torch.no_grad()
def references(model, cfg, tok, text, n_tokens):
    """float64 references from the training graph itself (not from the streaming graph)."""
    m64 = GPT(cfg).double()
    m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    m64.eval()
    # the exporter's fp16 weights are what the extension runs; round the reference weights the same way
    with torch.no_grad():
        for name, p in m64.named_parameters():
            if p.numel() >= FP16_MIN_ELEMENTS:
                p.copy_(p.half().double())
    for blk in m64.blocks:
        blk.attn.record = True
    ids = tok.encode(text)[:n_tokens]
    x = torch.tensor(ids)[None]
    logits = m64(x)[0]
    T = len(ids)
    positions = sorted({0, 1, 7, 100, cfg.context - 1, cfg.context, min(T - 1, 2 * cfg.context), 4 * cfg.context - 1, T - 1})
    positions = [p for p in positions if p < T]
    rows = []
    for l, blk in enumerate(m64.blocks):
        att = blk.attn.last_att[0]  # [H, T, T]
        for h in range(cfg.n_heads):
            for p in positions:
                row = att[h, p, :p + 1]
                rows.append({"layer": l, "head": h, "position": p, "probs": [float(f"{v:.8g}") for v in row.tolist()]})
    return {
        "text": text, "ids": ids, "positions": positions,
        "logits": {str(p): [float(f"{v:.8g}") for v in logits[p, :256].tolist()] for p in positions},
        "argmax": {str(p): int(logits[p].argmax()) for p in positions},
        "attention": rows,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--models", default=os.path.join(REPO, "models"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "test", "fixtures"))
    ap.add_argument("--reference-file", default=os.path.join(REPO, "media", "sample", "long_sample.py"))
    ap.add_argument("--reference-tokens", type=int, default=2100, help="past 4x the training context")
    ap.add_argument("--graph", default="lean", choices=["lean", "torch"],
                    help="lean: export_lean, written node by node (shipped); torch: torch.onnx.export of StreamingGPT")
    ap.add_argument("--variants", default="ssmax,softmax,retrofit",
                    help="ids to export, in catalogue order: ssmax, softmax, retrofit, retrofit-ft")
    args = ap.parse_args()
    os.makedirs(args.models, exist_ok=True)
    os.makedirs(args.fixtures, exist_ok=True)
    shutil.copy(os.path.join(args.data, "tokenizer.json"), os.path.join(args.models, "tokenizer.json"))
    write_rows_graph(os.path.join(args.models, "rows.onnx"))
    write_stats_graph(os.path.join(args.models, "stats.onnx"))
    write_whatif_graph(os.path.join(args.models, "whatif.onnx"))
    tok = Tokenizer(os.path.join(args.models, "tokenizer.json"))
    with open(os.path.join(args.fixtures, "tokenizer-parity.json"), "w", encoding="utf-8") as fh:
        json.dump([{"name": k, "text": v, "ids": tok.encode(v)} for k, v in PARITY_TEXTS.items()], fh,
                  ensure_ascii=False, indent=0)
    ref_text = open(args.reference_file, encoding="utf-8").read()
    ids = [v.strip() for v in args.variants.split(",") if v.strip()]
    for variant in ids:
        ckpt, cfg, model, what = load_variant(args.runs, variant)
        onnx_name = f"{variant}.onnx"
        export = export_lean if args.graph == "lean" else export_onnx
        seen = steps_seen(ckpt)
        in_names, out_names = export(model, cfg, os.path.join(args.models, onnx_name))
        manifest = {
            "format": "attention-inspector-model-v1",
            "id": variant,
            "displayName": f"{what['name']} {ckpt['n_params'] / 1e6:.1f}M",
            "summary": what["summary"],
            "counterpart": what["counterpart"],
            "onnx": onnx_name,
            "tokenizer": "tokenizer.json",
            "normaliser": cfg.normaliser,
            "architecture": {"vocabSize": cfg.vocab_size, "dModel": cfg.d_model, "layers": cfg.n_layers,
                             "heads": cfg.n_heads, "headDim": cfg.head_dim, "mlpRatio": cfg.mlp_ratio,
                             "ropeBase": cfg.rope_base, "positional": "rope"},
            "trainingContext": cfg.context,
            "s": model.s_values(),
            "io": {"inputs": in_names, "outputs": out_names, "layout": "position-major [T, heads, headDim]",
                   "stats": ["ownMax", "ownEntropy", "otherMax", "otherEntropy"]},
            "eotId": tok.eot_id,
            "provenance": {"corpus": "training/SOURCES.md", "steps": seen,
                           "tokens": seen * cfg.context * ckpt["args"]["batch"],
                           "stepsThisRun": ckpt["step"],
                           "seed": ckpt["seed"], "commit": ckpt["commit"], "parameters": ckpt["n_params"],
                           "valLoss": None if variant == "retrofit" else round(ckpt["val_loss"], 4),
                           "finalCheckpoint": ckpt["final"],
                           "trainArgs": ckpt["args"], "initFrom": ckpt.get("init_from"),
                           "retrofitOf": "softmax" if variant == "retrofit" else None,
                           "graph": "export_lean" if args.graph == "lean" else "torch.onnx.export(StreamingGPT)",
                           "exportedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
        }
        with open(os.path.join(args.models, f"{variant}.json"), "w") as fh:
            json.dump(manifest, fh, indent=2)
        ref = references(model, cfg, tok, ref_text, args.reference_tokens)
        ref["variant"] = variant
        with open(os.path.join(args.fixtures, f"{variant}.reference.json"), "w") as fh:
            json.dump(ref, fh)
        size = os.path.getsize(os.path.join(args.models, onnx_name))
        print(f"exported {variant}: {size / 1e6:.1f} MB, step {seen}, val loss {ckpt['val_loss']:.3f}")
    with open(os.path.join(args.models, "catalogue.json"), "w") as fh:
        json.dump({"format": "attention-inspector-catalogue-v1", "models": [f"{v}.json" for v in ids]}, fh, indent=2)
        fh.write("\n")


WHAT = {
    "ssmax": {"name": "SSMax-trained", "counterpart": "softmax",
              "summary": "SSMax-trained: softmax(s·ln n·z) with a learned s per head, trained from scratch"},
    "softmax": {"name": "softmax-trained", "counterpart": "ssmax",
                "summary": "softmax-trained: the same network, data and initial weights, trained with ordinary softmax"},
    "retrofit": {"name": "retrofit", "counterpart": "softmax",
                 "summary": "retrofit: the softmax-trained weights run with SSMax (s = 1/ln N for every head), no training"},
    "retrofit-ft": {"name": "retrofit, fine-tuned", "counterpart": "retrofit",
                    "summary": "the retrofit after a short SSMax fine-tune (learned s per head)"},
}


def load_variant(runs, variant):
    """(checkpoint, config, model, description) for a catalogue id."""
    if variant == "retrofit":
        ckpt, _, model = load_checkpoint(os.path.join(runs, "softmax.pt"))
        model = retrofit(model)
        return ckpt, model.cfg, model, WHAT[variant]
    ckpt, cfg, model = load_checkpoint(os.path.join(runs, f"{variant}.pt"))
    what = dict(WHAT[variant])
    if variant == "retrofit-ft":
        what["summary"] += f" ({ckpt['tokens'] / 1e6:.1f}M tokens)"
    return ckpt, cfg, model, what


if __name__ == "__main__":
    main()
