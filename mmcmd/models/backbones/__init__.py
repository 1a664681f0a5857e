"""CMD backbones registered in mmaction's MODELS."""
from .base import CMDBackbone
from .cmd_c3d import CMDC3D
from .cmd_resnet import CMDResNet2d, CMDResNet2Plus1d, CMDResNet3d
from .inception_i3d import InceptionI3D
from .r3d_resnet import R3DResNet

__all__ = ['CMDBackbone', 'CMDC3D', 'CMDResNet2d',
           'CMDResNet2Plus1d', 'CMDResNet3d', 'InceptionI3D', 'R3DResNet']
