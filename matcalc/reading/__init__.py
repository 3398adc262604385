"""Text in: the LaTeX reader for matrix formulas, name resolution, scalar LaTeX definitions."""
