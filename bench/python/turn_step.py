"""TURN's training step in PyTorch: the speed reference bench/reference.ts times turnkit's step against.

It is a re-implementation of the shapes and the computation of turnkit's model (src/model/turn.ts and the files
it imports), not of its numbers: one step here is what turnkit's `plainSgdStep(model, syntheticBatch(config,
{sourceSize, intermediateSize}), ...)` does (bench/model.ts) -- the forward pass and the gradients of every loss
term, optionally in micro-batches whose gradients are summed, a plain SGD update of every trainable parameter and
the EMA step of the codebooks -- written the way a PyTorch user would (nn.Linear, nn.Conv1d/2d, nn.LayerNorm,
scaled_dot_product_attention, F.cross_entropy). The model has exactly turnkit's parameter count, module by module,
and the script checks it. Module and attribute names follow turnkit's parameter paths, e.g. turnkit's
`text_encoder/layer0/attention/qkv/kernel` is `text_encoder.encoder.layers[0].qkv.weight` here.

Config: the resolved TurnConfig as JSON, or the output of bench/python/turn-config.ts ({"config", "parameters"}),
in which case the parameter counts are compared module by module with turnkit's and a mismatch is an error.

    node --import tsx bench/python/turn-config.ts tiny > tiny.json
    python bench/python/turn_step.py --config tiny.json --source 16 --intermediate 16 --threads 1

prints one JSON line: {"params", "trainable", "non_trainable", "ms_per_step" (median), "ms_mean", "steps",
"warmup", "micro_batch", "parts", "threads", "torch"}.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# Frames of log-mel per encoded (and reconstructed) audio position: two stride-2 convolutions (turn.ts).
FRAMES_PER_POSITION = 4
# Added under the square roots of the L2 normalisations, as turnkit does (turn.ts localize, losses.ts l2Normalize).
MODULATION_EPS = 1e-12
EPS = 1e-7


# --- Initialisation (layers.ts ParamStore) ------------------------------------------------------------------------
# Speed does not depend on it, but the distributions are turnkit's so that activations have the same scale (and no
# kernel meets, say, denormals that turnkit would not).

def embedding_(p: torch.Tensor) -> torch.Tensor:
    """turnkit's 'embedding' init: normal, std 0.02 (as BERT)."""
    with torch.no_grad():
        return p.normal_(0.0, 0.02)


def glorot_(weight: torch.Tensor) -> None:
    """turnkit's 'glorot' init of a Dense kernel [fan_in, fan_out]. A PyTorch weight is [out, in...]: a convolution
    here is turnkit's im2col Dense with fan_in = kernel x in_channels, so fan_in = numel / out."""
    fan_out = weight.shape[0]
    fan_in = weight.numel() // fan_out
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        weight.uniform_(-limit, limit)


def dense_init_(module: nn.Module) -> None:
    """Glorot kernels and zero biases for every Linear and Conv of `module`, as turnkit's store.dense."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            glorot_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# --- Layers (layers.ts) ------------------------------------------------------------------------------------------

class EncoderLayer(nn.Module):
    """Pre-LN transformer layer: x + MHA(LN(x)), then x + FFN(LN(x)); ReLU FFN, no dropout (layers.ts EncoderLayer).
    turnkit's layer{i}/ln1, attention/qkv, attention/out, ln2, ffn/in, ffn/out are ln1, qkv, out, ln2, ffn_in, ffn_out."""

    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)  # one [d, 3d] kernel: columns [q | k | v], as turnkit
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.ffn_in = nn.Linear(d, ffn)
        self.ffn_out = nn.Linear(ffn, d)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None) -> torch.Tensor:
        b, l, d = x.shape
        # [B, L, 3d] -> 3 x [B, h, L, d/h]
        q, k, v = self.qkv(self.ln1(x)).view(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # softmax(q k^T / sqrt(d/h) + mask) v; turnkit writes the same with matMul + softmax. `attend` [B, 1, 1, L] is
        # False at padding keys (turnkit adds -1e9 there).
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        y = x + self.out(context.transpose(1, 2).reshape(b, l, d))
        return y + self.ffn_out(F.relu(self.ffn_in(self.ln2(y))))


class TransformerEncoder(nn.Module):
    """Layers then a final layer norm (layers.ts TransformerEncoder; turnkit's <module>/layer{i} and ln_final)."""

    def __init__(self, d: int, layers: int, heads: int, ffn: int):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ffn) for _ in range(layers))
        self.ln_final = nn.LayerNorm(d, eps=1e-5)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        attend = None if keep is None else keep.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        return self.ln_final(x)


