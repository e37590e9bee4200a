"""Inputs: parse, validate and align holdings, targets, security master and market data."""
