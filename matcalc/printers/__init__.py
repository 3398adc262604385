"""Text out of derivations: LaTeX, documents, Markdown, JSON, NumPy source, the rule catalog."""
