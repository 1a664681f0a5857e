"""Contrastive losses."""
from .info_nce import GatheredInfoNCE, gather_with_grad, info_nce

__all__ = ['GatheredInfoNCE', 'gather_with_grad', 'info_nce']
