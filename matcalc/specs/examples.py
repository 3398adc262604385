"""The built-in example network of ``matcalc derive``: three layers, symbolic sizes."""

EXAMPLE_SPEC = """\
convention = "6.390"
loss = "nll"

[[layer]]
activation = "relu"

[[layer]]
activation = "tanh"

[[layer]]
activation = "sigmoid"
"""
