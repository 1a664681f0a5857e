"""Residual blocks of the CMD ResNet family (3D, (2+1)D and 2D as 1xkxk 3D).

Module names follow the public checkpoints (Hara et al. layout used by the
ModelScope CMD models), so their state dicts load without renaming.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

Triple = Tuple[int, int, int]


def factorised_width(in_channels: int, out_channels: int, kt: int = 3,
                     ks: int = 3) -> int:
    """Mid width of a (2+1)D conv with the parameter count of the full 3D one."""
    full = in_channels * out_channels * kt * ks * ks
    return full // (in_channels * ks * ks + kt * out_channels)


def conv3d(in_channels: int, out_channels: int, kernel: Triple,
           stride: Triple = (1, 1, 1), bias: bool = False) -> nn.Conv3d:
    """A Conv3d with 'same' padding for odd kernels."""
    padding = tuple(k // 2 for k in kernel)
    return nn.Conv3d(in_channels, out_channels, kernel, stride, padding,
                     bias=bias)


def block_strides(stride: int, temporal: bool) -> Tuple[Triple, Triple]:
    """(spatial stride, temporal stride) triples of a block."""
    return (1, stride, stride), ((stride if temporal else 1), 1, 1)


class BasicBlock3d(nn.Module):
    """conv1 (kxkxk) -> bn1 -> relu -> conv2 -> bn2 -> + identity -> relu."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 temporal: bool = True) -> None:
        super().__init__()
        kt = 3 if temporal else 1
        st = stride if temporal else 1
        self.conv1 = conv3d(in_channels, planes, (kt, 3, 3), (st, stride, stride))
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = conv3d(planes, planes, (kt, 3, 3))
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm3d:
        """The BN whose gamma is zero-initialised."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual forward."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class BasicBlock2Plus1d(nn.Module):
    """Two factorised convs: conv{i}_s 1x3x3 then conv{i}_t 3x1x1, i = 1, 2."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 temporal: bool = True) -> None:
        super().__init__()
        s_stride, t_stride = block_strides(stride, temporal)
        mid1 = factorised_width(in_channels, planes)
        mid2 = factorised_width(planes, planes)
        self.conv1_s = conv3d(in_channels, mid1, (1, 3, 3), s_stride)
        self.bn1_s = nn.BatchNorm3d(mid1)
        self.conv1_t = conv3d(mid1, planes, (3, 1, 1), t_stride)
        self.bn1_t = nn.BatchNorm3d(planes)
        self.conv2_s = conv3d(planes, mid2, (1, 3, 3))
        self.bn2_s = nn.BatchNorm3d(mid2)
        self.conv2_t = conv3d(mid2, planes, (3, 1, 1))
        self.bn2_t = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm3d:
        """The BN whose gamma is zero-initialised."""
        return self.bn2_t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual forward."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1_s(self.conv1_s(x)))
        out = self.relu(self.bn1_t(self.conv1_t(out)))
        out = self.relu(self.bn2_s(self.conv2_s(out)))
        out = self.bn2_t(self.conv2_t(out))
        return self.relu(out + identity)


class Bottleneck3d(nn.Module):
    """conv1 1x1x1 -> conv2 kxkxk (strided) -> conv3 1x1x1 (x4 channels)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 temporal: bool = True) -> None:
        super().__init__()
        kt = 3 if temporal else 1
        st = stride if temporal else 1
        self.conv1 = conv3d(in_channels, planes, (1, 1, 1))
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = conv3d(planes, planes, (kt, 3, 3), (st, stride, stride))
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = conv3d(planes, planes * 4, (1, 1, 1))
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm3d:
        """The BN whose gamma is zero-initialised."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual forward."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class Bottleneck2Plus1d(nn.Module):
    """conv1 1x1x1 -> conv2_s 1x3x3 -> conv2_t 3x1x1 -> conv3 1x1x1 (x4)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 temporal: bool = True) -> None:
        super().__init__()
        s_stride, t_stride = block_strides(stride, temporal)
        mid = factorised_width(planes, planes)
        self.conv1 = conv3d(in_channels, planes, (1, 1, 1))
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2_s = conv3d(planes, mid, (1, 3, 3), s_stride)
        self.bn2_s = nn.BatchNorm3d(mid)
        self.conv2_t = conv3d(mid, planes, (3, 1, 1), t_stride)
        self.bn2_t = nn.BatchNorm3d(planes)
        self.conv3 = conv3d(planes, planes * 4, (1, 1, 1))
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm3d:
        """The BN whose gamma is zero-initialised."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual forward."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2_s(self.conv2_s(out)))
        out = self.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)
