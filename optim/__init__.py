"""numbagrad.optim"""
