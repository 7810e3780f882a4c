"""numbagrad.nn"""
