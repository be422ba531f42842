"""The optimisation machinery the synthesis commands share (suggest-move, design, resilience).

`legality`: the errors an estate already had and the legality of options and new edges;
`search`: lexicographic minimum and the top-K loop with blocking; `placement`: least largest
load; `explain`: irreducible sets of blocking rules; `smt`: the SMT-LIB text builder.
"""
