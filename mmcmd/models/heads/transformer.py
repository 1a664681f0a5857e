"""DETR-style encoder-decoder transformer (post-norm, positions on q/k only).

Submodule names follow the official CMD checkpoint (``encoder.layers.i``
with ``self_attn, norm1, fc1, fc2, norm2``; ``decoder.layers.i`` with
``self_attn, norm1, cross_attn, norm2, fc1, fc2, norm3``; no final norms).
"""
from __future__ import annotations

import torch
from torch import nn


class _FeedForward(nn.Module):
    """Shared by both layer types: fc1 -> ReLU -> dropout -> fc2."""

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))


class EncoderLayer(_FeedForward):
    """Self-attention (q = k = x + pos, v = x) and FFN, each add & norm."""

    def __init__(self, dims: int, num_heads: int, ffn_channels: int,
                 dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dims, num_heads, dropout,
                                               batch_first=True)
        self.norm1 = nn.LayerNorm(dims)
        self.fc1 = nn.Linear(dims, ffn_channels)
        self.fc2 = nn.Linear(ffn_channels, dims)
        self.norm2 = nn.LayerNorm(dims)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """(B, S, D) tokens with (S, D) positions -> (B, S, D)."""
        qk = x + pos
        x = self.norm1(x + self.dropout(self.self_attn(qk, qk, x)[0]))
        return self.norm2(x + self.dropout(self._ffn(x)))


class DecoderLayer(_FeedForward):
    """Self-attention, cross-attention to the memory, FFN; post-norm."""

    def __init__(self, dims: int, num_heads: int, ffn_channels: int,
                 dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dims, num_heads, dropout,
                                               batch_first=True)
        self.norm1 = nn.LayerNorm(dims)
        self.cross_attn = nn.MultiheadAttention(dims, num_heads, dropout,
                                                batch_first=True)
        self.norm2 = nn.LayerNorm(dims)
        self.fc1 = nn.Linear(dims, ffn_channels)
        self.fc2 = nn.Linear(ffn_channels, dims)
        self.norm3 = nn.LayerNorm(dims)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor,
                query_pos: torch.Tensor, memory_pos: torch.Tensor
                ) -> torch.Tensor:
        """(B, P, D) targets attending to (B, S, D) memory -> (B, P, D)."""
        qk = x + query_pos
        x = self.norm1(x + self.dropout(self.self_attn(qk, qk, x)[0]))
        attn = self.cross_attn(x + query_pos, memory + memory_pos, memory)[0]
        x = self.norm2(x + self.dropout(attn))
        return self.norm3(x + self.dropout(self._ffn(x)))


class _Stack(nn.Module):
    """Holds ``layers`` so keys read ``encoder.layers.i.*``."""

    def __init__(self, layers: list) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)


class PredictionTransformer(nn.Module):
    """Encode the clip tokens, decode zero queries at the target positions.

    Args:
        dims: token width D.
        num_heads: attention heads.
        num_encoder_layers: encoder layers over the S source tokens.
        num_decoder_layers: decoder layers over the P target tokens.
        ffn_channels: hidden width of each layer's feed-forward network.
        dropout: dropout of attention and feed-forward outputs.
    """

    def __init__(self, dims: int = 512, num_heads: int = 8,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 4,
                 ffn_channels: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = _Stack([
            EncoderLayer(dims, num_heads, ffn_channels, dropout)
            for _ in range(num_encoder_layers)])
        self.decoder = _Stack([
            DecoderLayer(dims, num_heads, ffn_channels, dropout)
            for _ in range(num_decoder_layers)])

    def reset_parameters(self) -> None:
        """Xavier-uniform for every matrix, zeros for biases, LN identity."""
        for name, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
            elif 'norm' in name and name.endswith('weight'):
                nn.init.ones_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, source: torch.Tensor, source_pos: torch.Tensor,
                target_pos: torch.Tensor) -> torch.Tensor:
        """(B, S, D) source, (S, D) and (P, D) positions -> (B, P, D)."""
        memory = source
        for layer in self.encoder.layers:
            memory = layer(memory, source_pos)
        out = source.new_zeros(source.shape[0], target_pos.shape[0],
                               source.shape[2])
        for layer in self.decoder.layers:
            out = layer(out, memory, target_pos, source_pos)
        return out
