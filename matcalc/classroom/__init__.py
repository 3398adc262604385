"""For a class: the local web playground (``matcalc serve``) and the grader (``matcalc grade``)."""
