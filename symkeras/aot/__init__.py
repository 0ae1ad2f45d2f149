"""Ahead-of-time export: a trained model written out as code that runs without symkeras."""
