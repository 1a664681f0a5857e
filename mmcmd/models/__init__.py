"""Registered mmcmd models: backbones, heads, losses, self-supervisors."""
from . import backbones, data_preprocessors, heads, losses, selfsup  # noqa: F401
from .backbones import CMDC3D, CMDResNet2d, CMDResNet2Plus1d, CMDResNet3d
from .data_preprocessors import CMDDataPreprocessor
from .heads import ContextMatchingHead, MotionPredictionHead
from .selfsup import CMD, BaseSelfSupervisor

__all__ = ['BaseSelfSupervisor', 'CMD', 'CMDC3D', 'CMDDataPreprocessor',
           'CMDResNet2d', 'CMDResNet2Plus1d', 'CMDResNet3d',
           'ContextMatchingHead', 'MotionPredictionHead']
