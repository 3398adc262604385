"""Derivatives in an expression context: gradients and Jacobians in the context's layout,
matrix-by-matrix differentials and Hessians, each derived with the rule table and simplified
with the rewrites the context allows (the table's, those of functions of matrices, and those
its [assume] table allows)."""

from __future__ import annotations

import sympy

from matcalc.core.expr import (
    Derivative,
    Expr,
    Fill,
    Scale,
    Symbol,
    matmul,
    substitute,
    transpose,
)
from matcalc.core.record import record
from matcalc.core.rule import Rule
from matcalc.core.shapes import SCALAR, is_column, is_scalar, shape_text
from matcalc.engine.pullback import jacobian, pullback
from matcalc.engine.rules import EXPRESSION_REWRITES, REWRITES, assumption_rules, rule_named
from matcalc.engine.simplify import simplify
from matcalc.errors import MatcalcError
from matcalc.specs.context import Context, ContextError, name_key

BEFORE_DERIVING = (rule_named("log of a determinant"), rule_named("unsquared norm"))


def derivative_value(context: Context, num: Expr, den: Expr, nabla: bool = False) -> Expr:
    """d num / d den in this layout, derived with the rule table and simplified."""
    if not isinstance(den, Symbol):
        raise ContextError(f"differentiate by a declared or defined name, not by {den}")
    num = simplify(context.expand(num, frozenset({den})), rules=BEFORE_DERIVING)
    rules = context_rules(context)
    if is_scalar(num.shape):
        gradient = simplify(pullback(num, den, Fill(sympy.Integer(1), SCALAR)), rules=rules)
        gradient = without_zero_terms(gradient)
        if nabla or context.layout != "numerator":
            return gradient
        return simplify(transpose(gradient), rules=rules)
    context.derivative_shape(num, den)
    denominator = simplify(jacobian(num, den), rules=rules)
    if context.layout == "denominator":
        return denominator
    return simplify(transpose(denominator), rules=rules)


def without_zero_terms(value: Expr) -> Expr:
    """0 X as the zero matrix and 0 terms dropped, at the top of a derived value only (terms
    that cancel: tr(X^{-1} A X) = tr A has the gradient 0); a 0 written inside, as in
    det(0 X), is the user's and stays."""
    from matcalc.core.expr import Add, add

    def written_zero(node: Expr) -> bool:
        return isinstance(node, Scale) and node.coeff == 0

    def zero(term: Expr) -> bool:
        if isinstance(term, Fill):
            return term.value == 0
        return written_zero(term) and not any(written_zero(n) for n in term.arg.walk())

    if zero(value):
        return Fill(sympy.Integer(0), value.shape)
    if isinstance(value, Add) and any(zero(t) for t in value.terms):
        kept = [t for t in value.terms if not zero(t)]
        return add(*kept) if kept else Fill(sympy.Integer(0), value.shape)
    return value


def context_rules(context: Context) -> tuple[Rule, ...]:
    """The rewrite rules of this context: the table's, those of functions of matrices and
    those its assumptions allow."""
    table = tuple(rule for rule in REWRITES if rule.name != "transpose of a sum")
    return table + EXPRESSION_REWRITES + assumption_rules(context.assumed())


def is_matrix_derivative(context: Context, of: str, wrt: str) -> bool:
    """Whether d of / d wrt is neither a gradient nor a column-by-column Jacobian."""
    num, den = context.lookup(of), context.wrt_symbol(wrt)
    return not (is_scalar(num.shape) or (is_column(num.shape) and is_column(den.shape)))


def matrix_derivative(context: Context, of: str, wrt: str) -> tuple[Expr, Expr]:
    """F written out and its differential dF, linear in dX (Cookbook sec. 2.2)."""
    from matcalc.engine.differential import differential

    den = context.wrt_symbol(wrt)
    num = simplify(context.expand(context.lookup(of), frozenset({den})), rules=BEFORE_DERIVING)
    try:
        return num, differential(num, den, context_rules(context))
    except MatcalcError as error:
        raise ContextError(f"d{of}/d{wrt}: {error}") from None


def hessian(context: Context, of: str, wrt: str) -> Expr:
    """The Hessian of a scalar by a column, from the differential of its gradient."""
    from matcalc.engine.differential import hessian as hessian_of

    variable = context.wrt_symbol(wrt)
    gradient = derivative_value(context, context.lookup(of), variable, nabla=True)
    if variable not in set(gradient.walk()):
        return Fill(sympy.Integer(0), (variable.shape[0], variable.shape[0]))
    try:
        return hessian_of(gradient, context.wrt_symbol(wrt), context_rules(context))
    except MatcalcError as error:
        raise ContextError(f"the Hessian of {of} by {wrt}: {error}") from None


