"""What people look at: figures, the papermill report and the what-if helpers."""

__all__: list[str] = []
