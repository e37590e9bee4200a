"""Preloaded in the fork server of :mod:`tests.record._forked` only: one plan of the
sample loads the compiled kernels there, so each forked run starts with them."""

from driftwise.app.plan import make_plan
from driftwise.config import default_config
from driftwise.data.sample import load_sample

make_plan(load_sample(), default_config())