def hessian_vector_product(context: Context, of: str, wrt: str, vector: str) -> Expr:
    """H v for a declared column v of x's shape: the differential of the gradient with dx = v
    (Pearlmutter's R-operator), H never formed."""
    from matcalc.engine.differential import hessian_vector

    variable = context.wrt_symbol(wrt)
    v = context.lookup(vector)
    if not is_column(variable.shape) or v.shape != variable.shape:
        raise ContextError(
            f"--hvp {vector}: H v needs a column v of the shape of {wrt} "
            f"({shape_text(variable.shape)}); {vector} is {shape_text(v.shape)}"
        )
    if v == variable:
        raise ContextError(f"--hvp {vector}: v must be another name than {wrt}")
    gradient = context.expand(derivative_value(context, context.lookup(of), variable, True))
    if variable not in set(gradient.walk()):
        return Fill(sympy.Integer(0), variable.shape)
    try:
        return hessian_vector(gradient, variable, v, context_rules(context))
    except MatcalcError as error:
        raise ContextError(f"H v of {of} by {wrt}: {error}") from None


@record
class GaussNewton:
    """f = l(z) for an output z of x: G = J^T H_l J with J = dz/dx^T (numerator layout) and
    H_l = d^2 l/dz dz^T, the Hessian of f without the second derivatives of z."""

    output: Expr
    jacobian: Expr
    curvature: Expr
    value: Expr
    named: bool


OUTPUT = Symbol(r"\zeta", SCALAR)
GAUSS_NEWTON_ASKS = (
    "the Gauss-Newton form needs a loss of one output column z of the variable: define the "
    "output (z = ...) and the loss of it, or write a squared norm, a softmax or a sigmoid "
    "cross-entropy of it"
)


def _output_of(context: Context, of: str, function: Expr, variable: Symbol) -> tuple[Expr, bool]:
    """The output layer z of f = l(z): the one defined name f's definition uses that depends
    on x, else the argument of the outermost squared norm, softmax or sigmoid that holds every
    occurrence of x."""
    from matcalc.core.expr import Apply, Softmax, SquaredNorm

    key = name_key(of)
    if key in context.definitions:
        used = [
            context.names[k]
            for k in context.definitions
            if context.names[k] in set(context.definitions[key].walk())
            and context.names[k] != variable
            and variable in set(context.expand(context.names[k], frozenset({variable})).walk())
        ]
        if len(used) == 1 and is_column(used[0].shape):
            return used[0], True
    for node in function.walk():
        link = isinstance(node, Apply) and node.fn.name == "sigmoid"
        inner = node.arg if isinstance(node, SquaredNorm | Softmax) or link else None
        if inner is None or not is_column(inner.shape) or variable not in set(inner.walk()):
            continue
        probe = Symbol(OUTPUT.name, inner.shape)
        if variable not in set(substitute(function, {inner: probe}).walk()):
            return inner, False
    raise ContextError(f"--gauss-newton: {of} by {variable}: {GAUSS_NEWTON_ASKS}")


def has_output(context: Context, of: str, wrt: str) -> bool:
    """Whether f is a loss of one output column of x (see :func:`gauss_newton`)."""
    variable = context.wrt_symbol(wrt)
    function = simplify(
        context.expand(context.lookup(of), frozenset({variable})), rules=BEFORE_DERIVING
    )
    try:
        _output_of(context, of, function, variable)
    except ContextError:
        return False
    return True


