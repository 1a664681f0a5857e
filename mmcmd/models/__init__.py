"""Registered mmcmd models: backbones, heads, losses, self-supervisors."""
from .. import _openmmlab  # noqa: F401  (compat first)
from . import backbones, data_preprocessors, heads, losses, necks, selfsup  # noqa: F401
from .backbones import (
                        CMDC3D,
                        CMDResNet2d,
                        CMDResNet2Plus1d,
                        CMDResNet3d,
                        InceptionI3D,
                        R3DResNet,
)
from .data_preprocessors import CMDDataPreprocessor
from .heads import ContextMatchingHead, MotionPredictionHead
from .losses import GatheredInfoNCE
from .necks import ClipMapFusion
from .selfsup import CMD, DSM, MLFO, BaseSelfSupervisor, DSMTriplet

__all__ = ['BaseSelfSupervisor', 'ClipMapFusion', 'CMD', 'CMDC3D',
           'CMDDataPreprocessor', 'CMDResNet2d', 'CMDResNet2Plus1d',
           'CMDResNet3d', 'ContextMatchingHead', 'DSM', 'DSMTriplet',
           'GatheredInfoNCE',
           'InceptionI3D', 'MLFO', 'MotionPredictionHead', 'R3DResNet']
