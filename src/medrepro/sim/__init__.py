"""Offline simulators, one module per modality; each says what is realistic about it and what is not."""
