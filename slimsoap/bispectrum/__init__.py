"""Compressed SOAP bispectrum (body order four): calculator, vocabulary and coupling."""