def gauss_newton(context: Context, of: str, wrt: str) -> GaussNewton:
    """The Gauss-Newton matrix of f = l(z(x)): J^T H_l J (2 J^T J for a squared norm of the
    residual, J^T (diag(p) - p p^T) J for softmax cross-entropy with p = softmax(z))."""
    from matcalc.engine.differential import hessian as hessian_of

    variable = context.wrt_symbol(wrt)
    if not is_column(variable.shape):
        raise ContextError(f"--gauss-newton: formed by a column; {wrt} is a matrix")
    num = context.lookup(of)
    if not is_scalar(num.shape):
        raise ContextError(f"--gauss-newton: {of} is not a scalar")
    rules = context_rules(context)
    function = simplify(context.expand(num, frozenset({variable})), rules=BEFORE_DERIVING)
    output, named = _output_of(context, of, function, variable)
    z = Symbol(OUTPUT.name, output.shape)
    if named:
        loss = simplify(
            context.expand(context.definitions[name_key(of)], frozenset({output})),
            rules=BEFORE_DERIVING,
        )
        loss = substitute(loss, {output: z})
        output_value = context.expand(output, frozenset({variable}))
    else:
        loss, output_value = substitute(function, {output: z}), output
    try:
        grad = simplify(pullback(loss, z, Fill(sympy.Integer(1), SCALAR)), rules=rules)
        if z in set(grad.walk()):
            curvature = hessian_of(grad, z, rules)
        else:
            curvature = Fill(sympy.Integer(0), (z.shape[0], z.shape[0]))
        jac = simplify(transpose(jacobian(output_value, variable)), rules=rules)
    except MatcalcError as error:
        raise ContextError(f"--gauss-newton of {of} by {wrt}: {error}") from None
    curvature = simplify(substitute(curvature, {z: output}), rules=rules)
    value = simplify(matmul(transpose(jac), curvature, jac), rules=rules)
    return GaussNewton(output, jac, curvature, value, named)


def gradient(context: Context, of: str, wrt: str) -> Expr:
    """The derivative of a defined (or declared) name by a declared one, in the layout, in
    terms of the intermediate names the context defines (2 A^T r for r = Ax - b)."""
    num, den = context.lookup(of), context.wrt_symbol(wrt)
    return with_names(context, derivative_value(context, num, den), keep=(num, den))


def with_names(context: Context, value: Expr, keep: tuple[Expr, ...] = ()) -> Expr:
    """``value`` with every subexpression that a [define] name stands for written as the name,
    the largest first: 2 A^T (Ax - b) -> 2 A^T r for r = 'A x - b', as graph specs keep their
    quantities.  ``keep`` (the function differentiated and the variable) is not folded, nor a
    name that stands for a bare symbol or a number."""
    held = frozenset(k for k in keep if isinstance(k, Symbol))
    rules = context_rules(context)
    patterns: dict[Expr, Expr] = {}
    for key, definition in reversed(context.definitions.items()):
        name = context.names[key]
        if name in held:
            continue
        written = context.expand(definition, held)
        for form in (written, simplify(simplify(written, rules=BEFORE_DERIVING), rules=rules)):
            if form.children and not isinstance(form, Scale) and form not in patterns:
                patterns[form] = name
    if not patterns:
        return value
    return simplify(substitute(value, patterns), rules=rules)


@record
class ContextGradient:
    """d f / d x for a defined function f and a declared x, in the context's layout."""

    of: str
    wrt: str
    target: Derivative
    value: Expr


def context_gradients(
    context: Context, of: str | None = None, wrt: str | None = None
) -> list[ContextGradient]:
    """Every requested derivative: of one defined function or of each scalar one (each column
    one, when none is scalar), by one name or by each declared name it depends on (the columns
    among them, for a column function)."""
    if of is not None:
        context.lookup(of)
        functions = [name_key(of)]
    else:
        functions = [k for k, e in context.definitions.items() if is_scalar(e.shape)]
        functions = functions or [k for k, e in context.definitions.items() if is_column(e.shape)]
        if not functions:
            raise ContextError("[define] has no scalar or column function to differentiate")
    results = []
    for key in functions:
        expr = context.lookup(key)
        if wrt is not None:
            variables = {name_key(wrt): context.wrt_symbol(wrt)}
        else:
            used = set(context.expand(expr).walk())
            variables = {
                k: s
                for k, s in context.symbols.items()
                if s in used and (is_scalar(expr.shape) or is_column(s.shape))
            }
        for variable_key, variable in variables.items():
            value = with_names(context, derivative_value(context, expr, variable), (expr, variable))
            target = Derivative(expr, variable, context.derivative_shape(expr, variable))
            results.append(ContextGradient(key, variable_key, target, value))
    if not results:
        defined = ", ".join(context.definitions) or "none"
        asked = f"--of {of}: " if of is not None else ""
        raise ContextError(
            f"{asked}no derivative to print; differentiate a scalar or column function of "
            f"[define] ({defined}) that depends on a name of [shapes]"
        )
    return results


__all__ = [
    "ContextGradient",
    "GaussNewton",
    "GAUSS_NEWTON_ASKS",
    "gauss_newton",
    "has_output",
    "hessian_vector_product",
    "context_gradients",
    "context_rules",
    "derivative_value",
    "gradient",
    "hessian",
    "is_matrix_derivative",
    "matrix_derivative",
    "with_names",
]
