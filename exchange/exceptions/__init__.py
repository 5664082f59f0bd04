"""Exceptions to the normal course of a listing (第二十二–二十五条): 终结 (termination) so far."""
