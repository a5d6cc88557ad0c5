"""Encoder models: backbones, code/inference heads and the hashing encoder."""
from nacsearch.models.encoder import EncoderOutput, HashEncoder

__all__ = ["EncoderOutput", "HashEncoder"]
