"""Calibration from data: transaction logs read and fitted into scenarios; forecasts."""

__all__: list[str] = []
