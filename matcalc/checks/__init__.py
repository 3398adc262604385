"""Verdicts on hand-written formulas: shapes first, then values against matcalc's own derivation."""
