"""Registered mmcmd components."""
