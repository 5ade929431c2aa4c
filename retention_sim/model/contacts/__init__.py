"""The contact engine: a policy's campaigns turned into messages, guardrails and responses."""

__all__: list[str] = []
