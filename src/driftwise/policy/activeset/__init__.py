"""The compiled active-set Newton rounds of the optimized destination's warm solve
(:func:`driftwise.policy.conic.active_set_solve`)."""
