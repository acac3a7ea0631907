"""The byte predictor: a stacked LSTM that learns online, in exact fixed-point arithmetic.

Pure: tensors in, tensors out. No I/O, no coder, no file format. ``ModelConfig`` is the single
source of truth for the network and its training; it travels in every archive header.

Network (NNCP/lstm-compress style), for streams b = 1..B in lock-step and layers l = 0..L-1::

    a_l   = E_l[x_t] + h_{l-1,t} @ V_l + h_{l,t-1} @ R_l      # every layer sees the input byte x_t
    i, f, o = sigmoid(a_l blocks);  g = 2*sigmoid(a_l block) - 1
    c_l,t = f * c_l,t-1 + i * g;    h_l,t = o * tanh(c_l,t)
    logits = Y[x_t] + [h_0,t .. h_L-1,t] @ W                 # the output reads every layer
    P(x_t+1) = softmax(logits)

``E_l`` (256 x 4H) is the byte input of each layer as a table (a one-hot input times a weight
matrix), which also plays the role of the gate biases; ``Y`` (256 x 256) is a learned bigram term.
The g gate is ``2*sigmoid(a) - 1 = tanh(a/2)`` so one sigmoid table serves all four gates.

Learning separates from prediction: :meth:`ByteLSTM.predict` runs one step and keeps the segment's
activations; after ``segment`` steps, :meth:`ByteLSTM.learn` back-propagates through the segment by
hand (truncated BPTT, weight gradients as one matrix product per weight over the whole segment)
and takes one Adam step. Encoder and decoder call the same two methods with the same bytes.

Exactness (see ``numerics``): every tensor below holds integers at a power-of-two scale, and every
matrix product's partial sums stay below 2**53, which the clips and the limits in
``ModelConfig.validate`` guarantee. The bound of each product is noted beside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from lstmzip.match import BUCKETS
from lstmzip.numerics import (
    ACT_BITS,
    GRAD_BITS,
    PRODUCT_BITS,
    PROFILE,
    WEIGHT_BITS,
    Tables,
    exact_sqrt_,
    rescale_,
    uniform,
)

ALPHABET = 256
ONE = float(1 << ACT_BITS)  # 1.0 as an activation
GRAD_ONE = float(1 << GRAD_BITS)  # 1.0 as a gradient
WEIGHT_CLIP = 4.0  # |w| <= 4  ->  forward weights below 2**18
CELL_CLIP = 8.0 * ONE  # tanh is flat beyond 8; keeps forget-gate gradients below 2**21
MAX_HIDDEN = 512
MAX_SEGMENT_BYTES = 4096  # streams * segment: bounds the weight-gradient sums
MATCH_SCALE = 4.0  # match boosts are 4 x their parameter, so the weight clip allows +-16 nats


@dataclass(frozen=True)
class ModelConfig:
    """Everything that determines the model's predictions. Serialized into the archive header."""

    layers: int = 2
    hidden: int = 128
    streams: int = 16
    segment: int = 20
    learning_rate: float = 4e-3  # Adam's step size at the first update
    lr_decay_updates: int = 0  # update k uses learning_rate / (1 + k / this); 0 keeps it constant
    beta1: float = 0.0
    beta2: float = 0.9999
    eps: float = 1e-6
    seed: int = 0
    match_min_length: int = 0  # 0: no match model; else the context length it hashes
    match_hash_bits: int = 20
    numerics: str = PROFILE

    def validate(self) -> None:
        """Raise ValueError unless every field is in the range the exactness bounds assume."""
        checks = [
            (1 <= self.layers <= 4, "layers must be 1..4"),
            (8 <= self.hidden <= MAX_HIDDEN, f"hidden must be 8..{MAX_HIDDEN}"),
            (1 <= self.streams <= 1024, "streams must be 1..1024"),
            (1 <= self.segment <= 1024, "segment must be 1..1024"),
            (self.streams * self.segment <= MAX_SEGMENT_BYTES, f"streams * segment must be <= {MAX_SEGMENT_BYTES}"),
            (0.0 < self.learning_rate <= 1.0, "learning_rate must be in (0, 1]"),
            (0 <= self.lr_decay_updates < 2**32, "lr_decay_updates must be a 32-bit unsigned integer"),
            (0.0 <= self.beta1 < 1.0, "beta1 must be in [0, 1)"),
            (0.0 < self.beta2 < 1.0, "beta2 must be in (0, 1)"),
            (0.0 < self.eps <= 1.0, "eps must be in (0, 1]"),
            (0 <= self.seed < 2**32, "seed must be a 32-bit unsigned integer"),
            (self.match_min_length == 0 or 2 <= self.match_min_length <= 32, "match_min_length must be 0 or 2..32"),
            (10 <= self.match_hash_bits <= 24, "match_hash_bits must be 10..24"),
            (self.numerics == PROFILE, f"numeric profile {self.numerics!r} is not supported (this build: {PROFILE})"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, int | float | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ModelConfig:
        """Strict inverse of :meth:`to_dict`: unknown or missing keys and wrong types are errors."""
        names = {f.name: f.type for f in fields(cls)}
        if set(data) != set(names):
            raise ValueError(f"model config keys differ: {sorted(set(data) ^ set(names))}")
        kinds = {"int": int, "float": float, "str": str}
        for name, kind in names.items():
            value = data[name]
            expected = kinds[str(kind)]
            if isinstance(value, bool) or not isinstance(value, expected if expected is not float else (int, float)):
                raise ValueError(f"model config field {name!r} must be {expected.__name__}")
        config = cls(**{k: (float(v) if kinds[str(names[k])] is float else v) for k, v in data.items()})  # type: ignore[arg-type]
        config.validate()
        return config


class ByteLSTM:
    """The online-learning predictor for ``config.streams`` parallel byte streams."""

    def __init__(self, config: ModelConfig, device: torch.device | str = "cpu") -> None:
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.tables = Tables(self.device)
        B, T, H, L = config.streams, config.segment, config.hidden, config.layers
        f64 = {"dtype": torch.float64, "device": self.device}

        # Parameter layout in one flat buffer, so Adam is a handful of whole-buffer ops. Byte tables
        # come first: their forward copies and gradients have other scales than the matrices'.
        tables = [(f"embed{l}", (ALPHABET, 4 * H), 0.25) for l in range(L)] + [("out_embed", (ALPHABET, ALPHABET), 0.0)]
        tables += [("match", (BUCKETS + 1,), 0.0)]  # logit boost per match-length bucket; the last is "none"
        tables += [("match_embed", (ALPHABET + 1, 4 * H), 0.0)]  # layer 0 sees the predicted byte; row 256: none
        matrices = [(f"rec{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(L)]
        matrices += [(f"below{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(1, L)]
        matrices += [("out_w", (L * H, ALPHABET), 1 / math.sqrt(L * H))]
        specs = tables + matrices
        self.table_size = sum(math.prod(shape) for _, shape, _ in tables)
        size = sum(math.prod(shape) for _, shape, _ in specs)

        init = []
        for salt, (_, shape, scale) in enumerate(specs):
            init.append(torch.from_numpy(uniform(config.seed, salt, math.prod(shape))) * scale)
        self.master = torch.cat(init).to(self.device)  # [P] real-valued weights
        self.forward_weights = torch.empty(size, **f64)  # [P] integers: tables 2**32, matrices 2**16
        self.grad = torch.empty(size, **f64)  # [P]
        self.adam_v = torch.zeros(size, **f64)  # [P]
        self.adam_m = torch.zeros(size, **f64) if config.beta1 > 0 else None
        self.scratch = torch.empty(size, **f64)  # [P]
        self.step_count = 0
        self.beta1_power = 1.0
        self.beta2_power = 1.0

        def views(buffer: torch.Tensor) -> dict[str, torch.Tensor]:
            out, offset = {}, 0
            for name, shape, _ in specs:
                n = math.prod(shape)
                out[name] = buffer[offset : offset + n].view(shape)
                offset += n
            return out

        masters = views(self.master)
        for l in range(L):  # forget gates start open (bias +1), the usual LSTM initialisation
            masters[f"embed{l}"][:, H : 2 * H] += 1.0
        # Longer matches start surer; Python floats (IEEE) rather than torch.linspace, whose kernel may differ.
        masters["match"][:BUCKETS] = torch.tensor([0.25 + 0.75 * k / (BUCKETS - 1) for k in range(BUCKETS)])
        self.w = views(self.forward_weights)
        self.g = views(self.grad)
        self._refresh_forward_weights()

        # Segment buffers: row 0 of hcat/cell holds the state carried in from the previous segment.
        self.x = torch.zeros(T, B, dtype=torch.int64, device=self.device)  # [T, B] input bytes
        self.hcat = torch.zeros(T + 1, B, L * H, **f64)  # [T+1, B, L*H] hidden states, 2**16
        self.cell = torch.zeros(L, T + 1, B, H, **f64)  # [L, T+1, B, H] cell states, 2**16
        self.gates = torch.empty(L, T, B, 4 * H, **f64)  # [L, T, B, 4H] sigmoid outputs i f g o, 2**16
        self.tanh_cell = torch.empty(L, T, B, H, **f64)  # [L, T, B, H], 2**16
        self.freq = torch.empty(T, B, ALPHABET, **f64)  # [T, B, 256] exp table values
        self.freq_sum = torch.empty(T, B, 1, **f64)  # [T, B, 1]
        self.match_expected = torch.zeros(T, B, dtype=torch.int64, device=self.device)  # [T, B] predicted byte
        self.match_bucket = torch.full((T, B), BUCKETS, dtype=torch.int64, device=self.device)  # [T, B]
        self.match_input = torch.full((T, B), ALPHABET, dtype=torch.int64, device=self.device)  # [T, B]
        self.rows = torch.arange(B, device=self.device)
        self.cell_scratch = torch.empty(B, H, **f64)
        # Back-propagation work space, allocated once (fresh large tensors cost page faults each time).
        self.delta = torch.empty(T, B, 4 * H, **f64)  # [T, B, 4H] gate pre-activation gradients
        self.slope = torch.empty(T, B, 4 * H, **f64)
        self.multiplier = torch.empty(T, B, 4, H, **f64)
        self.out_to_cell = torch.empty(T, B, H, **f64)
        self.forget = torch.empty(T, B, H, **f64)
        self.t = 0

    def _refresh_forward_weights(self) -> None:
        """Forward weights = master weights rounded to the fixed-point grid."""
        torch.mul(self.master, float(1 << WEIGHT_BITS), out=self.forward_weights).round_()
        self.forward_weights[: self.table_size].mul_(float(1 << ACT_BITS))  # tables add to products at 2**32

    @torch.no_grad()
    def predict(
        self, x: torch.Tensor, expected: torch.Tensor | None = None, bucket: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Consume byte ``x`` [B] (int64) of every stream; return P(next byte) [B, 256] as float32.

        ``expected`` and ``bucket`` [B] come from the match model: the byte a repeat predicts and its
        length bucket (``BUCKETS`` where there is no match).
        """
        cfg, t = self.config, self.t
        H, w = cfg.hidden, self.w
        self.x[t].copy_(x)
        if expected is not None and bucket is not None:
            self.match_expected[t].copy_(expected)
            self.match_bucket[t].copy_(bucket)
            self.match_input[t].copy_(expected).masked_fill_(bucket == BUCKETS, ALPHABET)
        h_prev, h_new = self.hcat[t], self.hcat[t + 1]  # [B, L*H] each
        for l in range(cfg.layers):
            layer = slice(l * H, (l + 1) * H)
            a = torch.addmm(w[f"embed{l}"].index_select(0, x), h_prev[:, layer], w[f"rec{l}"])  # [B,4H] < 2**46
            if l == 0:
                a.add_(w["match_embed"].index_select(0, self.match_input[t]))
            if l > 0:
                a.addmm_(h_new[:, (l - 1) * H : l * H], w[f"below{l}"])  # < 2**47
            s = self.tables.sigmoid_(a, PRODUCT_BITS, out=self.gates[l, t])  # [B, 4H]
            i, f, g_sigmoid, o = s.split(H, dim=1)  # [B, H] each
            g = g_sigmoid * 2.0 - ONE
            c = torch.mul(f, self.cell[l, t], out=self.cell[l, t + 1]).addcmul_(i, g)  # < 2**36
            rescale_(c, ACT_BITS).clamp_(-CELL_CLIP, CELL_CLIP)
            tc = self.tables.sigmoid_(self.cell_scratch.copy_(c), ACT_BITS - 1, out=self.tanh_cell[l, t])
            tc.mul_(2.0).sub_(ONE)  # tanh(c) = 2 * sigmoid(2c) - 1
            rescale_(torch.mul(o, tc, out=h_new[:, layer]), ACT_BITS)
        logits = torch.addmm(w["out_embed"].index_select(0, x), h_new, w["out_w"])  # [B, 256] < 2**48
        boost = w["match"].index_select(0, self.match_bucket[t]).mul_(MATCH_SCALE)  # [B] < 2**36
        logits.index_put_((self.rows, self.match_expected[t]), boost, accumulate=True)
        distance = torch.sub(logits.amax(dim=1, keepdim=True), logits)  # [B, 256] >= 0
        freq = self.tables.exp_neg_(distance, PRODUCT_BITS, out=self.freq[t])
        torch.sum(freq, dim=1, keepdim=True, out=self.freq_sum[t])
        self.t = t + 1
        return (freq / self.freq_sum[t]).to(torch.float32)

    @torch.no_grad()
    def learn(self, targets: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Back-propagate the bytes ``targets`` [T, B] that followed the last T predictions; one Adam step.

        ``weight`` [T, B] (0 or 1) masks out steps of streams that had already ended.
        """
        cfg, w, grads = self.config, self.w, self.g
        T, B, H, L = self.t, cfg.streams, cfg.hidden, cfg.layers
        TB = T * B
        x = self.x[:T].reshape(TB)

        # Output layer. dlogits = p - onehot(target), at 2**20.
        dlogits = torch.div(self.freq[:T], self.freq_sum[:T]).mul_(GRAD_ONE).round_()  # [T, B, 256]
        dlogits.scatter_add_(2, targets.unsqueeze(2), torch.full((T, B, 1), -GRAD_ONE, **self._f64()))
        if weight is not None:
            dlogits.mul_(weight.unsqueeze(2))
        d = dlogits.view(TB, ALPHABET)
        hidden_out = self.hcat[1 : T + 1].reshape(TB, L * H)
        torch.mm(hidden_out.T, d, out=grads["out_w"])  # 2**36, < 2**48
        grads["out_embed"].zero_().index_add_(0, x, d)  # 2**20
        dh = rescale_(torch.mm(d, w["out_w"].T), WEIGHT_BITS).view(T, B, L * H)  # 2**20, < 2**46 before
        d_expected = d.gather(1, self.match_expected[:T].reshape(TB, 1)).view(TB).mul_(MATCH_SCALE)  # [TB]
        grads["match"].zero_().index_add_(0, self.match_bucket[:T].reshape(TB), d_expected)
        grads["match"][BUCKETS] = 0.0  # "no match" has no boost to learn

        for l in reversed(range(L)):
            layer = slice(l * H, (l + 1) * H)
            s = self.gates[l, :T]  # [T, B, 4H]
            i, f, g_sigmoid, o = s.split(H, dim=2)
            tc, c_prev = self.tanh_cell[l, :T], self.cell[l, :T]
            slope = torch.sub(ONE, s, out=self.slope[:T]).mul_(s)  # sigmoid'(a) at 2**32, [T, B, 4H]
            s_i, s_f, s_g, s_o = rescale_(slope, ACT_BITS).split(H, dim=2)
            # d a_gate = d(state) * multiplier; multipliers at 2**16, pre-scaled by 2**-16 so that one
            # multiply and one round give the rescaled product exactly.
            mult = self.multiplier[:T]  # [T, B, 4, H]
            torch.mul(g_sigmoid, 2.0, out=mult[:, :, 0]).sub_(ONE).mul_(s_i)
            torch.mul(c_prev, s_f, out=mult[:, :, 1])
            torch.mul(i, s_g, out=mult[:, :, 2]).mul_(2.0)
            torch.mul(tc, s_o, out=mult[:, :, 3])
            rescale_(mult, ACT_BITS).mul_(2.0**-ACT_BITS)
            out_to_cell = torch.mul(tc, tc, out=self.out_to_cell[:T])  # [T, B, H]
            rescale_(out_to_cell, ACT_BITS).sub_(ONE).mul_(o).mul_(-1.0)  # o * (1 - tanh^2), 2**32
            rescale_(out_to_cell, ACT_BITS).mul_(2.0**-ACT_BITS)
            forget = torch.mul(f, 2.0**-ACT_BITS, out=self.forget[:T])
            rec_t = w[f"rec{l}"].T  # [4H, H]

            delta = self.delta[:T].view(T, B, 4, H)
            dh_layer = dh[:, :, layer]
            dc = torch.zeros(B, H, **self._f64())
            dh_rec = torch.zeros(B, H, **self._f64())
            for t in reversed(range(T)):
                dh_t = dh_rec.add_(dh_layer[t]).clamp_(-GRAD_ONE, GRAD_ONE)  # [B, H]
                torch.mul(dh_t, mult[t, :, 3], out=delta[t, :, 3]).round_()
                dc.add_((dh_t * out_to_cell[t]).round_()).clamp_(-GRAD_ONE, GRAD_ONE)
                torch.mul(dc.unsqueeze(1), mult[t, :, :3], out=delta[t, :, :3]).round_()  # < 2**21
                dc.mul_(forget[t]).round_()
                dh_rec = rescale_(torch.mm(self.delta[t], rec_t), WEIGHT_BITS)  # < 2**53 for H <= 512
            delta_flat = self.delta[:T].view(TB, 4 * H)
            torch.mm(self.hcat[:T, :, layer].reshape(TB, H).T, delta_flat, out=grads[f"rec{l}"])  # < 2**49
            grads[f"embed{l}"].zero_().index_add_(0, x, delta_flat)
            if l == 0:
                grads["match_embed"].zero_().index_add_(0, self.match_input[:T].reshape(TB), delta_flat)
                grads["match_embed"][ALPHABET] = 0.0
            if l > 0:
                below = slice((l - 1) * H, l * H)
                torch.mm(self.hcat[1 : T + 1, :, below].reshape(TB, H).T, delta_flat, out=grads[f"below{l}"])
                dh[:, :, below] += rescale_(torch.mm(delta_flat, w[f"below{l}"].T), WEIGHT_BITS).view(T, B, H)

        self._adam_step()
        # The last state of this segment is where the next one starts.
        self.hcat[0].copy_(self.hcat[T])
        self.cell[:, 0].copy_(self.cell[:, T])
        self.t = 0

    def _f64(self) -> dict[str, object]:
        return {"dtype": torch.float64, "device": self.device}

    def learning_rate(self) -> float:
        """The step size of the current update: ``learning_rate / (1 + k / lr_decay_updates)``.

        A high rate lets the model pick up a file's statistics in the first few hundred updates; the
        decay then lets it settle (measured: enwik6 2.166 -> 2.058 bpb, book1 2.437 -> 2.336 at the
        default level, docs/DESIGN.md). Computed in Python floats: two IEEE divisions and an
        addition, identical on every machine.
        """
        decay = self.config.lr_decay_updates
        if decay == 0:
            return self.config.learning_rate
        return self.config.learning_rate / (1.0 + self.step_count / decay)

    def _adam_step(self) -> None:
        """Adam with bias correction, from separate IEEE operations only (no fused or library math)."""
        cfg, g, tmp = self.config, self.grad, self.scratch
        g[: self.table_size].mul_(2.0**-GRAD_BITS)  # tables' gradients were at 2**20
        g[self.table_size :].mul_(2.0 ** -(GRAD_BITS + ACT_BITS))  # matrices' at 2**36
        self.step_count += 1
        self.beta2_power *= cfg.beta2
        numerator, bias1 = g, 1.0
        if self.adam_m is not None:
            self.beta1_power *= cfg.beta1
            bias1 = 1.0 - self.beta1_power
            self.adam_m.mul_(cfg.beta1).add_(torch.mul(g, 1.0 - cfg.beta1, out=tmp))
            numerator = self.adam_m
        self.adam_v.mul_(cfg.beta2).add_(torch.mul(g, g, out=tmp).mul_(1.0 - cfg.beta2))
        denominator = exact_sqrt_(torch.div(self.adam_v, 1.0 - self.beta2_power, out=tmp)).add_(cfg.eps)
        step = torch.div(numerator, denominator, out=tmp).mul_(self.learning_rate() / bias1)
        self.master.sub_(step).clamp_(-WEIGHT_CLIP, WEIGHT_CLIP)
        self._refresh_forward_weights()
