"""Data preprocessors."""
from .cmd_data_preprocessor import CMDDataPreprocessor

__all__ = ['CMDDataPreprocessor']
