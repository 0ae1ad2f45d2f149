"""Keras-backend-style API (K)."""