def mean_pool(x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean over axis 1 of [B, L, d], counting only positions where keep [B, L] is 1 (layers.ts meanPool)."""
    if keep is None:
        return x.mean(1)
    return (x * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True).clamp_min(1)


def positions(*shape: int) -> nn.Parameter:
    """A learned position table (or [MASK] vector), turnkit's 'embedding' init."""
    return nn.Parameter(embedding_(torch.empty(*shape)))


# --- Modules (turn.ts, backbone.ts, codebook.ts): one per first segment of turnkit's parameter names --------------

class TextEncoder(nn.Module):
    """Θ_t: learned positions + transformer over token embeddings (turnkit's text_encoder/*)."""

    def __init__(self, c: dict, ffn: int):
        super().__init__()
        self.positions = positions(c["textLength"], c["dModel"])
        self.encoder = TransformerEncoder(c["dModel"], c["textLayers"], c["textHeads"], ffn)

    def forward(self, embedded: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.encoder(embedded + self.positions, keep)


class AudioEncoder(nn.Module):
    """Θ_a with its convolution stack (turnkit's audio_encoder/*): two stride-2 'same' convolutions over time
    (216 -> 108 -> 54 frames) with ReLU, learned positions, transformer, mean pool. turnkit writes each convolution
    as frame stacking + a [kernel x channels, d] matMul; nn.Conv1d is the same map with the same parameter count."""

    def __init__(self, c: dict, ffn: int):
        super().__init__()
        d, k = c["dModel"], c["audioConvKernel"]
        self.conv1 = nn.Conv1d(c["nMels"], d, k, stride=2, padding=k // 2)
        self.conv2 = nn.Conv1d(d, d, k, stride=2, padding=k // 2)
        self.positions = positions(c["audioEncodedFrames"], d)
        self.encoder = TransformerEncoder(d, c["audioLayers"], c["audioHeads"], ffn)

    def forward(self, normalized: torch.Tensor) -> torch.Tensor:
        """Normalized log-mel [B, frames, nMels] -> ā [B, d]."""
        x = F.relu(self.conv2(F.relu(self.conv1(normalized.transpose(1, 2))))).transpose(1, 2)  # [B, 54, d]
        return mean_pool(self.encoder(x + self.positions), None)


class GroupedCodebook(nn.Module):
    """Ψ_g (turnkit's codebook/group{g}/{codes, ema_cluster_size, ema_sum}): G codebooks of K/G codes of width d/G,
    held here as one [G, ...] buffer per kind (same values in all; one batched op instead of a loop over groups).
    Buffers, not parameters: no gradient trains them, the EMA step does (codebook.ts)."""

    def __init__(self, c: dict):
        super().__init__()
        self.groups = c["codebookGroups"]
        self.codes_per_group = c["codebookSize"] // self.groups
        self.group_dim = c["dModel"] // self.groups
        self.decay, self.epsilon, self.dead_code_threshold = c["codebookDecay"], c["codebookEpsilon"], c["deadCodeThreshold"]
        codes = torch.randn(self.groups, self.codes_per_group, self.group_dim)
        # EMA state consistent with the codes (N_i = 1, m_i = e_i), as turnkit starts it.
        self.register_buffer("codes", codes)
        self.register_buffer("ema_cluster_size", torch.ones(self.groups, self.codes_per_group))
        self.register_buffer("ema_sum", codes.clone())

    def split(self, f: torch.Tensor) -> torch.Tensor:
        """[N, d] -> [G, N, d/G]."""
        return f.view(f.shape[0], self.groups, self.group_dim).transpose(0, 1)

    def quantize(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """f [N, d] -> (straight-through quantized [N, d], mean((f - sg[q])²), code indices [N, G])."""
        x = self.split(f.detach())
        # ||x - c||² = ||x||² - 2 x·c + ||c||², argmin over each group's codes; no gradient flows through the choice.
        distance = x.square().sum(-1, keepdim=True) - 2 * torch.bmm(x, self.codes.transpose(1, 2)) + self.codes.square().sum(-1)[:, None, :]
        indices = distance.argmin(-1)  # [G, N]
        q = torch.gather(self.codes, 1, indices[:, :, None].expand(-1, -1, self.group_dim))
        q = q.transpose(0, 1).reshape_as(f)  # a buffer's values: already sg[q]
        commitment = F.mse_loss(f, q)
        return f + (q - f).detach(), commitment, indices.t()

    @torch.no_grad()
    def update(self, vectors: torch.Tensor, indices: torch.Tensor, generator: torch.Generator) -> None:
        """One EMA step from the vectors [N, d] that went through quantize in this step and their codes [N, G]
        (codebook.ts emaUpdate): N_i <- γN_i + (1-γ)n_i, m_i <- γm_i + (1-γ)s_i, e_i = m_i / Ñ_i with Laplace
        smoothing; a code whose N_i ends below the threshold becomes a random vector of the batch (N_i = 1, m_i = e_i)."""
        n, k = vectors.shape[0], self.codes_per_group
        x = self.split(vectors)  # [G, N, d/G]
        assigned = F.one_hot(indices.t(), k).to(x.dtype)  # [G, N, K/G]
        cluster_size = self.decay * self.ema_cluster_size + (1 - self.decay) * assigned.sum(1)
        ema_sum = self.decay * self.ema_sum + (1 - self.decay) * torch.bmm(assigned.transpose(1, 2), x)
        total = cluster_size.sum(-1, keepdim=True)
        smoothed = (cluster_size + self.epsilon) / (total + k * self.epsilon) * total
        codes = ema_sum / smoothed[:, :, None]
        # Replacements drawn for every code and used where a code is dead: no host round trip to find which are.
        picks = torch.gather(x, 1, torch.randint(n, (self.groups, k), generator=generator)[:, :, None].expand(-1, -1, self.group_dim))
        dead = (cluster_size < self.dead_code_threshold)[:, :, None]
        self.codes.copy_(torch.where(dead, picks, codes))
        self.ema_sum.copy_(torch.where(dead, picks, ema_sum))
        self.ema_cluster_size.copy_(torch.where(dead[:, :, 0], torch.ones_like(cluster_size), cluster_size))


class BackboneStage(nn.Module):
    """turnkit's visual_backbone/stage{i}/{conv, norm}: a non-overlapping p x p, stride-p convolution (turnkit: space
    to depth + Dense), ReLU, layer norm over channels."""

    def __init__(self, in_channels: int, channels: int, patch: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, patch, stride=patch)
        self.norm = nn.LayerNorm(channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The layer norm runs channels-last; the permuted-back tensor is channels_last in memory, which oneDNN's
        # convolutions take as they are.
        return self.norm(F.relu(self.conv(x)).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvBackbone(nn.Module):
    """The built-in visual backbone (backbone.ts ConvBackbone): stages, a 3x3 stride-1 residual convolution on the final
    grid, a projection to d and learned row + column positions. Images [B, 3, S, S] -> regions [B, R, d]."""

    def __init__(self, c: dict):
        super().__init__()
        channels = c["backboneChannels"]
        self.stages = nn.ModuleList(
            BackboneStage(3 if i == 0 else channels[i - 1], ch, c["backbonePatch"] if i == 0 else 2) for i, ch in enumerate(channels))
        self.grid_side = c["imageSize"] // (c["backbonePatch"] * 2 ** (len(channels) - 1))
        self.mix3x3 = nn.Conv2d(channels[-1], channels[-1], 3, padding=1)
        self.projection = nn.Linear(channels[-1], c["dModel"])
        self.row_positions = positions(self.grid_side, c["dModel"])
        self.col_positions = positions(self.grid_side, c["dModel"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        for stage in self.stages:
            x = stage(x)
        x = x + F.relu(self.mix3x3(x))
        regions = self.projection(x.flatten(2).transpose(1, 2))  # [B, h·w, d], row-major regions as turnkit
        grid = (self.row_positions[:, None, :] + self.col_positions[None, :, :]).reshape(-1, regions.shape[2])
        return regions + grid


class BoxHead(nn.Module):
    """turnkit's box_head/{hidden, output}: Dense d -> d, ReLU, Dense d -> 4, sigmoid: [x, y, w, h] in [0, 1]."""

    def __init__(self, d: int):
        super().__init__()
        self.hidden = nn.Linear(d, d)
        self.output = nn.Linear(d, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.output(F.relu(self.hidden(x))))


class TextDecoder(nn.Module):
    """Ω_t, the text mask-predict decoder (turnkit's text_decoder/*): the condition prepended as position 0, masked
    tokens replaced by a learned [MASK] vector, padding not attended, logits over the vocabulary only for the masked
    non-pad positions (the targets of L_recon^t)."""

    def __init__(self, c: dict, ffn: int):
        super().__init__()
        d = c["dModel"]
        self.positions = positions(c["textLength"] + 1, d)
        self.mask_token = positions(d)
        self.encoder = TransformerEncoder(d, c["textDecoderLayers"], c["textDecoderHeads"], ffn)
        self.output = nn.Linear(d, c["vocabSize"])

    def forward(self, condition: torch.Tensor, embedded: torch.Tensor, keep: torch.Tensor, masked: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """condition [B, d], embedded tokens [B, L, d], keep [B, L], masked = mask · keep [B, L], targets: flat
        positions [M] of the masked non-pad tokens -> logits [M, vocab]."""
        m = masked[:, :, None]
        x = embedded * (1 - m) + m * self.mask_token
        sequence = torch.cat([condition[:, None, :], x], 1) + self.positions
        states = self.encoder(sequence, torch.cat([torch.ones_like(keep[:, :1]), keep], 1))
        return self.output(states[:, 1:].reshape(-1, states.shape[2])[targets])


class AudioDecoder(nn.Module):
    """Ω_a, the audio mask-predict decoder (turnkit's audio_decoder/*) at the 54-position level: each position is a
    group of 4 log-mel frames, embedded linearly or replaced by [MASK]; the condition is prepended; the output is the
    reconstruction of every group [B, 54, 4·nMels]."""

    def __init__(self, c: dict, ffn: int):
        super().__init__()
        d, width = c["dModel"], FRAMES_PER_POSITION * c["nMels"]
        self.input = nn.Linear(width, d)
        self.positions = positions(c["audioEncodedFrames"] + 1, d)
        self.mask_token = positions(d)
        self.encoder = TransformerEncoder(d, c["audioDecoderLayers"], c["audioDecoderHeads"], ffn)
        self.output = nn.Linear(d, width)

    def forward(self, condition: torch.Tensor, groups: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, :, None]
        x = self.input(groups) * (1 - m) + m * self.mask_token
        states = self.encoder(torch.cat([condition[:, None, :], x], 1) + self.positions)
        return self.output(states[:, 1:])


# --- Losses (losses.ts) ------------------------------------------------------------------------------------------

def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """GIoU per pair of [x, y, w, h] boxes (top-left corner) [B, 4] -> [B]."""
    ax, ay, aw, ah = a.unbind(1)
    bx, by, bw, bh = b.unbind(1)
    ax2, ay2, bx2, by2 = ax + aw, ay + ah, bx + bw, by + bh
    inter = F.relu(torch.minimum(ax2, bx2) - torch.maximum(ax, bx)) * F.relu(torch.minimum(ay2, by2) - torch.maximum(ay, by))
    union = aw * ah + bw * bh - inter
    enclosing = (torch.maximum(ax2, bx2) - torch.minimum(ax, bx)) * (torch.maximum(ay2, by2) - torch.minimum(ay, by))
    return inter / (union + EPS) - (enclosing - union) / (enclosing + EPS)


def info_nce(text: torch.Tensor, audio: torch.Tensor, temperature: float, symmetric: bool) -> torch.Tensor:
    """InfoNCE over the batch's pairs, cosine similarity / τ: text -> audio, or the mean of both directions."""
    t = text / torch.sqrt(text.square().sum(1, keepdim=True) + EPS)
    a = audio / torch.sqrt(audio.square().sum(1, keepdim=True) + EPS)
    logits = t @ a.t() / temperature
    labels = torch.arange(text.shape[0])
    loss = F.cross_entropy(logits, labels)
    return 0.5 * (loss + F.cross_entropy(logits.t(), labels)) if symmetric else loss


def masked_l1(predicted: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean |predicted - target| over the positions where frame_mask [B, T] is 1 (and all bands)."""
    error = ((predicted - target).abs() * frame_mask[:, :, None]).sum()
    return error / (frame_mask.sum().clamp_min(1) * predicted.shape[2])


# --- The model (turn.ts TurnModel) -------------------------------------------------------------------------------

@dataclass
class Batch:
    """turn.ts TurnBatch, PyTorch layout: images NCHW. Token ids int64, masks float32."""
    images: torch.Tensor        # [B, 3, S, S] in [0, 1]
    source_tokens: torch.Tensor  # [B, L]
    boxes: torch.Tensor         # [B, 4] [x, y, w, h] normalized
    source_text_mask: torch.Tensor  # [B, L]
    log_mel: torch.Tensor       # [B2, frames, nMels] dB
    tokens: torch.Tensor        # [B2, L] intermediate captions
    text_mask: torch.Tensor     # [B2, L]
    audio_mask: torch.Tensor    # [B2, audioEncodedFrames]

    def rows(self, s: tuple[int, int], m: tuple[int, int]) -> "Batch":
        """Source items [s0, s1) and intermediate items [m0, m1) (turn.ts sliceBatch)."""
        (s0, s1), (m0, m1) = s, m
        return Batch(self.images[s0:s1], self.source_tokens[s0:s1], self.boxes[s0:s1], self.source_text_mask[s0:s1],
                     self.log_mel[m0:m1], self.tokens[m0:m1], self.text_mask[m0:m1], self.audio_mask[m0:m1])


@dataclass
class BatchPart:
    """turn.ts BatchPart: a micro-batch's share of each mean's denominator and its rows of ∂L_contra/∂(t̄ᵐ, āᵐ)."""
    source: float
    text: float
    audio: float
    code: float
    contrast_text: torch.Tensor | None = None
    contrast_audio: torch.Tensor | None = None


WHOLE_BATCH = BatchPart(1.0, 1.0, 1.0, 1.0)


LOSS_TERMS = ("total", "loc", "smoothL1", "giou", "code", "reconAudio", "reconText", "contrast")
MODULES = ("token_embedding", "text_encoder", "audio_encoder", "codebook", "visual_backbone", "visual_encoder",
           "box_head", "text_decoder", "audio_decoder")


def text_targets(tokens: torch.Tensor, mask: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Flat positions of the masked non-pad tokens (turn.ts maskedTargetRows)."""
    return torch.nonzero(((mask > 0.5) & (tokens != pad_id)).flatten()).squeeze(1)


class Turn(nn.Module):
    """TURN's alignment stream (Θ_t, Θ_a, Ψ_g, Ω_t, Ω_a) and localization stream (backbone, query modulation, Θ_v,
    box head). Attributes are turnkit's modules, in turnkit's creation order (describe.ts counts by them)."""

    def __init__(self, c: dict):
        super().__init__()
        if c["backbone"] != "conv":
            raise ValueError("turn_step.py mirrors the built-in 'conv' backbone only (a 'frozen' one is a loaded tfjs graph)")
        self.c = c
        d = c["dModel"]
        ffn = round(c["ffnMultiplier"] * d)
        # One token table for Θ_t's and Ω_t's inputs.
        self.token_embedding = nn.Embedding(c["vocabSize"], d)
        embedding_(self.token_embedding.weight)
        self.text_encoder = TextEncoder(c, ffn)
        self.audio_encoder = AudioEncoder(c, ffn)
        self.codebook = GroupedCodebook(c)
        self.visual_backbone = ConvBackbone(c)
        self.visual_encoder = TransformerEncoder(d, c["visualLayers"], c["visualHeads"], ffn)  # Θ_v
        self.box_head = BoxHead(d)
        self.text_decoder = TextDecoder(c, ffn)
        self.audio_decoder = AudioDecoder(c, ffn)
        dense_init_(self)

    def text_states(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids [B, L] -> states [B, L, d], pooled t̄ [B, d], keep [B, L] (0 at [PAD])."""
        keep = (tokens != self.c["padId"]).float()
        states = self.text_encoder(self.token_embedding(tokens), keep)
        return states, mean_pool(states, keep), keep

    def normalized_log_mel(self, log_mel: torch.Tensor) -> torch.Tensor:
        return (log_mel - self.c["logMelMeanDb"]) / self.c["logMelStdDb"]

    def localize(self, images: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Boxes [B, 4] from images and queries q [B, d]: v̂_i = (v_i ⊙ q) / ||v_i ⊙ q||₂, Θ_v, mean, box head."""
        modulated = self.visual_backbone(images) * query[:, None, :]
        unit = modulated / torch.sqrt(modulated.square().sum(2, keepdim=True) + MODULATION_EPS)
        return self.box_head(mean_pool(self.visual_encoder(unit), None))

    def compute_losses(self, batch: Batch, part: BatchPart | None = None):
        """Every loss term of one step (turn.ts computeLosses) -> (total, {term: tensor}, (codebook inputs, codes)).
        With `part`, each mean is scaled by the slice's share of its denominator and InfoNCE is replaced by the
        GradCache surrogate Σ t̄ᵐ·∂L/∂t̄ᵐ + Σ āᵐ·∂L/∂āᵐ, as turnkit does."""
        c = self.c
        bs, bm = batch.source_tokens.shape[0], batch.tokens.shape[0]
        # Source and intermediate texts through Θ_t as one batch, as turnkit.
        tokens = torch.cat([batch.source_tokens, batch.tokens], 0)
        _, text_pooled, keep = self.text_states(tokens)
        text_pooled_m = text_pooled[bs:]
        normalized = self.normalized_log_mel(batch.log_mel)
        audio_m = self.audio_encoder(normalized)
        # One codebook pass over [t̄ˢ; t̄ᵐ; āᵐ]: the same Ψ_g quantize text and audio.
        pooled = torch.cat([text_pooled, audio_m], 0)
        quantized, commitment, indices = self.codebook.quantize(pooled)
        t_s, t_m, a_m = quantized[:bs], quantized[bs:bs + bm], quantized[bs + bm:]

        w = part or WHOLE_BATCH
        boxes = self.localize(batch.images, t_s)
        smooth_l1 = w.source * F.smooth_l1_loss(boxes, batch.boxes, beta=c["smoothL1Beta"])
        giou = w.source * (1 - generalized_iou(boxes, batch.boxes)).mean()
        loc = c["lambdaSmoothL1"] * smooth_l1 + c["lambdaGiou"] * giou

        # T̃ˢ = Ω_t(ťˢ, masked Tˢ) and T̃ᵐ = Ω_t(ǎᵐ, masked Tᵐ) as one batch; the decoder gathers its own embeddings of
        # the same ids (a second gather into the shared table, as turnkit).
        mask = torch.cat([batch.source_text_mask, batch.text_mask], 0)
        targets = text_targets(tokens, mask, c["padId"])
        logits = self.text_decoder(torch.cat([t_s, a_m], 0), self.token_embedding(tokens), keep, mask * keep, targets)
        recon_text = w.text * (F.cross_entropy(logits, tokens.flatten()[targets]) if targets.numel() else logits.sum())
        # Ã = Ω_a(ťᵐ, masked Aᵐ); L1 on the masked groups of 4 frames of the normalized log-mel.
        groups = normalized.reshape(bm, c["audioEncodedFrames"], FRAMES_PER_POSITION * c["nMels"])
        recon_audio = w.audio * masked_l1(self.audio_decoder(t_m, groups, batch.audio_mask), groups, batch.audio_mask)
        if part is None:
            contrast = info_nce(text_pooled_m, audio_m, c["contrastTemperature"], c["contrastSymmetric"])
        else:
            contrast = (text_pooled_m * part.contrast_text).sum() + (audio_m * part.contrast_audio).sum()
        code = w.code * c["beta"] * commitment

        total = loc + c["lambdaCode"] * code + c["lambdaRecon"] * (recon_audio + recon_text) + c["lambdaContrast"] * contrast
        terms = dict(total=total, loc=loc, smoothL1=smooth_l1, giou=giou, code=code, reconAudio=recon_audio,
                     reconText=recon_text, contrast=contrast)
        return total, terms, (pooled.detach(), indices)


def losses_of(terms: dict) -> dict:
    """Host copies of the loss terms (turnkit reads each to the host every step), in one transfer."""
    return dict(zip(LOSS_TERMS, torch.stack([terms[k].detach() for k in LOSS_TERMS]).tolist()))


def training_gradients(model: Turn, batch: Batch, micro_batch: int | None):
    """Backward of the whole batch's loss into every parameter's .grad (turn.ts trainingGradients): in one pass, or in
    ceil(max(B, B2) / micro_batch) slices (at most min(B, B2)) whose gradients accumulate. InfoNCE needs the whole
    batch's negatives: a first pass without a tape computes t̄ᵐ, āᵐ of every intermediate item and the loss's gradient
    to them, and each slice back-propagates its rows of it (GradCache). Returns (losses, [(vectors, codes)])."""
    c = model.c
    bs, bm = batch.source_tokens.shape[0], batch.tokens.shape[0]
    parts = 1 if micro_batch is None else min(bs, bm, math.ceil(max(bs, bm) / micro_batch))
    if parts <= 1:
        total, terms, assignment = model.compute_losses(batch)
        total.backward()
        return losses_of(terms), [assignment]

    def cut(n: int, k: int) -> tuple[int, int]:
        return (k * n) // parts, ((k + 1) * n) // parts

    slices = [(cut(bs, k), cut(bm, k)) for k in range(parts)]
    with torch.no_grad():
        pooled = [(model.text_states(batch.tokens[m0:m1])[1], model.audio_encoder(model.normalized_log_mel(batch.log_mel[m0:m1])))
                  for _, (m0, m1) in slices]
    text = torch.cat([t for t, _ in pooled]).requires_grad_()
    audio = torch.cat([a for _, a in pooled]).requires_grad_()
    contrast = info_nce(text, audio, c["contrastTemperature"], c["contrastSymmetric"])
    grad_text, grad_audio = torch.autograd.grad(contrast, [text, audio])

    # Denominators of the whole batch's means, to weight each slice's.
    def count_targets(b: Batch) -> int:
        return int(text_targets(b.source_tokens, b.source_text_mask, c["padId"]).numel() + text_targets(b.tokens, b.text_mask, c["padId"]).numel())

    all_targets = count_targets(batch)
    all_audio = max(1.0, float(batch.audio_mask.sum()))
    sums = dict.fromkeys(LOSS_TERMS, 0.0)
    assignments = []
    for (s0, s1), (m0, m1) in slices:
        piece = batch.rows((s0, s1), (m0, m1))
        part = BatchPart(
            source=(s1 - s0) / bs,
            text=0.0 if all_targets == 0 else count_targets(piece) / all_targets,
            audio=float(piece.audio_mask.sum()) / all_audio,
            code=((s1 - s0) + 2 * (m1 - m0)) / (bs + 2 * bm),
            contrast_text=grad_text[m0:m1],
            contrast_audio=grad_audio[m0:m1],
        )
        total, terms, assignment = model.compute_losses(piece, part)
        total.backward()
        for k, v in losses_of(terms).items():
            sums[k] += v
        assignments.append(assignment)
    sums["contrast"] = float(contrast.detach())
    sums["total"] = sums["loc"] + c["lambdaCode"] * sums["code"] + c["lambdaRecon"] * (sums["reconAudio"] + sums["reconText"]) + c["lambdaContrast"] * sums["contrast"]
    return sums, assignments


def plain_sgd_step(model: Turn, batch: Batch, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                   micro_batch: int | None) -> dict:
    """synthetic.ts plainSgdStep: gradients of every loss, θ -= lr·∇ on every trainable parameter, the codebook EMA step."""
    losses, assignments = training_gradients(model, batch, micro_batch)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.codebook.update(torch.cat([v for v, _ in assignments]), torch.cat([i for _, i in assignments]), generator)
    return losses


# --- Synthetic batch (synthetic.ts syntheticBatch, turn.ts reconstructionMasks) ----------------------------------

def js_round(x: float) -> int:
    """Math.round (half up), not Python's round (half to even)."""
    return math.floor(x + 0.5)


def synthetic_batch(c: dict, source: int, intermediate: int, generator: torch.Generator) -> Batch:
    """Random items of turnkit's shapes and ranges: images uniform in [0, 1], texts of 3..textLength non-pad tokens
    then [PAD], log-mel uniform in [-80, 0] dB, boxes inside the image, masks at maskRatioStart."""
    l, ratio, pad = c["textLength"], c["maskRatioStart"], c["padId"]
    rand = lambda *shape: torch.rand(*shape, generator=generator)

    def tokens(b: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.full((b, l), pad, dtype=torch.long)
        mask = torch.zeros(b, l)
        for r in range(b):
            length = 3 + int(rand(1) * (l - 2))
            row = torch.randint(c["vocabSize"], (length,), generator=generator)
            ids[r, :length] = torch.where(row == pad, (row + 1) % c["vocabSize"], row)
            # round(ratio · n) of the n non-pad tokens, at least 1 (the non-pad tokens are the first `length`).
            mask[r, torch.randperm(length, generator=generator)[:max(1, js_round(ratio * length))]] = 1
        return ids, mask

    s = c["imageSize"]
    source_tokens, source_mask = tokens(source)
    inter_tokens, inter_mask = tokens(intermediate)
    w, h = 0.1 + 0.8 * rand(source), 0.1 + 0.8 * rand(source)
    boxes = torch.stack([rand(source) * (1 - w), rand(source) * (1 - h), w, h], 1)
    p = c["audioEncodedFrames"]
    audio_mask = torch.zeros(intermediate, p)
    for r in range(intermediate):
        audio_mask[r, torch.randperm(p, generator=generator)[:max(1, js_round(ratio * p))]] = 1
    log_mel = -80 * rand(intermediate, c["audioFrames"], c["nMels"])
    return Batch(rand(source, 3, s, s), source_tokens, boxes, source_mask, log_mel, inter_tokens, inter_mask, audio_mask)


# --- Parameter counts (describe.ts) ------------------------------------------------------------------------------

def module_counts(model: Turn) -> list[dict]:
    """Trainable and non-trainable values per turnkit module, in describeModel's format."""
    out = []
    for name in MODULES:
        module = getattr(model, name)
        params = list(module.parameters())
        out.append(dict(module=name, trainable=sum(p.numel() for p in params if p.requires_grad),
                        nonTrainable=sum(p.numel() for p in params if not p.requires_grad) + sum(b.numel() for b in module.buffers())))
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="resolved TurnConfig JSON, or bench/python/turn-config.ts output")
    ap.add_argument("--source", type=int, required=True, help="source items (image, text, box) per step")
    ap.add_argument("--intermediate", type=int, required=True, help="intermediate items (audio, text) per step")
    ap.add_argument("--micro-batch", type=int, default=None, help="items per domain per forward/backward (gradients summed)")
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured steps first")
    ap.add_argument("--steps", type=int, default=20, help="measured steps")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (inter-op: 1)")
    ap.add_argument("--expect-params", type=int, default=None, help="exit 1 unless the total parameter count is this")
    ap.add_argument("--lr", type=float, default=1e-4, help="SGD learning rate (bench/model.ts: 1e-4)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.source < 1 or args.intermediate < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1 or (args.micro_batch is not None and args.micro_batch < 1):
        ap.error("--source, --intermediate, --steps, --threads and --micro-batch must be >= 1, --warmup >= 0")
    # Before any parallel work: the inter-op pool cannot be resized once it has started.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    with open(args.config) as f:
        loaded = json.load(f)
    config = loaded.get("config", loaded)
    reference = loaded.get("parameters")  # turnkit's counts, when given turn-config.ts output

    torch.manual_seed(args.seed)
    model = Turn(config)
    counts = module_counts(model)
    trainable = sum(m["trainable"] for m in counts)
    non_trainable = sum(m["nonTrainable"] for m in counts)
    total = trainable + non_trainable
    errors = []
    if reference is not None:
        theirs = {m["module"]: (m["trainable"], m["nonTrainable"]) for m in reference["modules"]}
        ours = {m["module"]: (m["trainable"], m["nonTrainable"]) for m in counts}
        for name in sorted(set(theirs) | set(ours)):
            if theirs.get(name) != ours.get(name):
                errors.append(f"{name}: turnkit {theirs.get(name)} (trainable, non-trainable), PyTorch {ours.get(name)}")
    if args.expect_params is not None and total != args.expect_params:
        errors.append(f"total: expected {args.expect_params}, PyTorch has {total}")
    if errors:
        print("turn_step.py: parameter counts differ from turnkit's:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1

    generator = torch.Generator().manual_seed(args.seed + 1)
    batch = synthetic_batch(config, args.source, args.intermediate, generator)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        losses = plain_sgd_step(model, batch, optimizer, generator, args.micro_batch)
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1000)
    if not math.isfinite(losses["total"]):
        print(f"turn_step.py: the loss is not finite ({losses})", file=sys.stderr)
        return 1
    bs, bm = args.source, args.intermediate
    parts = 1 if args.micro_batch is None else max(1, min(bs, bm, math.ceil(max(bs, bm) / args.micro_batch)))
    print(json.dumps(dict(params=total, trainable=trainable, non_trainable=non_trainable,
                          ms_per_step=round(statistics.median(times), 3), ms_mean=round(statistics.fmean(times), 3),
                          steps=args.steps, warmup=args.warmup, micro_batch=args.micro_batch, parts=parts,
                          threads=args.threads, torch=torch.__version__)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
